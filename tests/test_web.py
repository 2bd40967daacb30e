"""The website's log in, session cookie, CSRF checks, HTML errors, docs, dashboard, keys and credits."""
import pytest

from vilvik_server import create_app
from vilvik_server.store import keys as key_store

from test_web_support import (PASSWORD, log_in, post, set_password, submit, token_in, web_owner,  # noqa: F401
                              with_token)


def test_pages_send_a_visitor_without_a_session_to_the_login_page(client):
    for path in ("/", "/submissions", "/submissions/new", "/keys", "/credits", "/submissions/abc123abc123"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response.headers["Location"].startswith("/login?next=")


def test_it_logs_in_with_the_right_password_and_goes_where_the_visitor_was_going(app, client, owner):
    set_password(app, owner)
    page = client.get("/login?next=/credits").get_data(as_text=True)
    assert '<label for="email">' in page and '<label for="password">' in page
    response = client.post("/login", data={"email": "owner@example.com", "password": PASSWORD,
                                           "next": "/credits", "csrf_token": token_in(page)})
    assert response.status_code == 302 and response.headers["Location"] == "/credits"
    assert client.get("/credits").status_code == 200


def test_the_api_neither_reads_nor_sets_the_website_session(client, web_owner):
    assert client.get("/").status_code == 200  # the cookie logs in a page
    response = client.get("/api/v1/submissions")
    assert response.status_code == 401  # but never the API
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")
    response = client.get("/api/v1/submissions", headers={"Authorization": f"Bearer {web_owner.key}"})
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers and "Cookie" not in response.headers.get("Vary", "")
    assert client.get("/").status_code == 200  # and the API did not end the page's session


def test_the_session_cookie_is_httponly_and_samesite_lax(app, client, owner):
    set_password(app, owner)
    client.get("/login")
    cookie = client.get_cookie("vilvik_session")
    assert cookie.http_only and cookie.same_site == "Lax" and not cookie.secure


def test_the_session_cookie_is_secure_behind_https(tmp_path, monkeypatch):
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "https"))
    app = create_app({"WORKERS": 0, "PUBLIC_URL": "https://vilvik.example.com"})
    client = app.test_client()
    client.get("/login")
    assert client.get_cookie("vilvik_session").secure


def test_it_refuses_a_wrong_password_and_an_unknown_email_alike(app, client, owner):
    set_password(app, owner)
    for email, password in (("owner@example.com", "wrong"), ("nobody@example.com", PASSWORD)):
        page = client.get("/login").get_data(as_text=True)
        response = client.post("/login", data={"email": email, "password": password, "csrf_token": token_in(page)})
        assert response.status_code == 401
        assert "The email or password is not right." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302


def test_an_account_without_a_password_cannot_log_in(app, client, owner):
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": "owner@example.com", "password": "", "csrf_token": token_in(page)})
    assert response.status_code == 401


def test_it_never_redirects_off_the_site_after_log_in(app, client, owner):
    set_password(app, owner)
    page = client.get("/login").get_data(as_text=True)
    response = client.post("/login", data={"email": "owner@example.com", "password": PASSWORD,
                                           "next": "//evil.example/x", "csrf_token": token_in(page)})
    assert response.headers["Location"] == "/"


def test_log_out_ends_the_session(app, client, web_owner):
    response = post(client, "/logout")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert client.get("/").status_code == 302


def test_a_new_password_logs_out_the_sessions_of_the_old_one(app, client, web_owner):
    assert client.get("/").status_code == 200
    set_password(app, web_owner, "another password")
    assert client.get("/").status_code == 302


def test_login_attempts_are_rate_limited_but_successes_are_not_counted(tmp_path, monkeypatch, owner):
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "limited"))
    app = create_app({"WORKERS": 0, "LOGIN_RATE_LIMIT": "3/minute", "LOG_LEVEL": "WARNING"})
    from conftest import Account

    account = Account(app, "limited@example.com")
    for _ in range(4):
        log_in(app.test_client(), app, account)  # successes do not count
    client = app.test_client()
    statuses = []
    for _ in range(4):
        page = client.get("/login").get_data(as_text=True)
        statuses.append(client.post("/login", data={"email": "limited@example.com", "password": "wrong",
                                                    "csrf_token": token_in(page)}).status_code)
    assert statuses == [401, 401, 401, 429]
    refused = client.post("/login", data={"email": "limited@example.com", "password": PASSWORD,
                                          "csrf_token": with_token(client)})
    assert refused.status_code == 429 and refused.mimetype == "text/html"
    assert "too many login attempts" in refused.get_data(as_text=True)
    assert int(refused.headers["Retry-After"]) > 0


def test_it_refuses_a_form_without_the_csrf_token(client, web_owner):
    response = client.post("/keys", data={"name": "sneaky", "scopes": ["credits:read"]})
    assert response.status_code == 403 and response.mimetype == "text/html"
    assert "csrf_failed" in response.get_data(as_text=True)
    response = client.post("/keys", data={"name": "sneaky", "csrf_token": "not-the-token"})
    assert response.status_code == 403
    assert client.post("/logout").status_code == 403
    assert client.get("/").status_code == 200  # still logged in


