"""POST /api/v1/submissions answered beneath Flask: the same answer, every refusal left to Flask,
no double count and no double submission."""
import json
import logging

import pytest
from flask import request
from werkzeug.test import Client
from werkzeug.wrappers import Response

from conftest import OVERVIEW_BODY, Account
from vilvik_server import create_app

PATH = "/api/v1/submissions"
VARIABLE_HEADERS = {"X-Request-Id", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Location"}
VARIABLE_FIELDS = {"id", "created_at", "status_url", "result_url"}
QUICK_BODY = json.dumps({"type": "quick", "problem": "subset_sum",
                         "problem_params": {"numbers": [3, 5, 8], "target": 11}, "num_generations": 5})


def flask_seen(app):
    """The requests that reached Flask's hooks (but the test client's fetch of the OpenAPI document)."""
    seen = []

    def see():
        if request.path != "/api/v1/openapi.json":
            seen.append(f"{request.method} {request.full_path.rstrip('?')}")
    app.before_request_funcs.setdefault(None, []).insert(0, see)  # first: before any hook can refuse
    return seen


def through_flask(app):
    """A client of the Flask app beneath both paths answered beneath it."""
    flask_app = app.wsgi_app
    while not hasattr(flask_app, "__self__"):  # down the wrappers to Flask's own bound wsgi_app
        flask_app = flask_app.wsgi_app
    return Client(flask_app, Response)


def ledger(app, account):
    conn = app.extensions["vilvik"].db.connection()
    return [tuple(row) for row in conn.execute(
        "SELECT kind, amount_micros, submission_id FROM credit_ledger WHERE account_id = ? ORDER BY seq", (account.id,))]


def submissions_of(app, account):
    conn = app.extensions["vilvik"].db.connection()
    return [row["id"] for row in conn.execute("SELECT id FROM submissions WHERE account_id = ? ORDER BY seq",
                                              (account.id,))]


def app_with(tmp_path, monkeypatch, **settings):
    """An app on its own instance, with no executor running, and these settings."""
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app({"WORKERS": 0, "LOG_LEVEL": "WARNING", "MAX_CPU_SECONDS": 1, **settings})


def post(client, account, body=OVERVIEW_BODY, **headers):
    return client.post(PATH, data=body, headers={**account.headers, **headers}, content_type="application/json")


@pytest.mark.parametrize("body", [OVERVIEW_BODY, QUICK_BODY], ids=["custom", "quick"])
def test_a_plain_accept_is_answered_beneath_flask_exactly_as_flask_answers_it(app, body):
    seen = flask_seen(app)
    owner = Account(app, "owner@example.com")
    beneath = post(app.test_client(), owner, body)
    assert seen == []
    flask = post(through_flask(app), owner, body)
    assert seen == [f"POST {PATH}"]
    assert beneath.status_code == flask.status_code == 202
    assert sorted(beneath.headers.keys()) == sorted(flask.headers.keys())
    for name, value in flask.headers.items():
        if name not in VARIABLE_HEADERS:
            assert beneath.headers[name] == value, name
    mine, theirs = beneath.get_json(), flask.get_json()
    assert {k: v for k, v in mine.items() if k not in VARIABLE_FIELDS} == \
        {k: v for k, v in theirs.items() if k not in VARIABLE_FIELDS}
    public_url = app.extensions["vilvik"].settings["PUBLIC_URL"]
    assert beneath.headers["Location"] == mine["status_url"] == f"{public_url}{PATH}/{mine['id']}"
    assert mine["result_url"] == f"{public_url}/api/v1/results?submission_id={mine['id']}"
    assert flask.headers["Location"] == theirs["status_url"] == f"{public_url}{PATH}/{theirs['id']}"
    assert beneath.get_data(as_text=True) == json.dumps(mine, sort_keys=True, separators=(",", ":")) + "\n"
    # Stored and paid for alike: one row each, one reserve ledger row each, for the same amount.
    assert submissions_of(app, owner) == [mine["id"], theirs["id"]]
    reserves = [row for row in ledger(app, owner) if row[0] == "reserve"]
    assert [row[2] for row in reserves] == [mine["id"], theirs["id"]]
    assert reserves[0][1] == reserves[1][1] < 0
    shown = app.test_client().get(f"{PATH}/{mine['id']}", headers=owner.headers).get_json()
    assert shown["status"] == "queued" and shown["params"]["num_generations"] in (5, 10)
    assert app.test_client().post(PATH, data=body, content_type="application/json",
                                  headers={**owner.headers, "X-Request-Id": "client-1"}).headers["X-Request-Id"] == "client-1"


def test_what_is_not_plain_goes_to_flask_and_is_answered_as_before(app):
    owner = Account(app, "owner@example.com")
    poor = Account(app, "poor@example.com", credits=0)
    reader = Account(app, "reader@example.com", scopes=("submissions:read",))
    seen = flask_seen(app)
    client = app.test_client()
    bad_params = json.dumps({**json.loads(OVERVIEW_BODY), "num_parents_mating": 9, "mutation_typo": 1})
    answers = {
        "idempotency key": post(client, owner, **{"Idempotency-Key": "k1"}),
        "query string": client.post(PATH + "?x=1", data=OVERVIEW_BODY, headers=owner.headers,
                                    content_type="application/json"),
        "no key": client.post(PATH, data=OVERVIEW_BODY, content_type="application/json"),
        "unknown key": client.post(PATH, data=OVERVIEW_BODY, content_type="application/json",
                                   headers={"Authorization": "Bearer vk_nosuchkey"}),
        "scope": post(client, reader),
        "text body": client.post(PATH, data=OVERVIEW_BODY, headers=owner.headers, content_type="text/plain"),
        "bad json": post(client, owner, OVERVIEW_BODY[:-1]),
        "array": post(client, owner, "[1]"),
        "utf-16": client.post(PATH, data=OVERVIEW_BODY.encode("utf-16"), headers=owner.headers,
                              content_type="application/json"),
        "lone surrogate": post(client, owner, OVERVIEW_BODY.replace("smoke test", "\\ud800")),
        "bad params": post(client, owner, bad_params),
        "no fitness function": post(client, owner, OVERVIEW_BODY.replace('"fitness_func":', '"fitness_func_x":')),
        "does not compile": post(client, owner, OVERVIEW_BODY.replace("return sum", "return sum(")),
        "credits": post(client, poor),
        "quota": post(client, owner, OVERVIEW_BODY.replace('"sol_per_pop":4', '"sol_per_pop":100000')),
    }
    assert {name: response.status_code for name, response in answers.items()} == {
        "idempotency key": 202, "query string": 202, "no key": 401, "unknown key": 401,
        "scope": 403, "text body": 415, "bad json": 400, "array": 422, "utf-16": 400, "lone surrogate": 400,
        "bad params": 422, "no fitness function": 422, "does not compile": 422, "credits": 402, "quota": 422}
    assert len(seen) == len(answers)  # each reached Flask once
    # Flask's answers, byte for byte but for the request id, as when it answers them alone.
    for name in ("bad params", "credits", "quota", "array", "scope", "does not compile"):
        mine = answers[name].get_json()
        del mine["error"]["request_id"]
        body = {"bad params": bad_params, "credits": OVERVIEW_BODY, "array": "[1]", "scope": OVERVIEW_BODY,
                "quota": OVERVIEW_BODY.replace('"sol_per_pop":4', '"sol_per_pop":100000'),
                "does not compile": OVERVIEW_BODY.replace("return sum", "return sum(")}[name]
        who = {"credits": poor, "scope": reader}.get(name, owner)
        alone = post(through_flask(app), who, body).get_json()
        del alone["error"]["request_id"]
        assert mine == alone, name
    assert "mutation_typo" in answers["bad params"].get_json()["error"]["details"]["fields"]
    # The accepted ones are stored once each; the refused ones left nothing behind.
    accepted = [answers[name].get_json()["id"] for name in ("idempotency key", "query string")]
    assert submissions_of(app, owner) == accepted
    assert [row[2] for row in ledger(app, owner) if row[0] == "reserve"] == accepted
    assert submissions_of(app, poor) == [] and ledger(app, poor) == []
    replayed = post(client, owner, **{"Idempotency-Key": "k1"})
    assert replayed.status_code == 202 and replayed.get_json()["id"] == accepted[0]


def test_a_full_queue_is_refused_by_flask_and_stores_nothing(tmp_path, monkeypatch):
    app = app_with(tmp_path, monkeypatch, MAX_QUEUED=2)
    owner = Account(app, "owner@example.com")
    client = app.test_client()
    answers = [post(client, owner) for _ in range(3)]
    assert [r.status_code for r in answers] == [202, 202, 429]
    assert answers[2].get_json()["error"]["code"] == "concurrency_limit"
    assert answers[2].headers["Retry-After"] == "10"
    assert len(submissions_of(app, owner)) == 2


def test_every_accept_counts_once_against_its_windows_whoever_answers_it(tmp_path, monkeypatch):
    app = app_with(tmp_path, monkeypatch, RATE_LIMIT="4/minute", ACCOUNT_RATE_LIMIT="1000/minute")
    owner = Account(app, "owner@example.com")
    client = app.test_client()
    answers = [post(client, owner),  # beneath Flask
               post(client, owner, OVERVIEW_BODY.replace('"num_genes":3', '"num_genes":0')),  # Flask: 422
               post(client, owner, **{"Idempotency-Key": "once"}),  # Flask: 202
               post(client, owner)]
    assert [r.status_code for r in answers] == [202, 422, 202, 202]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["3", "2", "1", "0"]
    assert [r.headers["X-RateLimit-Scope"] for r in answers] == ["key"] * 4
    refused = post(client, owner)
    assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "rate_limited"
    assert int(refused.headers["Retry-After"]) >= 1
    assert len(submissions_of(app, owner)) == 3


def test_a_full_account_window_is_refused_by_flask_with_the_window_counted_once(tmp_path, monkeypatch):
    app = app_with(tmp_path, monkeypatch, RATE_LIMIT="100/minute", ACCOUNT_RATE_LIMIT="2/minute")
    owner = Account(app, "owner@example.com")
    answers = [post(app.test_client(), owner) for _ in range(3)]
    assert [r.status_code for r in answers] == [202, 202, 429]
    assert [r.headers["X-RateLimit-Scope"] for r in answers] == ["account"] * 3
    assert answers[2].get_json()["error"]["details"] == {"scope": "account", "limit": 2}
    assert len(submissions_of(app, owner)) == 2


def test_an_accept_beneath_flask_writes_the_request_log_line(tmp_path, monkeypatch, caplog):
    app = app_with(tmp_path, monkeypatch, LOG_LEVEL="INFO")
    owner = Account(app, "owner@example.com")
    with caplog.at_level(logging.INFO, logger="vilvik.http"):
        response = post(app.test_client(), owner)
    lines = [record.getMessage() for record in caplog.records if record.name == "vilvik.http"]
    assert len(lines) == 1
    assert lines[0].startswith(f"POST {PATH} 202 ")
    assert f" request_id={response.headers['X-Request-Id']} key=" in lines[0]
    assert owner.key.startswith(lines[0].rpartition(" key=")[2])
    assert caplog.records[-1].funcName == "_finish"


def test_with_metrics_on_every_accept_goes_through_flask_and_is_counted(tmp_path, monkeypatch):
    app = app_with(tmp_path, monkeypatch, METRICS_ENABLED=True)
    seen = flask_seen(app)
    owner = Account(app, "owner@example.com")
    assert post(app.test_client(), owner).status_code == 202
    assert seen == [f"POST {PATH}"]
    scraped = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'vilvik_http_requests_total{code="202",method="POST"}' in scraped


@pytest.mark.parametrize("prefer, ends, waits", [
    ("wait=5", True, 2),  # the run ends while the request waits: 200 with the whole submission
    ("wait=1", False, 2),  # it does not: 202, the wait applied
    ("respond-async", False, 2),  # no wait asked: 202 at once
    ("wait=5", True, 0),  # no wait left for this account: 202 at once, no wait applied
], ids=["ended", "ran out", "no wait", "no seat"])
def test_prefer_wait_is_answered_beneath_flask_as_flask_answers_it(tmp_path, monkeypatch, prefer, ends, waits):
    from vilvik_server.engine import job
    from vilvik_server.store import submissions as submission_store

    app = app_with(tmp_path, monkeypatch, SANDBOX_ALLOW_DEGRADED=True, MAX_WAITS_PER_ACCOUNT=waits)
    executor = app.extensions["vilvik"].executor
    if ends:
        def wait_terminal(submission_id, timeout):  # the run is claimed and ends while the request waits
            row = executor._claim()
            assert row["id"] == submission_id
            executor._store(row, job.Outcome("failed", {"code": "fitness_error", "message": "boom"},
                                             usage={"cpu_seconds": 0.01, "wall_seconds": 0.02}))
            return submission_store.get_any(executor.db.connection(), submission_id)
        monkeypatch.setattr(executor, "wait_terminal", wait_terminal)
    owner = Account(app, "owner@example.com")
    seen = flask_seen(app)
    beneath = post(app.test_client(), owner, Prefer=prefer)
    assert seen == []
    flask = post(through_flask(app), owner, Prefer=prefer)
    assert seen == [f"POST {PATH}"]
    expected = 200 if ends and waits else 202
    assert beneath.status_code == flask.status_code == expected
    assert sorted(beneath.headers.keys()) == sorted(flask.headers.keys())
    assert beneath.headers.get("Preference-Applied") == flask.headers.get("Preference-Applied") == (
        prefer if waits and prefer.startswith("wait") else None)
    for name, value in flask.headers.items():
        if name not in VARIABLE_HEADERS:
            assert beneath.headers[name] == value, name
    mine, theirs = beneath.get_json(), flask.get_json()
    variable = VARIABLE_FIELDS | {"started_at", "finished_at", "usage"}
    assert {k: v for k, v in mine.items() if k not in variable} == {k: v for k, v in theirs.items() if k not in variable}
    assert beneath.headers["Location"] == mine["status_url"]
    assert mine["status"] == ("failed" if expected == 200 else "queued")
