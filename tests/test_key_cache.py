"""The key cache: a key looked up in the last second is not read again, and a revocation still holds."""
import time

from conftest import Account
from vilvik_server.key_cache import KEY_CACHE_SECONDS
from vilvik_server.store import keys as key_store


def revoke_elsewhere(app, key_id):
    """Revoke as the revoke-key command does: on the database, not through this app."""
    with app.extensions["vilvik"].db.transaction() as conn:
        conn.execute("UPDATE api_keys SET revoked_at = '2026-01-01T00:00:00Z' WHERE id = ?", (key_id,))


def test_a_key_used_within_the_second_is_not_read_again(app, client, owner, monkeypatch):
    app.extensions["vilvik"].keys.seconds = 60  # "within the second" however slow this machine is
    assert client.get("/api/v1/account", headers=owner.headers).status_code == 200
    reads = []
    find_active = key_store.find_active
    monkeypatch.setattr(key_store, "find_active", lambda *args: reads.append(args) or find_active(*args))
    accepted = client.post("/api/v1/submissions", headers=owner.headers, json={
        "num_generations": 1, "sol_per_pop": 4, "num_genes": 2, "num_parents_mating": 2,
        "fitness_func": "def f(ga, sol, idx):\n    return 1.0\n", "fitness_func_entry": "f"})
    assert accepted.status_code == 202
    assert client.get(accepted.get_json()["status_url"], headers=owner.headers).status_code == 200
    assert client.get("/api/v1/submissions", headers=owner.headers).status_code == 200
    assert reads == []


def test_a_key_revoked_by_another_process_stops_working_within_the_second(app, client, owner):
    assert client.get("/api/v1/account", headers=owner.headers).status_code == 200
    revoke_elsewhere(app, owner.key_id)
    refused_by = time.monotonic() + KEY_CACHE_SECONDS + 0.5
    while client.get("/api/v1/account", headers=owner.headers).status_code != 401:
        assert time.monotonic() < refused_by
        time.sleep(0.02)


def test_a_key_revoked_through_the_api_fails_at_once_even_when_it_was_just_used(client, owner):
    key = client.post("/api/v1/keys", json={"name": "temp"}, headers=owner.headers).get_json()
    headers = {"Authorization": f"Bearer {key['secret']}"}
    for path in ("/api/v1/account", "/api/v1/submissions"):
        assert client.get(path, headers=headers).status_code == 200
    assert client.delete(f"/api/v1/keys/{key['id']}", headers=owner.headers).status_code == 204
    assert client.get("/api/v1/submissions", headers=headers).status_code == 401


def test_an_unknown_key_is_never_kept(app):
    cache = app.extensions["vilvik"].keys
    assert cache.find_active("vk_unknown") is None and cache._keys == {}
    account = Account(app, "later@example.com")
    assert cache.find_active(account.key)["id"] == account.key_id


def test_last_used_is_written_once_however_often_the_cached_key_is_used(app, client, owner, monkeypatch):
    writes = []
    touch = key_store.touch
    monkeypatch.setattr(key_store, "touch", lambda *args: writes.append(args) or touch(*args))
    for _ in range(5):
        assert client.get("/api/v1/account", headers=owner.headers).status_code == 200
    assert len(writes) == 1