def test_it_refuses_a_form_sent_from_another_site(client, web_owner):
    response = post(client, "/keys", {"name": "x"}, headers={"Origin": "https://evil.example"})
    assert response.status_code == 403
    assert "another site" in response.get_data(as_text=True)


def test_the_login_form_needs_its_csrf_token_too(app, client, owner):
    set_password(app, owner)
    response = client.post("/login", data={"email": "owner@example.com", "password": PASSWORD})
    assert response.status_code == 403


def test_pages_get_html_errors_and_the_api_keeps_json(client, web_owner):
    page = client.get("/no-such-page")
    assert page.status_code == 404 and page.mimetype == "text/html"
    assert "<h1>Not found</h1>" in page.get_data(as_text=True)
    api = client.get("/api/v1/no-such-thing", headers=web_owner.headers)
    assert api.status_code == 404 and api.get_json()["error"]["code"] == "not_found"


def test_pages_carry_a_content_security_policy_and_no_store(client, web_owner):
    response = client.get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_the_stylesheet_and_scripts_are_served_by_the_server(client):
    for name in ("vilvik.css", "submission.js", "forms.js"):
        with client.get(f"/assets/web/{name}") as response:
            assert response.status_code == 200
    page = client.get("/login").get_data(as_text=True)
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_the_dashboard_shows_balance_active_runs_and_recent_submissions(app, client, web_owner):
    queued = submit(app, web_owner, name="waiting run")
    page = client.get("/").get_data(as_text=True)
    assert "<h1>Dashboard</h1>" in page
    assert "Available" in page and "Reserved by queued and running runs" in page
    assert "99.00" in page and "1.00" in page  # 100 credits: 1 reserved (MAX_CPU_SECONDS 1), 99 available
    assert page.count(f"/submissions/{queued}") == 2  # in active runs and in recent
    assert "waiting run" in page


def test_the_dashboard_shows_only_the_logged_in_accounts_runs(app, client, web_owner, stranger):
    theirs = submit(app, stranger, name="stranger's run")
    assert theirs not in client.get("/").get_data(as_text=True)


def test_it_creates_a_key_with_chosen_scopes_and_shows_the_secret_once(app, client, web_owner):
    response = post(client, "/keys", {"name": "laptop", "scopes": ["submissions:read", "results:read"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "only time it is shown" in page
    secret = page.split('id="secret" class="code" readonly value="')[1].split('"')[0]
    with app.app_context():
        conn = app.extensions["vilvik"].db.connection()
        found = key_store.find_active(conn, secret)
        key = next(row for row in key_store.list_page(conn, found["account_id"]).rows if row["id"] == found["id"])
    assert key["name"] == "laptop" and key["scopes"] == "results:read submissions:read"
    assert client.get("/api/v1/submissions", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    listing = client.get("/keys").get_data(as_text=True)
    assert "laptop" in listing and secret not in listing and key["prefix"] in listing


def test_a_key_form_error_is_shown_beside_the_field(client, web_owner):
    response = post(client, "/keys", {"name": "x" * 101, "scopes": ["credits:read"]})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="name-error"' in page and 'aria-invalid="true"' in page
    response = post(client, "/keys", {"name": "ok", "scopes": ["not:a-scope"]})
    assert response.status_code == 422 and 'id="scopes-error"' in response.get_data(as_text=True)


def test_it_revokes_a_key(app, client, web_owner):
    assert post(client, f"/keys/{web_owner.key_id}/revoke").status_code == 302
    assert client.get("/api/v1/submissions", headers=web_owner.headers).status_code == 401
    assert "is revoked" in client.get("/keys").get_data(as_text=True)


def test_another_accounts_key_cannot_be_revoked(client, web_owner, stranger):
    response = post(client, f"/keys/{stranger.key_id}/revoke")
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert client.get("/api/v1/submissions", headers=stranger.headers).status_code == 200


def test_the_credits_page_pages_through_the_ledger(app, client, web_owner):
    for number in range(30):
        submit(app, web_owner, name=f"run {number}")
    page = client.get("/credits").get_data(as_text=True)
    assert "<h1>Credits</h1>" in page and page.count("<td>reserve</td>") == 25
    older = page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(older).get_data(as_text=True)
    assert rest.count("<td>reserve</td>") == 5 and "<td>grant</td>" in rest


def test_the_docs_render_every_markdown_page_with_a_link_to_the_playground(client):
    index = client.get("/docs")
    page = index.get_data(as_text=True)
    assert index.status_code == 200 and 'href="/api/v1/docs"' in page
    for name in ("credits", "rate-limits", "examples", "operating"):
        response = client.get(f"/docs/{name}")
        assert response.status_code == 200, name
        assert "<h1" in response.get_data(as_text=True) and f'href="/docs/{name}"' in page
    assert "<table>" in client.get("/docs/credits").get_data(as_text=True)


@pytest.mark.parametrize("name", ["nothing", "..%2Fsetup", "README"])
def test_a_docs_page_that_does_not_exist_is_404(client, name):
    assert client.get(f"/docs/{name}").status_code == 404
