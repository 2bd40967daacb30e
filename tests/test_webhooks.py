"""Webhooks in-process: endpoints, events written with their state change, the outbox and its
retries, signing, the SSRF guard. The delivery loop runs synchronously (`run_until_idle`)
against a real HTTP receiver on 127.0.0.1; test_webhooks_live.py does it over the wire."""
import base64
import json
import logging
import os
import re
import sqlite3
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from standardwebhooks import Webhook

from conftest import Account
from vilvik_server import create_app
from vilvik_server.engine import job
from vilvik_server.webhooks import delivery, events as webhook_events

API = "/api/v1"
FITNESS = "def fitness_func(ga, sol, idx):\n    return float(sum(sol))\n"
BODY = {"num_generations": 3, "sol_per_pop": 4, "num_genes": 2, "num_parents_mating": 2, "fitness_func": FITNESS}


class Receiver:
    """An HTTP server on 127.0.0.1 (a free port) that records every POST and answers from a script.

    `answers` is a list of (status, headers, body) used in turn; after it runs out, 204. While
    `hold` is cleared, requests wait (a slow receiver).
    """

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.received = []
        self.hold = threading.Event()
        self.hold.set()
        self._arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._arrived:
                    receiver.received.append({"path": self.path, "headers": dict(self.headers), "body": body,
                                              "at": time.monotonic()})
                    answer = receiver.answers.pop(0) if receiver.answers else (204, {}, b"")
                    receiver._arrived.notify_all()
                receiver.hold.wait(30)
                status, headers, text = answer
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def wait_for(self, count, timeout=30):
        """Wait until `count` requests arrived; returns them."""
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.received) >= count, timeout):
                raise AssertionError(f"{len(self.received)} of {count} deliveries arrived in {timeout}s")
            return list(self.received)

    def close(self):
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()


@pytest.fixture
def receiver():
    made = []

    def make(*answers):
        made.append(Receiver(answers))
        return made[-1]
    yield make
    for server in made:
        server.close()


def make_app(tmp_path, monkeypatch, **settings):
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app({"WORKERS": 0, "LOG_LEVEL": "WARNING", "MAX_CPU_SECONDS": 1, "SANDBOX_ALLOW_DEGRADED": True,
                       "WEBHOOK_ALLOW_PRIVATE": True, "WEBHOOK_RETRY_SCHEDULE": "0,0", **settings})


@pytest.fixture
def app(tmp_path, monkeypatch):
    """An app whose webhooks may go to 127.0.0.1, retried twice at once; no threads are started."""
    return make_app(tmp_path, monkeypatch)


def services(app):
    return app.extensions["vilvik"]


def send_all(app):
    return services(app).deliveries.run_until_idle()


