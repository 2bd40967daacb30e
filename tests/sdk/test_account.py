"""The client's configuration, and client.account, credits, keys, webhooks, events and quick."""
import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import vilvik

from .conftest import SMALL, SUM


@pytest.fixture(scope="module", autouse=True)
def _webhooks_may_post_to_loopback():
    """This module's live server (started after this) may deliver webhooks to a local receiver."""
    before = os.environ.get("VILVIK_WEBHOOK_ALLOW_PRIVATE")
    os.environ["VILVIK_WEBHOOK_ALLOW_PRIVATE"] = "true"
    yield
    if before is None:
        del os.environ["VILVIK_WEBHOOK_ALLOW_PRIVATE"]
    else:
        os.environ["VILVIK_WEBHOOK_ALLOW_PRIVATE"] = before


def test_it_reads_the_key_and_base_url_from_the_environment(live_server, api_user, monkeypatch):
    monkeypatch.setenv("VILVIK_API_KEY", api_user.key)
    monkeypatch.setenv("VILVIK_BASE_URL", live_server.url)  # without /api/v1
    with vilvik.Client() as client:
        assert client.base_url == live_server.api
        assert client.api_key == api_user.key
        assert client.account.get().email.endswith("@example.com")


@pytest.mark.parametrize("given", ["http://h:5000", "http://h:5000/", "http://h:5000/api/v1", "http://h:5000/api/v1/"])
def test_the_base_url_may_name_the_api_root_or_the_server(given):
    assert vilvik.Client(api_key="k", base_url=given).base_url == "http://h:5000/api/v1"


@pytest.mark.parametrize("given", ["127.0.0.1:5000", "localhost:5000/api/v1", "ftp://h/api/v1"])
def test_a_base_url_without_http_or_https_is_refused_at_once_saying_so(given):
    with pytest.raises(ValueError, match="http:// or https://"):
        vilvik.Client(api_key="k", base_url=given)


def test_arguments_win_over_the_environment_and_nothing_connects_early(monkeypatch):
    monkeypatch.setenv("VILVIK_API_KEY", "from-env")
    monkeypatch.setenv("VILVIK_BASE_URL", "http://env.example:1")
    client = vilvik.Client(api_key="given", base_url="http://given.example:2", timeout=3, max_retries=1)
    assert (client.api_key, client.base_url, client.timeout, client.retry.max_retries) == (
        "given", "http://given.example:2/api/v1", 3, 1)
    assert client._session is None
    client.close()
    assert vilvik.Client(api_key=None, base_url=None).api_key == "from-env"


def test_it_reads_the_account_and_the_credit_ledger(sdk):
    account = sdk.account.get()
    assert isinstance(account, vilvik.Account) and isinstance(account.credits, vilvik.Credits)
    assert account.credits.balance == account.credits.available + account.credits.reserved
    assert account.limits["max_active"]["limit"] >= 1
    assert sdk.credits.balance() == sdk.account.get().credits

    sdk.submissions.create(SUM, **SMALL).wait(timeout=60, poll_interval=0.05)
    entries = list(sdk.credits.ledger(limit=2))
    assert all(isinstance(e, vilvik.LedgerEntry) for e in entries)
    kinds = [e.kind for e in entries]
    assert kinds[-1] == "grant" and {"reserve", "release", "charge"} <= set(kinds)
    assert entries[-1].amount == 1000 and entries[-1].submission_id is None


def test_it_creates_lists_and_revokes_keys(sdk, live_server):
    key = sdk.keys.create(name="ci", scopes=["results:read"])
    assert isinstance(key, vilvik.ApiKey) and key.secret and key.secret.startswith(key.prefix)
    assert key.scopes == ["results:read"]
    listed = {k.id: k for k in sdk.keys.list()}
    assert key.id in listed and listed[key.id].secret is None
    with vilvik.Client(api_key=key.secret, base_url=live_server.api) as limited:
        assert limited.results.list().first_page().data is not None
        sdk.keys.delete(key.id)
        with pytest.raises(vilvik.AuthenticationError):
            limited.results.list().first_page()
    assert key.id not in {k.id for k in sdk.keys.list()}
    with pytest.raises(vilvik.NotFoundError):
        sdk.keys.revoke(key.id)


