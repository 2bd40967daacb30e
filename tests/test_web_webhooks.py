"""The website's webhooks page: endpoints, secrets shown once, rotation, test pings, deliveries, redeliver."""
import pytest

from vilvik_server.store import webhooks as webhook_store

from test_web_support import post, web_owner  # noqa: F401


def add_endpoint(client, url="https://hooks.example.com/vilvik", events=("*",)):
    response = post(client, "/webhooks", {"url": url, "description": "receiver", "events": list(events)})
    page = response.get_data(as_text=True)
    assert response.status_code == 200, page
    secret = page.split('id="secret" class="code" readonly value="')[1].split('"')[0]
    webhook_id = page.split('href="/webhooks/')[1].split('"')[0]
    return webhook_id, secret


def endpoint_row(app, account, webhook_id):
    with app.app_context():
        return webhook_store.get_endpoint(app.extensions["vilvik"].db.connection(), account.id, webhook_id)


def test_it_adds_an_endpoint_and_shows_its_secret_once(app, client, web_owner):
    webhook_id, secret = add_endpoint(client, events=("result.completed", "result.failed"))
    assert secret.startswith("whsec_")
    row = endpoint_row(app, web_owner, webhook_id)
    assert row["secret"] == secret and row["url"] == "https://hooks.example.com/vilvik"
    listing = client.get("/webhooks").get_data(as_text=True)
    assert "https://hooks.example.com/vilvik" in listing and secret not in listing
    assert "result.completed, result.failed" in listing
    assert secret not in client.get(f"/webhooks/{webhook_id}").get_data(as_text=True)


def test_a_bad_url_is_an_error_beside_the_field(client, web_owner):
    response = post(client, "/webhooks", {"url": "ftp://example.com/x", "events": ["*"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="url-error"' in page and "http or https" in page


def test_rotating_the_secret_shows_the_new_one_and_keeps_the_old_one_signing(app, client, web_owner):
    webhook_id, old = add_endpoint(client)
    page = post(client, f"/webhooks/{webhook_id}/rotate-secret").get_data(as_text=True)
    new = page.split('id="secret" class="code" readonly value="')[1].split('"')[0]
    row = endpoint_row(app, web_owner, webhook_id)
    assert new != old and row["secret"] == new and row["previous_secret"] == old


def test_a_test_event_is_queued_and_listed_and_can_be_sent_again(app, client, web_owner):
    webhook_id, _ = add_endpoint(client)
    assert post(client, f"/webhooks/{webhook_id}/test").status_code == 302
    page = client.get(f"/webhooks/{webhook_id}").get_data(as_text=True)
    assert "<code>ping</code>" in page and ">pending<" in page
    with app.app_context():
        conn = app.extensions["vilvik"].db.connection()
        (delivery,) = webhook_store.list_deliveries(conn, web_owner.id, webhook_id).rows
    post(client, f"/webhooks/{webhook_id}/deliveries/{delivery['id']}/redeliver")
    with app.app_context():
        rows = webhook_store.list_deliveries(app.extensions["vilvik"].db.connection(), web_owner.id, webhook_id).rows
    assert len(rows) == 2 and rows[0]["redelivery_of"] == delivery["id"] and rows[0]["event_id"] == delivery["event_id"]


def test_a_disabled_endpoint_is_not_sent_tests_until_enabled(app, client, web_owner):
    webhook_id, _ = add_endpoint(client)
    post(client, f"/webhooks/{webhook_id}/enabled", {"enabled": "false"})
    assert not endpoint_row(app, web_owner, webhook_id)["enabled"]
    post(client, f"/webhooks/{webhook_id}/test")
    assert "enable it first" in client.get(f"/webhooks/{webhook_id}").get_data(as_text=True)
    post(client, f"/webhooks/{webhook_id}/enabled", {"enabled": "true"})
    assert endpoint_row(app, web_owner, webhook_id)["enabled"]


def test_it_deletes_an_endpoint(app, client, web_owner):
    webhook_id, _ = add_endpoint(client)
    assert post(client, f"/webhooks/{webhook_id}/delete").headers["Location"] == "/webhooks"
    assert endpoint_row(app, web_owner, webhook_id) is None
    assert client.get(f"/webhooks/{webhook_id}").status_code == 404


def test_another_accounts_endpoint_is_not_found(app, client, web_owner, stranger):
    with app.extensions["vilvik"].db.transaction() as conn:
        theirs = webhook_store.create_endpoint(conn, stranger.id, url="https://their.example.com", events=["*"],
                                               description="", enabled=True, secret="whsec_dGhlaXJz")["id"]
    assert client.get(f"/webhooks/{theirs}").status_code == 404
    for action in ("test", "rotate-secret", "enabled", "delete", "deliveries/x/redeliver"):
        assert post(client, f"/webhooks/{theirs}/{action}", {"enabled": "false"}).status_code == 404, action
    assert endpoint_row(app, stranger, theirs)["secret"] == "whsec_dGhlaXJz"


@pytest.mark.parametrize("path", ["/webhooks", "/webhooks/abc"])
def test_the_webhooks_pages_need_a_session(client, path):
    assert client.get(path).status_code == 302
