"""GET /api/v1/submissions/{id} answered beneath Flask: the same answer, every refusal left to Flask, no double count."""
import logging

import pytest
from flask import request
from werkzeug.test import Client
from werkzeug.wrappers import Response

from conftest import OVERVIEW_BODY, Account
from vilvik_server import create_app

VARIABLE_HEADERS = {"X-Request-Id", "X-RateLimit-Remaining", "X-RateLimit-Reset"}


@pytest.fixture
def limited_app(tmp_path, monkeypatch):
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app({"WORKERS": 0, "LOG_LEVEL": "INFO", "RATE_LIMIT": "5/minute", "ACCOUNT_RATE_LIMIT": "1000/minute"})


def flask_seen(app):
    """The paths of the requests that reached Flask's hooks."""
    seen = []
    app.before_request(lambda: seen.append(request.full_path.rstrip("?")))
    return seen


def submit(app, owner):
    response = app.test_client().post("/api/v1/submissions", data=OVERVIEW_BODY, headers=owner.headers,
                                      content_type="application/json")
    assert response.status_code == 202
    return response.get_json()["id"]


def test_a_plain_status_read_is_answered_beneath_flask_exactly_as_flask_answers_it(app):
    seen = flask_seen(app)
    owner = Account(app, "owner@example.com")
    submission_id = submit(app, owner)
    seen.clear()
    beneath = app.test_client().get(f"/api/v1/submissions/{submission_id}", headers=owner.headers)
    assert seen == []
    through_flask = Client(app.wsgi_app.wsgi_app, Response).get(f"/api/v1/submissions/{submission_id}",
                                                                  headers=owner.headers)
    assert seen == [f"/api/v1/submissions/{submission_id}"]
    assert beneath.status_code == through_flask.status_code == 200
    assert beneath.get_data() == through_flask.get_data()
    assert sorted(beneath.headers.keys()) == sorted(through_flask.headers.keys())
    for name, value in through_flask.headers.items():
        if name not in VARIABLE_HEADERS:
            assert beneath.headers[name] == value, name
    assert beneath.headers["X-Request-Id"].startswith("req_")
    sent = app.test_client().get(f"/api/v1/submissions/{submission_id}",
                                 headers={**owner.headers, "X-Request-Id": "client-1"})
    assert sent.headers["X-Request-Id"] == "client-1"
    bad = app.test_client().get(f"/api/v1/submissions/{submission_id}",
                                headers={**owner.headers, "X-Request-Id": "no spaces allowed"})
    assert bad.headers["X-Request-Id"].startswith("req_")


def test_what_is_not_plain_goes_to_flask(app):
    owner = Account(app, "owner@example.com")
    reader = Account(app, "reader@example.com", scopes=("credits:read",))
    seen = flask_seen(app)
    submission_id = submit(app, owner)
    seen.clear()
    client = app.test_client()
    path = f"/api/v1/submissions/{submission_id}"
    answers = {
        "query": client.get(path + "?include=fitness_func", headers=owner.headers),
        "no key": client.get(path),
        "unknown key": client.get(path, headers={"Authorization": "Bearer vk_nosuchkey"}),
        "scheme": client.get(path, headers={"Authorization": "Basic " + owner.key}),
        "scope": client.get(path, headers=reader.headers),
        "another account's": client.get(path, headers=Account(app, "other@example.com").headers),
        "no such": client.get("/api/v1/submissions/nosuchsubmis", headers=owner.headers),
        "head": client.head(path, headers=owner.headers),
    }
    assert {name: response.status_code for name, response in answers.items()} == {
        "query": 200, "no key": 401, "unknown key": 401, "scheme": 401, "scope": 403, "another account's": 404,
        "no such": 404, "head": 200}
    assert answers["query"].get_json()["fitness_func"].startswith("def fitness_func")
    assert answers["scope"].get_json()["error"]["code"] == "insufficient_scope"
    assert len(seen) == len(answers)


def test_every_request_counts_once_against_its_windows_whoever_answers_it(limited_app):
    owner = Account(limited_app, "owner@example.com")
    submission_id = submit(limited_app, owner)  # 1 of the key's 5
    client = limited_app.test_client()
    remaining = [client.get(f"/api/v1/submissions/{submission_id}", headers=owner.headers),  # beneath Flask
                 client.get("/api/v1/submissions/nosuchsubmis", headers=owner.headers),  # Flask: 404
                 client.get(f"/api/v1/submissions/{submission_id}?include=fitness_func", headers=owner.headers),
                 client.get(f"/api/v1/submissions/{submission_id}", headers=owner.headers)]
    assert [r.status_code for r in remaining] == [200, 404, 200, 200]
    assert [r.headers["X-RateLimit-Remaining"] for r in remaining] == ["3", "2", "1", "0"]
    refused = client.get(f"/api/v1/submissions/{submission_id}", headers=owner.headers)
    assert refused.status_code == 429
    assert refused.get_json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    account = client.get("/api/v1/account", headers=owner.headers)  # refused too: the key's window is full
    assert account.status_code == 429