def test_a_key_whose_secret_was_lost_to_a_replayed_answer_is_an_error_naming_it(sdk):
    first = sdk.keys.create(name="provisioned", idempotency_key="provision-ci-key")
    with pytest.raises(vilvik.KeySecretLostError) as lost:
        sdk.keys.create(name="provisioned", idempotency_key="provision-ci-key")   # the first answer "lost"
    assert lost.value.key.id == first.id and lost.value.key.secret is None
    assert first.id in str(lost.value) and "revoke" in str(lost.value)
    sdk.keys.delete(first.id)


def test_it_lists_the_quick_problems(sdk):
    problems = sdk.quick.problems()
    assert problems and all(isinstance(p, vilvik.QuickProblem) and p.name for p in problems)


def test_it_lists_events(sdk):
    page = sdk.events.list(limit=5).first_page()
    assert all(isinstance(e, vilvik.Event) and e.type for e in page)
    list(sdk.events.list(type="result.completed", undelivered=True))


class Receiver:
    """A local webhook receiver that records what it is sent."""

    def __init__(self):
        self.received = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((dict(self.headers), body))
                self.send_response(204)
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def wait_for(self, count, timeout=30):
        deadline = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.received

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver():
    found = Receiver()
    yield found
    found.close()


def test_it_manages_webhook_endpoints_and_their_deliveries(sdk, receiver):
    endpoint = sdk.webhooks.create(receiver.url, events=["result.completed"],
                              description="sdk test")
    assert isinstance(endpoint, vilvik.WebhookEndpoint) and endpoint.secret.startswith("whsec_")
    assert endpoint.id in {e.id for e in sdk.webhooks.list()}
    assert sdk.webhooks.get(endpoint.id).url == receiver.url
    assert sdk.webhooks.update(endpoint.id, description="renamed").description == "renamed"

    sdk.webhooks.test(endpoint.id)
    deliveries = list(sdk.webhooks.deliveries(endpoint.id))
    assert deliveries and all(isinstance(d, vilvik.WebhookDelivery) for d in deliveries)
    sdk.webhooks.redeliver(endpoint.id, deliveries[0].id)

    # What reached the receiver verifies with the endpoint's secret.
    received = receiver.wait_for(1)
    assert received, "the test ping never arrived"
    for headers, body in received:
        event = vilvik.webhooks.verify(body, headers, endpoint.secret)
        assert event["id"] and event["type"]

    rotated = sdk.webhooks.rotate_secret(endpoint.id)
    assert rotated.secret.startswith("whsec_") and rotated.secret != endpoint.secret
    sdk.webhooks.delete(endpoint.id)
    with pytest.raises(vilvik.NotFoundError):
        sdk.webhooks.get(endpoint.id)


def test_a_one_off_webhook_url_delivery_verifies_with_the_default_secret(sdk, receiver):
    secret = sdk.webhooks.default_secret()
    assert secret.startswith("whsec_") and sdk.webhooks.default_secret() == secret
    submission = sdk.submissions.create(fitness_func=SUM, **SMALL, webhook_url=receiver.url,
                                        webhook_events=["result.completed"])
    submission.wait(timeout=60)
    received = receiver.wait_for(1)
    assert received, "the one-off webhook never arrived"
    event = vilvik.webhooks.verify(received[0][1], received[0][0], secret)
    assert event["type"] == "result.completed" and event["data"]["submission"]["id"] == submission.id


def test_health_needs_no_key(live_server):
    with vilvik.Client(api_key="", base_url=live_server.api) as client:
        health = client.health()
    assert health["status"] == "ok" and "queue" in health
    assert json.dumps(health)


def test_it_submits_a_quick_problem_from_the_catalogue(sdk):
    problem = sdk.quick.problems()[0]
    assert problem.params_schema["type"] == "object" and problem.example
    submission = sdk.submissions.create(type="quick", problem=problem.name, problem_params=problem.example)
    assert submission.generated["fitness_func"] and submission.generated["params"]
    with pytest.raises(vilvik.ValidationError) as refused:  # PyGAD parameters are not the problem's data
        sdk.submissions.create(type="quick", problem=problem.name, problem_params=problem.defaults)
    assert "problem_params" in refused.value.fields
