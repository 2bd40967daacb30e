"""Keys are Bearer tokens stored as hashes; scopes are enforced; other accounts' objects are 404."""
import hashlib

from conftest import Account

BODY = {"num_generations": 10, "sol_per_pop": 4, "num_genes": 3, "num_parents_mating": 2,
        "fitness_func": "def fitness_func(ga, sol, idx): return sum(sol)\n"}


def test_it_stores_only_a_hash_of_the_key(app, owner):
    conn = app.extensions["vilvik"].db.connection()
    row = conn.execute("SELECT * FROM api_keys WHERE id = ?", (owner.key_id,)).fetchone()
    assert owner.key not in tuple(str(v) for v in row)
    assert row["secret_hash"] == hashlib.sha256(owner.key.encode()).hexdigest()
    assert owner.key.startswith(row["prefix"])


def test_it_refuses_a_key_without_the_scope_and_names_it(app, client):
    reader = Account(app, "reader@example.com", scopes=["submissions:read"])
    response = client.post("/api/v1/submissions", json=BODY, headers=reader.headers)
    assert response.status_code == 403
    error = response.get_json()["error"]
    assert error["code"] == "insufficient_scope"
    assert error["details"]["required_scope"] == "submissions:write"
    assert client.get("/api/v1/submissions", headers=reader.headers).status_code == 200
    assert client.get("/api/v1/results", headers=reader.headers).status_code == 403


def test_it_refuses_a_revoked_key(app, client, owner):
    with app.extensions["vilvik"].db.transaction() as conn:
        conn.execute("UPDATE api_keys SET revoked_at = '2026-01-01T00:00:00Z' WHERE id = ?", (owner.key_id,))
    response = client.get("/api/v1/submissions", headers=owner.headers)
    assert response.status_code == 401


def test_a_strangers_submission_is_not_found(client, owner, stranger):
    accepted = client.post("/api/v1/submissions", json=BODY, headers=owner.headers).get_json()
    assert client.get(f"/api/v1/submissions/{accepted['id']}", headers=owner.headers).status_code == 200
    response = client.get(f"/api/v1/submissions/{accepted['id']}", headers=stranger.headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    assert client.get("/api/v1/submissions", headers=stranger.headers).get_json()["data"] == []


def test_the_account_shows_the_callers_balance(client, owner):
    account = client.get("/api/v1/account", headers=owner.headers).get_json()
    assert account["email"] == "owner@example.com"
    assert account["credits"] == {"balance": 100, "reserved": 0, "available": 100}
    assert account["limits"]["cpu_seconds_per_run"] == 1


def test_an_account_without_credits_cannot_submit(app, client):
    broke = Account(app, "broke@example.com", credits=0)
    response = client.post("/api/v1/submissions", json=BODY, headers=broke.headers)
    assert response.status_code == 402
    assert response.get_json()["error"]["code"] == "insufficient_credits"