def create_endpoint(client, account, url, **fields):
    response = client.post(f"{API}/webhooks", json={"url": url, **fields}, headers=account.headers)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def deliveries(client, account, endpoint_id):
    response = client.get(f"{API}/webhooks/{endpoint_id}/deliveries", headers=account.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["data"]


def verify(secret, request):
    return Webhook(secret).verify(request["body"], request["headers"])


def claim_and_end(app, status, **outcome):
    """Run the executor's claim and store steps for the oldest queued submission, without a sandbox."""
    executor = services(app).executor
    row = executor._claim()
    executor._store(row, job.Outcome(status, usage={"cpu_seconds": 0.01, "wall_seconds": 0.02}, **outcome))
    return row["id"]


# -- endpoints --------------------------------------------------------------------------------------

def test_it_creates_an_endpoint_and_shows_its_secret_only_on_create(client, owner):
    created = create_endpoint(client, owner, "https://hooks.example.com/vilvik", events=["result.completed"],
                              description="CI")
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"][len("whsec_"):])) == 32
    assert (created["events"], created["description"], created["enabled"]) == (["result.completed"], "CI", True)
    fetched = client.get(f"{API}/webhooks/{created['id']}", headers=owner.headers).get_json()
    assert "secret" not in fetched and fetched["url"] == "https://hooks.example.com/vilvik"
    listed = client.get(f"{API}/webhooks", headers=owner.headers).get_json()
    assert [item["id"] for item in listed["data"]] == [created["id"]] and "secret" not in listed["data"][0]
    assert create_endpoint(client, owner, "http://hooks.example.com/")["events"] == ["*"]


@pytest.mark.parametrize("url", ["ftp://hooks.example.com/", "javascript:alert(1)", "http://", "hooks.example.com",
                                 "http://exa mple.com/", "http://example.com:99999/",
                                 "https://x.example/" + "a" * 2048])
def test_it_refuses_a_target_that_is_not_an_http_or_https_url(client, owner, url):
    response = client.post(f"{API}/webhooks", json={"url": url}, headers=owner.headers)
    assert response.status_code == 422
    assert "url" in response.get_json()["error"]["details"]["fields"]


@pytest.mark.parametrize("events", [["submission.exploded"], [], "result.completed", ["ping"]])
def test_it_refuses_an_events_filter_it_does_not_know(client, owner, events):
    response = client.post(f"{API}/webhooks", json={"url": "https://a.example/", "events": events},
                           headers=owner.headers)
    assert response.status_code == 422
    assert "events" in response.get_json()["error"]["details"]["fields"]


@pytest.mark.parametrize("enabled", ["yes", "false", 1, 0, "on"])
def test_enabled_is_true_or_false_and_nothing_that_looks_like_it(client, owner, enabled):
    response = client.post(f"{API}/webhooks", json={"url": "https://a.example/", "enabled": enabled},
                           headers=owner.headers)
    assert response.status_code == 422 and response.get_json()["error"]["param"] == "enabled"
    created = create_endpoint(client, owner, "https://a.example/")
    response = client.patch(f"{API}/webhooks/{created['id']}", json={"enabled": enabled}, headers=owner.headers)
    assert response.status_code == 422 and response.get_json()["error"]["param"] == "enabled"
    assert client.get(f"{API}/webhooks/{created['id']}", headers=owner.headers).get_json()["enabled"] is True


def test_it_updates_and_deletes_an_endpoint(client, owner):
    created = create_endpoint(client, owner, "https://a.example/")
    response = client.patch(f"{API}/webhooks/{created['id']}", json={
        "url": "https://b.example/in", "events": ["result.failed"], "description": "new", "enabled": False},
        headers=owner.headers)
    assert response.status_code == 200
    body = response.get_json()
    assert (body["url"], body["events"], body["description"], body["enabled"]) == (
        "https://b.example/in", ["result.failed"], "new", False)
    assert client.delete(f"{API}/webhooks/{created['id']}", headers=owner.headers).status_code == 204
    assert client.get(f"{API}/webhooks/{created['id']}", headers=owner.headers).status_code == 404
    assert client.delete(f"{API}/webhooks/{created['id']}", headers=owner.headers).status_code == 404


def test_another_accounts_endpoint_is_not_found(client, owner, stranger):
    created = create_endpoint(client, owner, "https://a.example/")
    path = f"{API}/webhooks/{created['id']}"
    for method, url in [("get", path), ("patch", path), ("delete", path), ("post", path + "/test"),
                        ("post", path + "/rotate-secret"), ("get", path + "/deliveries"),
                        ("post", path + "/deliveries/abcdefABCDEF/redeliver")]:
        kwargs = {"json": {"description": "x"}} if method == "patch" else {}
        response = getattr(client, method)(url, headers=stranger.headers, **kwargs)
        assert response.status_code == 404, (method, url)
        assert response.get_json()["error"]["code"] == "not_found"
    assert client.get(f"{API}/webhooks", headers=stranger.headers).get_json()["data"] == []


def test_it_needs_the_webhooks_scopes(app, client):
    reader = Account(app, "reader@example.com", scopes=["webhooks:read"])
    nobody = Account(app, "nobody@example.com", scopes=["submissions:read"])
    assert client.get(f"{API}/webhooks", headers=reader.headers).status_code == 200
    assert client.get(f"{API}/events", headers=reader.headers).status_code == 200
    refused = client.post(f"{API}/webhooks", json={"url": "https://a.example/"}, headers=reader.headers)
    assert refused.status_code == 403
    assert refused.get_json()["error"]["details"]["required_scope"] == "webhooks:write"
    assert client.get(f"{API}/webhooks", headers=nobody.headers).status_code == 403
    assert client.get(f"{API}/events", headers=nobody.headers).status_code == 403


def test_an_account_has_at_most_twenty_endpoints(client, owner):
    for n in range(20):
        create_endpoint(client, owner, f"https://a.example/{n}")
    response = client.post(f"{API}/webhooks", json={"url": "https://a.example/21"}, headers=owner.headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "quota_exceeded"


# -- events, recorded with the change ---------------------------------------------------------------

def test_a_run_records_its_started_and_terminal_events_with_the_state_change(app, client, owner):
    endpoint = create_endpoint(client, owner, "https://a.example/")
    accepted = client.post(f"{API}/submissions", json=BODY, headers=owner.headers).get_json()
    claim_and_end(app, "failed", error={"code": "fitness_error", "message": "boom"})
    listed = client.get(f"{API}/events", headers=owner.headers).get_json()["data"]
    assert [event["type"] for event in listed] == ["result.failed", "submission.started"]
    failed, started = listed
    assert failed["id"].startswith("evt_") and failed["delivered_at"] is None
    assert started["data"]["submission"]["status"] == "running"
    submission = failed["data"]["submission"]
    assert (submission["id"], submission["status"], submission["error"]["code"]) == (
        accepted["id"], "failed", "fitness_error")
    assert submission["status_url"] == f"http://127.0.0.1:5000/api/v1/submissions/{accepted['id']}"
    assert [d["event_type"] for d in deliveries(client, owner, endpoint["id"])] == [
        "result.failed", "submission.started"]


def test_cancelling_a_queued_submission_records_submission_cancelled(app, client, owner):
    endpoint = create_endpoint(client, owner, "https://a.example/")
    accepted = client.post(f"{API}/submissions", json=BODY, headers=owner.headers).get_json()
    assert client.post(f"{API}/submissions/{accepted['id']}/cancel", headers=owner.headers).status_code == 200
    listed = client.get(f"{API}/events", headers=owner.headers).get_json()["data"]
    assert [event["type"] for event in listed] == ["submission.cancelled"]
    assert listed[0]["data"]["submission"]["id"] == accepted["id"]
    assert [d["event_type"] for d in deliveries(client, owner, endpoint["id"])] == ["submission.cancelled"]


def test_an_event_is_gone_when_its_transaction_rolls_back(app, client, owner):
    client.post(f"{API}/submissions", json=BODY, headers=owner.headers)
    db = services(app).db
    with pytest.raises(RuntimeError), db.transaction() as conn:
        row = conn.execute("UPDATE submissions SET status = 'running' RETURNING id").fetchone()
        webhook_events.record_submission_event(conn, services(app).settings, row["id"])
        assert conn.execute("SELECT count(*) FROM events").fetchone()[0] == 1
        raise RuntimeError("the process dies before it commits")
    assert db.connection().execute("SELECT count(*) FROM events").fetchone()[0] == 0


def test_a_fault_while_recording_an_event_never_costs_a_run_its_outcome(app, client, owner, monkeypatch, caplog):
    accepted = client.post(f"{API}/submissions", json=BODY, headers=owner.headers).get_json()

    def broken(*args):
        raise ValueError("a bug in the payload")
    monkeypatch.setattr(webhook_events, "_submission_data", broken)
    claim_and_end(app, "failed", error={"code": "fitness_error", "message": "boom"})
    assert client.get(f"{API}/submissions/{accepted['id']}", headers=owner.headers).get_json()["status"] == "failed"
    assert client.get(f"{API}/events", headers=owner.headers).get_json()["data"] == []
    assert "could not record its webhook event" in caplog.text


def test_events_can_be_listed_by_type_and_by_whether_they_were_delivered(app, client, owner, stranger, receiver):
    good = receiver()
    endpoint = create_endpoint(client, owner, good.url, events=["submission.started"])
    client.post(f"{API}/submissions", json=BODY, headers=owner.headers)
    claim_and_end(app, "cancelled")
    send_all(app)
    everything = client.get(f"{API}/events", headers=owner.headers).get_json()["data"]
    assert [e["type"] for e in everything] == ["submission.cancelled", "submission.started"]
    undelivered = client.get(f"{API}/events?undelivered=true", headers=owner.headers).get_json()["data"]
    assert [e["type"] for e in undelivered] == ["submission.cancelled"]
    started = client.get(f"{API}/events?type=submission.started", headers=owner.headers).get_json()["data"]
    assert started[0]["delivered_at"] is not None
    assert started[0]["id"] == verify(endpoint["secret"], good.received[0])["id"]
    page = client.get(f"{API}/events?limit=1", headers=owner.headers).get_json()
    assert page["has_more"] and len(page["data"]) == 1
    assert client.get(f"{API}/events?type=nope", headers=owner.headers).status_code == 422
    assert client.get(f"{API}/events", headers=stranger.headers).get_json()["data"] == []


# -- sending ----------------------------------------------------------------------------------------

def test_a_delivery_carries_standard_webhooks_headers_that_verify(app, client, owner, receiver):
    target = receiver()
    endpoint = create_endpoint(client, owner, target.url)
    response = client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    assert response.status_code == 202 and response.get_json()["status"] == "pending"
    assert send_all(app) == 1
    (request,) = target.received
    event = verify(endpoint["secret"], request)
    assert event["type"] == "ping" and event["data"]["webhook_id"] == endpoint["id"]
    assert request["headers"]["webhook-id"] == event["id"]
    assert abs(int(request["headers"]["webhook-timestamp"]) - time.time()) < 60
    assert request["headers"]["Content-Type"] == "application/json"
    (sent,) = deliveries(client, owner, endpoint["id"])
    assert (sent["status"], sent["status_code"], sent["attempt"]) == ("succeeded", 204, 1)
    assert sent["latency_ms"] >= 0 and sent["next_retry_at"] is None


def test_during_a_rotation_both_the_old_and_the_new_secret_sign(app, client, owner, receiver):
    target = receiver()
    endpoint = create_endpoint(client, owner, target.url)
    rotated = client.post(f"{API}/webhooks/{endpoint['id']}/rotate-secret", headers=owner.headers).get_json()
    assert rotated["secret"] != endpoint["secret"] and rotated["secret"].startswith("whsec_")
    ends = datetime.fromisoformat(rotated["previous_secret_expires_at"].replace("Z", "+00:00"))
    assert abs((ends - datetime.now(timezone.utc)).total_seconds() - 24 * 3600) < 60
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    send_all(app)
    (request,) = target.received
    assert len(request["headers"]["webhook-signature"].split(" ")) == 2
    assert verify(endpoint["secret"], request) == verify(rotated["secret"], request)

    db = services(app).db
    with db.transaction() as conn:  # 24 hours later
        conn.execute("UPDATE webhook_endpoints SET previous_secret_expires_at = '2000-01-01T00:00:00.000000Z'")
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    send_all(app)
    later = target.received[1]
    assert len(later["headers"]["webhook-signature"].split(" ")) == 1
    verify(rotated["secret"], later)
    with pytest.raises(Exception, match="signature"):
        verify(endpoint["secret"], later)


def test_a_failing_receiver_is_retried_until_the_schedule_is_used_up(app, client, owner, receiver):
    target = receiver(*[(500, {}, b"database down")] * 3)
    endpoint = create_endpoint(client, owner, target.url)
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    assert send_all(app) == 3  # the first attempt and the schedule's two retries (0 s each)
    assert len({r["headers"]["webhook-id"] for r in target.received}) == 1
    (failed,) = deliveries(client, owner, endpoint["id"])
    assert failed["status"] == "failed" and "gave up after 3 attempts" in failed["error"]
    assert [(a["number"], a["status_code"], a["response_excerpt"]) for a in failed["attempts"]] == [
        (1, 500, "database down"), (2, 500, "database down"), (3, 500, "database down")]
    assert failed["attempts"][0]["next_retry_at"] is not None and failed["attempts"][2]["next_retry_at"] is None
    assert failed["attempts"][0]["error"] == "the receiver answered 500"
    shown = client.get(f"{API}/webhooks/{endpoint['id']}", headers=owner.headers).get_json()
    assert shown["failure_count"] == 1 and shown["last_failure_at"] is not None and shown["enabled"]


@pytest.mark.parametrize("status", [429, 503])
def test_429_and_503_are_retried_after_retry_after(app, client, owner, receiver, status):
    target = receiver((status, {"Retry-After": "120"}, b"slow down"))
    endpoint = create_endpoint(client, owner, target.url)
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    assert send_all(app) == 1  # not due again for two minutes, although the schedule says 0 s
    (waiting,) = deliveries(client, owner, endpoint["id"])
    assert waiting["status"] == "pending" and waiting["status_code"] == status
    retry_at = datetime.fromisoformat(waiting["next_retry_at"].replace("Z", "+00:00"))
    assert 115 < (retry_at - datetime.now(timezone.utc)).total_seconds() <= 121


def test_by_default_retries_follow_the_standard_webhooks_schedule(tmp_path, monkeypatch, receiver):
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"WORKERS": 0, "LOG_LEVEL": "WARNING", "WEBHOOK_ALLOW_PRIVATE": True})
    assert services(app).deliveries.schedule == [5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400]
    client, owner, target = app.test_client(), Account(app, "owner@example.com"), receiver((500, {}, b""))
    endpoint = create_endpoint(client, owner, target.url)
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    assert send_all(app) == 1
    (waiting,) = deliveries(client, owner, endpoint["id"])
    retry_at = datetime.fromisoformat(waiting["next_retry_at"].replace("Z", "+00:00"))
    assert 3 <= (retry_at - datetime.now(timezone.utc)).total_seconds() <= 6  # 5 s, with jitter


