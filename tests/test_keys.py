"""API keys over the API: listed by prefix, created with their secret shown once, revoked at once."""
from conftest import Account


def test_a_new_key_shows_its_secret_once_and_works(client, owner):
    created = client.post("/api/v1/keys", json={"name": "ci", "scopes": ["submissions:read"]}, headers=owner.headers)
    assert created.status_code == 201
    key = created.get_json()
    assert key["secret"].startswith(key["prefix"]) and key["scopes"] == ["submissions:read"]
    listed = client.get("/api/v1/keys", headers=owner.headers).get_json()["data"]
    assert {k["id"] for k in listed} == {owner.key_id, key["id"]}
    assert all("secret" not in k for k in listed)
    headers = {"Authorization": f"Bearer {key['secret']}"}
    assert client.get("/api/v1/submissions", headers=headers).status_code == 200
    assert client.get("/api/v1/keys", headers=headers).status_code == 403


def test_a_key_cannot_mint_scopes_it_lacks(app, client):
    limited = Account(app, "limited@example.com", scopes=["keys:write", "results:read"])
    response = client.post("/api/v1/keys", json={"scopes": ["submissions:write"]}, headers=limited.headers)
    assert response.status_code == 403
    assert response.get_json()["error"]["details"]["lacking"] == ["submissions:write"]
    default = client.post("/api/v1/keys", json={}, headers=limited.headers).get_json()
    assert default["scopes"] == ["keys:write", "results:read"]


def test_a_scope_named_twice_is_held_once(client, owner):
    created = client.post("/api/v1/keys", json={"scopes": ["results:read", "results:read"]}, headers=owner.headers)
    assert created.status_code == 201 and created.get_json()["scopes"] == ["results:read"]
    listed = client.get("/api/v1/keys", headers=owner.headers).get_json()["data"]
    assert [k["scopes"] for k in listed if k["id"] == created.get_json()["id"]] == [["results:read"]]


def test_an_unknown_scope_is_a_validation_error(client, owner):
    response = client.post("/api/v1/keys", json={"scopes": ["root"]}, headers=owner.headers)
    assert response.status_code == 422


def test_a_revoked_key_fails_at_once(client, owner):
    key = client.post("/api/v1/keys", json={"name": "temp"}, headers=owner.headers).get_json()
    headers = {"Authorization": f"Bearer {key['secret']}"}
    assert client.get("/api/v1/account", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/keys/{key['id']}", headers=owner.headers).status_code == 204
    assert client.get("/api/v1/account", headers=headers).status_code == 401
    assert client.delete(f"/api/v1/keys/{key['id']}", headers=owner.headers).status_code == 404


def test_a_strangers_key_cannot_be_revoked_or_seen(client, owner, stranger):
    assert client.delete(f"/api/v1/keys/{stranger.key_id}", headers=owner.headers).status_code == 404
    listed = client.get("/api/v1/keys", headers=owner.headers).get_json()["data"]
    assert stranger.key_id not in {k["id"] for k in listed}
    assert client.get("/api/v1/account", headers=stranger.headers).status_code == 200


def test_a_key_records_when_it_was_last_used(client, owner):
    client.get("/api/v1/account", headers=owner.headers)
    listed = client.get("/api/v1/keys", headers=owner.headers).get_json()["data"]
    assert next(k for k in listed if k["id"] == owner.key_id)["last_used_at"] is not None


def test_a_retried_key_creation_replays_the_key_but_never_stores_or_shows_its_secret_again(app, client, owner):
    headers = dict(owner.headers, **{"Idempotency-Key": "make-ci-key"})
    first = client.post("/api/v1/keys", json={"name": "ci"}, headers=headers)
    assert first.status_code == 201
    secret = first.get_json()["secret"]
    again = client.post("/api/v1/keys", json={"name": "ci"}, headers=headers)
    assert again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    replayed = again.get_json()
    assert replayed["id"] == first.get_json()["id"] and "secret" not in replayed
    assert [k["name"] for k in client.get("/api/v1/keys", headers=owner.headers).get_json()["data"]].count("ci") == 1
    dump = "\n".join(app.extensions["vilvik"].db.connection().iterdump())
    assert secret not in dump and secret[len(first.get_json()["prefix"]):] not in dump