def test_a_full_account_window_is_refused_by_flask_with_the_window_counted_once(tmp_path, monkeypatch):
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"WORKERS": 0, "LOG_LEVEL": "WARNING", "RATE_LIMIT": "100/minute", "ACCOUNT_RATE_LIMIT": "3/minute"})
    owner = Account(app, "owner@example.com")
    submission_id = submit(app, owner)
    client = app.test_client()
    answers = [client.get(f"/api/v1/submissions/{submission_id}", headers=owner.headers) for _ in range(3)]
    assert [r.status_code for r in answers] == [200, 200, 429]
    assert [r.headers["X-RateLimit-Scope"] for r in answers] == ["account", "account", "account"]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers[:2]] == ["1", "0"]
    assert answers[2].get_json()["error"]["details"] == {"scope": "account", "limit": 3}


def test_a_status_read_beneath_flask_writes_the_request_log_line(limited_app, caplog):
    owner = Account(limited_app, "owner@example.com")
    submission_id = submit(limited_app, owner)
    with caplog.at_level(logging.INFO, logger="vilvik.http"):
        response = limited_app.test_client().get(f"/api/v1/submissions/{submission_id}", headers=owner.headers)
    lines = [record.getMessage() for record in caplog.records
             if record.name == "vilvik.http" and record.getMessage().startswith("GET ")]
    assert len(lines) == 1
    assert lines[0].startswith(f"GET /api/v1/submissions/{submission_id} 200 ")
    assert f" request_id={response.headers['X-Request-Id']} key=" in lines[0]
    prefix = lines[0].rpartition(" key=")[2]
    assert len(prefix) >= 8 and owner.key.startswith(prefix)


def test_with_metrics_on_every_status_read_goes_through_flask_and_is_counted(tmp_path, monkeypatch):
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"WORKERS": 0, "LOG_LEVEL": "WARNING", "METRICS_ENABLED": True})
    seen = flask_seen(app)
    owner = Account(app, "owner@example.com")
    submission_id = submit(app, owner)
    seen.clear()
    assert app.test_client().get(f"/api/v1/submissions/{submission_id}", headers=owner.headers).status_code == 200
    assert seen == [f"/api/v1/submissions/{submission_id}"]
    scraped = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'vilvik_http_requests_total{code="200",method="GET"}' in scraped


@pytest.mark.parametrize("status", ["queued", "running", "succeeded", "failed", "cancelled"])
def test_the_columns_a_status_read_fetches_show_the_submission_as_the_whole_row_does(app, status):
    from vilvik_server.domain import represent
    from vilvik_server.store import submissions as submission_store

    owner = Account(app, "owner@example.com")
    submission_id = submit(app, owner)
    with app.extensions["vilvik"].db.transaction() as conn:
        conn.execute(
            "UPDATE submissions SET status = ?, started_at = created_at, finished_at = created_at,"
            " generations_completed = 3, best_fitness = '1.5', mean_fitness = '0.5', progress_updated_at = created_at,"
            " cpu_seconds = 0.125, wall_seconds = 0.25, peak_memory_bytes = 1000, credits_charged_micros = 1250,"
            " error = CASE WHEN ? = 'failed' THEN '{\"code\": \"fitness_error\", \"message\": \"x\"}' END,"
            " stop_reason = CASE WHEN ? IN ('succeeded', 'failed', 'cancelled') THEN 'num_generations' END,"
            " sandbox = '{\"mode\": \"full\"}', versions = '{\"python\": \"3.11\"}', logs = 'printed',"
            " webhook_url = 'https://example.com/hook', webhook_events = '[\"submission.succeeded\"]',"
            " problem = 'subset_sum', problem_params = '{\"numbers\": [1]}', parent_id = 'p', experiment_id = 'e'"
            " WHERE id = ?", (status, status, status, submission_id))
        whole = submission_store.get(conn, owner.id, submission_id)
        shown = submission_store.get_shown(conn, owner.id, submission_id)
    assert represent.submission(shown, "http://x") == represent.submission(whole, "http://x")
    assert submission_store.get_shown(conn, "another account", submission_id) is None