def test_retry_after_is_read_as_seconds_or_a_date_and_kept_within_a_day():
    assert delivery._retry_after("7") == 7
    assert delivery._retry_after("-3") == 0
    assert delivery._retry_after("99999999") == 24 * 3600
    assert delivery._retry_after("soon") is None and delivery._retry_after(None) is None
    assert 50 < delivery._retry_after(time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 60))) <= 60


def test_410_gone_disables_the_endpoint_and_fails_what_it_had_pending(app, client, owner, receiver):
    target = receiver((410, {}, b""))
    endpoint = create_endpoint(client, owner, target.url)
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    assert send_all(app) == 1
    shown = client.get(f"{API}/webhooks/{endpoint['id']}", headers=owner.headers).get_json()
    assert not shown["enabled"] and "410" in shown["disabled_reason"]
    second, first = deliveries(client, owner, endpoint["id"])
    assert first["status"] == "failed" and first["status_code"] == 410
    assert second["status"] == "failed" and second["attempt"] == 0 and "disabled" in second["error"]
    refused = client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    assert refused.status_code == 409
    enabled = client.patch(f"{API}/webhooks/{endpoint['id']}", json={"enabled": True}, headers=owner.headers)
    assert enabled.get_json()["enabled"] and enabled.get_json()["disabled_reason"] is None


