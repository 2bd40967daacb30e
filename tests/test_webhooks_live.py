"""Webhooks over the wire: a real server (`vilvik-server serve`) delivering to a real HTTP
receiver on 127.0.0.1, with a short retry schedule, across a real run and a restart."""
import json
import signal
import sqlite3
import time

import pytest
from standardwebhooks import Webhook

from conftest import ApiUser, LiveServer
from test_webhooks import receiver  # noqa: F401 - the fixture, shared with the in-process tests

FITNESS = "def fitness_func(ga, sol, idx):\n    return float(sum(sol))\n"
LIVE_SETTINGS = {"WORKERS": 2, "WEBHOOK_ALLOW_PRIVATE": "true", "WEBHOOK_RETRY_SCHEDULE": "0.2,0.2,0.2"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = LiveServer(tmp_path_factory.mktemp("webhooks") / "instance", LIVE_SETTINGS).start()
    yield running
    running.stop()


@pytest.fixture
def user(server):
    made = ApiUser(server, server.command("create-account", f"u{time.monotonic_ns()}@example.com",
                                          "--credits", "100")["api_key"])
    yield made
    made.session.close()


def register(user, url, **fields):
    response = user.post("/webhooks", {"url": url, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def deliveries(user, endpoint_id):
    response = user.get(f"/webhooks/{endpoint_id}/deliveries")
    assert response.status_code == 200, response.text
    return response.json()["data"]


def wait_until(check, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.05)
    raise AssertionError(f"not so after {timeout}s")


def test_a_delivery_verifies_with_the_standard_webhooks_verifier(user, receiver):
    target = receiver()
    endpoint = register(user, target.url)
    assert user.post(f"/webhooks/{endpoint['id']}/test").status_code == 202
    (request,) = target.wait_for(1)
    event = Webhook(endpoint["secret"]).verify(request["body"], request["headers"])
    assert event["type"] == "ping" and request["headers"]["webhook-id"] == event["id"]
    sent = wait_until(lambda: [d for d in deliveries(user, endpoint["id"]) if d["status"] == "succeeded"])
    assert sent[0]["status_code"] == 204 and sent[0]["event_id"] == event["id"]


def test_a_receiver_failing_twice_then_succeeding_gets_three_attempts_with_one_webhook_id(user, receiver):
    target = receiver((500, {}, b"not yet"), (502, {}, b"still not"))
    endpoint = register(user, target.url)
    user.post(f"/webhooks/{endpoint['id']}/test")
    requests_ = target.wait_for(3)
    assert len({r["headers"]["webhook-id"] for r in requests_}) == 1
    assert len({r["body"] for r in requests_}) == 1  # the same bytes every time
    for request in requests_:  # each attempt freshly signed
        Webhook(endpoint["secret"]).verify(request["body"], request["headers"])
    assert requests_[1]["at"] - requests_[0]["at"] >= 0.15  # the schedule's 0.2 s, less its jitter
    (sent,) = wait_until(lambda: [d for d in deliveries(user, endpoint["id"]) if d["status"] == "succeeded"])
    assert [(a["number"], a["status_code"]) for a in sent["attempts"]] == [(1, 500), (2, 502), (3, 204)]
    assert sent["attempts"][0]["response_excerpt"] == "not yet" and sent["attempts"][0]["next_retry_at"]
    assert all(a["latency_ms"] is not None for a in sent["attempts"])
    time.sleep(0.5)
    assert len(target.received) == 3


def test_410_gone_disables_the_endpoint(user, receiver):
    target = receiver((410, {}, b"gone"))
    endpoint = register(user, target.url)
    user.post(f"/webhooks/{endpoint['id']}/test")
    target.wait_for(1)
    shown = wait_until(lambda: (lambda e: e if not e["enabled"] else None)(
        user.get(f"/webhooks/{endpoint['id']}").json()))
    assert "410" in shown["disabled_reason"] and shown["failure_count"] == 1
    assert user.post(f"/webhooks/{endpoint['id']}/test").status_code == 409
    time.sleep(0.5)
    assert len(target.received) == 1


def test_result_completed_carries_the_submission_its_result_summary_and_result_url(user, receiver):
    registered, one_off = receiver(), receiver()
    endpoint = register(user, registered.url, events=["submission.started", "result.completed"])
    accepted = user.submit(FITNESS, num_generations=4, random_seed=7, webhook_url=one_off.url,
                           webhook_events=["result.completed"])
    assert user.wait(accepted["id"])["status"] == "succeeded"
    by_type = {json.loads(r["body"])["type"]: r for r in registered.wait_for(2)}
    assert set(by_type) == {"submission.started", "result.completed"}
    completed = by_type["result.completed"]
    event = Webhook(endpoint["secret"]).verify(completed["body"], completed["headers"])
    assert event["type"] == "result.completed" and event["id"].startswith("evt_")
    data = event["data"]
    assert data["submission"]["id"] == accepted["id"] and data["submission"]["status"] == "succeeded"
    assert data["submission"]["credits_charged"] is not None and data["submission"]["finished_at"]
    result = user.get(f"/results?submission_id={accepted['id']}").json()["data"][0]
    assert data["result"]["id"] == result["id"]
    assert data["result"]["best_solution"] == result["best_solution"]
    assert data["result"]["best_solution_fitness"] == result["best_solution_fitness"]
    assert data["result"]["generations_completed"] == 4
    assert data["result_url"] == accepted["result_url"]
    assert data["result_url"].startswith(user.server.api)  # PUBLIC_URL unset: the address served
    path = data["result_url"].removeprefix(user.server.api)
    assert user.get(path).json()["data"][0]["id"] == result["id"]

    (only,) = one_off.wait_for(1)
    secret = user.get("/webhooks/default/secret").json()["secret"]
    assert Webhook(secret).verify(only["body"], only["headers"])["id"] == event["id"]
    listed = wait_until(lambda: [e for e in user.get("/events?type=result.completed").json()["data"]
                                 if e["delivered_at"]])
    assert listed[0]["id"] == event["id"] and listed[0]["data"] == data


def test_a_server_restart_between_attempts_still_delivers(tmp_path, receiver):
    target = receiver((503, {}, b"restarting"))
    server = LiveServer(tmp_path / "instance", dict(LIVE_SETTINGS, WEBHOOK_RETRY_SCHEDULE="5")).start()
    user = ApiUser(server, server.command("create-account", "r@example.com")["api_key"])
    try:
        endpoint = register(user, target.url)
        user.post(f"/webhooks/{endpoint['id']}/test")
        target.wait_for(1)
        assert server.stop(signal.SIGTERM) == 0
        conn = sqlite3.connect(f"{server.instance}/vilvik.sqlite3")
        try:
            assert conn.execute("SELECT status, attempts FROM webhook_deliveries").fetchall() == [("pending", 1)]
        finally:
            conn.close()
        assert len(target.received) == 1

        server.start()
        first, second = target.wait_for(2, timeout=60)
        assert first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
        Webhook(endpoint["secret"]).verify(second["body"], second["headers"])
        (sent,) = wait_until(lambda: [d for d in deliveries(user, endpoint["id"]) if d["status"] == "succeeded"])
        assert [a["status_code"] for a in sent["attempts"]] == [503, 204]
    finally:
        user.session.close()
        server.stop()