def test_redirects_are_not_followed(app, client, owner, receiver):
    elsewhere = receiver()
    target = receiver((302, {"Location": elsewhere.url}, b""))
    endpoint = create_endpoint(client, owner, target.url)
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    send_all(app)
    assert elsewhere.received == []
    first = deliveries(client, owner, endpoint["id"])[0]["attempts"][0]
    assert first["status_code"] == 302 and "redirects are not followed" in first["error"]


def test_a_receiver_that_is_down_is_an_error_on_the_attempt(app, client, owner, receiver):
    target = receiver()
    url = target.url
    target.close()
    endpoint = create_endpoint(client, owner, url)
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    send_all(app)
    (failed,) = deliveries(client, owner, endpoint["id"])
    assert failed["status"] == "failed" and failed["attempt"] == 3
    assert all(a["status_code"] is None and "could not connect" in a["error"] for a in failed["attempts"])


def test_a_delivery_is_redelivered_as_a_new_delivery_with_the_same_webhook_id(app, client, owner, receiver):
    target = receiver()
    endpoint = create_endpoint(client, owner, target.url)
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    send_all(app)
    (first,) = deliveries(client, owner, endpoint["id"])
    response = client.post(f"{API}/webhooks/{endpoint['id']}/deliveries/{first['id']}/redeliver",
                           headers=owner.headers)
    assert response.status_code == 202
    again = response.get_json()
    assert again["redelivery_of"] == first["id"] and again["event_id"] == first["event_id"]
    send_all(app)
    assert [r["headers"]["webhook-id"] for r in target.received] == [first["event_id"]] * 2
    missing = client.post(f"{API}/webhooks/{endpoint['id']}/deliveries/abcdefABCDEF/redeliver",
                          headers=owner.headers)
    assert missing.status_code == 404


def test_an_endpoint_gets_only_the_events_it_asked_for(app, client, owner, receiver):
    finished, everything = receiver(), receiver()
    create_endpoint(client, owner, finished.url, events=["result.completed", "result.failed"])
    create_endpoint(client, owner, everything.url)
    create_endpoint(client, owner, everything.url + "/off", enabled=False)
    client.post(f"{API}/submissions", json=BODY, headers=owner.headers)
    claim_and_end(app, "failed", error={"code": "timeout", "message": "too slow"})
    send_all(app)
    assert [json.loads(r["body"])["type"] for r in finished.received] == ["result.failed"]
    assert sorted(json.loads(r["body"])["type"] for r in everything.received) == [
        "result.failed", "submission.started"]
    assert {r["path"] for r in everything.received} == {"/hook"}


def test_a_submissions_one_off_webhook_url_is_signed_with_the_accounts_default_secret(app, client, owner, receiver):
    target = receiver()
    body = dict(BODY, webhook_url=target.url, webhook_events=["result.completed"])
    accepted = client.post(f"{API}/submissions", json=body, headers=owner.headers)
    assert accepted.status_code == 202, accepted.get_json()
    result = {"best_solution": [1.0, 1.0], "best_solution_fitness": 2.0, "best_solution_idx": 0,
              "best_solution_generation": 3, "generations_completed": 3, "best_fitness_per_generation": [1, 2, 2, 2],
              "last_generation_fitness": [2, 1, 1, 0], "population": [[1.0, 1.0]] * 4}
    claim_and_end(app, "succeeded", result=result)
    send_all(app)
    (request,) = target.received  # submission.started was filtered out
    secret = client.get(f"{API}/webhooks/default/secret", headers=owner.headers).get_json()["secret"]
    event = verify(secret, request)
    assert event["type"] == "result.completed"
    data = event["data"]
    assert data["submission"]["id"] == accepted.get_json()["id"] and data["submission"]["status"] == "succeeded"
    assert data["result"]["best_solution_fitness"] == 2.0 and data["result"]["best_solution"] == [1.0, 1.0]
    assert "population" not in data["result"]
    assert data["result_url"] == accepted.get_json()["result_url"]
    bad = client.post(f"{API}/submissions", json=dict(BODY, webhook_url="file:///etc/passwd"), headers=owner.headers)
    assert bad.status_code == 422 and "webhook_url" in bad.get_json()["error"]["details"]["fields"]
    bad = client.post(f"{API}/submissions", json=dict(BODY, webhook_events=["ping"]), headers=owner.headers)
    assert bad.status_code == 422


# -- the guard --------------------------------------------------------------------------------------

@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]"])
def test_private_targets_are_refused_by_default(tmp_path, monkeypatch, receiver, host):
    app = make_app(tmp_path, monkeypatch, WEBHOOK_ALLOW_PRIVATE=False)
    client, owner, target = app.test_client(), Account(app, "owner@example.com"), receiver()
    endpoint = create_endpoint(client, owner, target.url.replace("127.0.0.1", host))
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    assert send_all(app) == 1  # refused for good: not retried
    assert target.received == []
    (refused,) = deliveries(client, owner, endpoint["id"])
    assert refused["status"] == "failed"
    assert refused["error"].startswith("refused: ") and "loopback address" in refused["error"]
    assert "WEBHOOK_ALLOW_PRIVATE" in refused["attempts"][0]["error"]


# -- the outbox -------------------------------------------------------------------------------------

def test_two_senders_never_claim_the_same_delivery(app, client, owner):
    endpoint = create_endpoint(client, owner, "https://a.example/")
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    first = delivery.Deliverer(services(app).db, services(app).settings)
    second = delivery.Deliverer(services(app).db, services(app).settings)
    assert first._claim_next() is not None
    assert second._claim_next() is None


def test_a_delivery_whose_sender_died_is_sent_again_after_its_lease(app, client, owner, receiver):
    target = receiver()
    endpoint = create_endpoint(client, owner, target.url)
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    dead = delivery.Deliverer(services(app).db, services(app).settings)
    assert dead._claim_next() is not None  # ... and its process dies here, mid-send
    assert send_all(app) == 0  # its lease still holds
    with services(app).db.transaction() as conn:
        conn.execute("UPDATE webhook_deliveries SET lease_until = '2000-01-01T00:00:00.000000Z'")
    assert send_all(app) == 1
    (sent,) = deliveries(client, owner, endpoint["id"])
    assert sent["status"] == "succeeded" and len(target.received) == 1


def test_a_slow_receiver_does_not_hold_up_the_others(app, client, owner, receiver):
    slow, fast = receiver(), receiver()
    slow.hold.clear()
    slow_endpoint = create_endpoint(client, owner, slow.url)
    fast_endpoint = create_endpoint(client, owner, fast.url)
    for _ in range(6):
        client.post(f"{API}/webhooks/{slow_endpoint['id']}/test", headers=owner.headers)
    client.post(f"{API}/webhooks/{fast_endpoint['id']}/test", headers=owner.headers)
    loop = delivery.Deliverer(services(app).db, services(app).settings)
    loop.start()
    try:
        slow.wait_for(delivery.PER_TARGET, timeout=10)
        fast.wait_for(1, timeout=10)  # while both of the slow receiver's are still waiting for an answer
        time.sleep(0.3)
        assert len(slow.received) == delivery.PER_TARGET  # the slow receiver's others wait their turn
        slow.hold.set()
        slow.wait_for(6, timeout=20)
    finally:
        loop.stop()
    assert {d["status"] for d in deliveries(client, owner, slow_endpoint["id"])} == {"succeeded"}


def test_the_migration_adds_the_one_off_webhook_columns(app):
    conn = sqlite3.connect(services(app).settings["DATABASE"])
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(submissions)")}
    finally:
        conn.close()
    assert {"webhook_url", "webhook_events"} <= columns


def test_the_receiver_in_the_docs_accepts_only_signed_deliveries(capsys):
    with open(os.path.join(os.path.dirname(__file__), os.pardir, "docs", "webhooks.md"), encoding="utf-8") as doc:
        (code,) = re.findall(r"```python\n(.*?)```", doc.read(), re.S)
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    namespace = {"__name__": "docs_webhooks"}
    exec(compile(code.replace("whsec_...", secret), "<docs/webhooks.md>", "exec"), namespace)
    receiver_app = namespace["app"].test_client()
    body = json.dumps({"id": "evt_1", "type": "result.completed", "created_at": "2026-06-03T12:00:07Z",
                       "data": {"submission": {"id": "abc"}, "result": {"best_solution_fitness": 2.5}}})
    stamp = datetime.now(timezone.utc)
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(int(stamp.timestamp())),
               "webhook-signature": Webhook(secret).sign("evt_1", stamp, body), "Content-Type": "application/json"}
    assert receiver_app.post("/vilvik-webhook", data=body, headers=headers).status_code == 204
    assert receiver_app.post("/vilvik-webhook", data=body, headers=headers).status_code == 204  # a retry
    assert capsys.readouterr().out == "finished: abc 2.5\n"
    forged = body.replace("2.5", "9.9")
    assert receiver_app.post("/vilvik-webhook", data=forged, headers=headers).status_code == 400


def test_a_password_in_a_target_url_is_sent_as_basic_auth_and_never_logged(app, client, owner, receiver, caplog):
    target = receiver()
    url = target.url.replace("http://", "http://hook-user:s3cret-pass@")
    endpoint = create_endpoint(client, owner, url)
    client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=owner.headers)
    with caplog.at_level(logging.INFO, logger="vilvik"):
        assert send_all(app) == 1
    (request,) = target.received
    assert request["headers"]["Authorization"] == "Basic " + base64.b64encode(b"hook-user:s3cret-pass").decode()
    assert "webhook delivery" in caplog.text and "***@127.0.0.1" in caplog.text
    assert "s3cret-pass" not in caplog.text and "hook-user" not in caplog.text
