"""Retries against a scripted server that answers 429/503 (or drops the connection) first."""
import time

import pytest

import vilvik
from vilvik.retry import RetryPolicy, parse_retry_after

ACCEPTED = {"id": "abcDEF123456", "status": "queued", "created_at": "2026-06-03T12:00:00Z"}
SUBMISSION = {"id": "abcDEF123456", "status": "running", "progress": {"generations_completed": 1}}
RATE_LIMITED = {"error": {"code": "rate_limited", "message": "too many requests", "request_id": "req_1"}}
UNAVAILABLE = {"error": {"code": "unavailable", "message": "shutting down", "request_id": "req_2"}}


def test_a_create_is_retried_after_429_and_503_with_the_same_idempotency_key(fake_api, fake_client):
    fake_api.answer((429, {"Retry-After": "1"}, RATE_LIMITED), (503, {"Retry-After": "0"}, UNAVAILABLE),
                    (202, {}, ACCEPTED))
    started = time.monotonic()
    submission = fake_client.submissions.create("def fitness_func(ga, s, i): return 0\n", num_generations=3)
    elapsed = time.monotonic() - started
    assert submission.id == "abcDEF123456"
    assert [(method, path) for method, path, _, _ in fake_api.requests] == [("POST", "/api/v1/submissions")] * 3
    keys = {headers["Idempotency-Key"] for _, _, headers, _ in fake_api.requests}
    assert len(keys) == 1 and len(keys.pop()) >= 32
    assert len({body for *_, body in fake_api.requests}) == 1
    assert elapsed >= 1.0  # Retry-After: 1 was honoured


def test_each_create_call_gets_its_own_idempotency_key(fake_api, fake_client):
    fake_api.answer((202, {}, ACCEPTED), (202, {}, ACCEPTED))
    fake_client.submissions.create("x", num_generations=3)
    fake_client.submissions.create("x", num_generations=3)
    first, second = (headers["Idempotency-Key"] for _, _, headers, _ in fake_api.requests)
    assert first != second


def test_a_given_idempotency_key_is_sent_on_every_attempt(fake_api, fake_client):
    fake_api.answer((503, {"Retry-After": "0"}, UNAVAILABLE), (200, {}, SUBMISSION))
    fake_client.submissions.cancel("abcDEF123456", idempotency_key="mine-1")
    assert [headers["Idempotency-Key"] for _, _, headers, _ in fake_api.requests] == ["mine-1", "mine-1"]


def test_a_get_is_retried_after_a_dropped_connection_and_a_503(fake_api, fake_client):
    fake_api.answer("drop", (503, {}, UNAVAILABLE), (200, {}, SUBMISSION))
    submission = fake_client.submissions.get("abcDEF123456")
    assert submission.status == "running"
    assert len(fake_api.requests) == 3
    assert "Idempotency-Key" not in fake_api.requests[0][2]


def test_it_gives_up_after_max_retries_with_the_last_error(fake_api):
    fake_api.answer(*[(503, {"Retry-After": "0"}, UNAVAILABLE)] * 5)
    with vilvik.Client(api_key="k", base_url=fake_api.url, max_retries=2) as client:
        with pytest.raises(vilvik.ServiceUnavailableError) as caught:
            client.account.get()
    assert len(fake_api.requests) == 3
    assert caught.value.status == 503 and caught.value.request_id == "req_2"


def test_max_retries_zero_sends_once(fake_api):
    fake_api.answer((429, {"Retry-After": "0"}, RATE_LIMITED))
    with vilvik.Client(api_key="k", base_url=fake_api.url, max_retries=0) as client:
        with pytest.raises(vilvik.RateLimitError):
            client.submissions.get("abcDEF123456")
    assert len(fake_api.requests) == 1


def test_a_post_without_an_idempotency_key_is_not_retried(fake_api, fake_client):
    fake_api.answer((429, {"Retry-After": "2"}, RATE_LIMITED), (200, {}, {}))
    with pytest.raises(vilvik.RateLimitError) as caught:
        fake_client.request("POST", "/submissions", json={})
    assert len(fake_api.requests) == 1
    assert caught.value.retry_after == 2.0


def test_a_retry_after_longer_than_a_minute_is_raised_not_waited(fake_api, fake_client):
    fake_api.answer((429, {"Retry-After": "3600"}, RATE_LIMITED))
    with pytest.raises(vilvik.RateLimitError) as caught:
        fake_client.submissions.get("abcDEF123456")
    assert caught.value.retry_after == 3600.0 and len(fake_api.requests) == 1


def test_other_errors_are_not_retried(fake_api, fake_client):
    fake_api.answer((500, {}, {"error": {"code": "internal_error", "message": "bug"}}), (200, {}, SUBMISSION))
    with pytest.raises(vilvik.InternalServerError):
        fake_client.submissions.get("abcDEF123456")
    assert len(fake_api.requests) == 1


def test_a_key_still_being_processed_is_retried(fake_api, fake_client):
    busy = {"error": {"code": "conflict", "message": "a request with this Idempotency-Key is still being processed"}}
    fake_api.answer((409, {"Retry-After": "0"}, busy), (202, {}, ACCEPTED))
    assert fake_client.submissions.create("x").id == ACCEPTED["id"]
    assert len(fake_api.requests) == 2


def test_an_unreachable_server_is_a_connection_error(fake_api):
    url = fake_api.url
    fake_api.close()
    with vilvik.Client(api_key="k", base_url=url, max_retries=1) as client:
        client.retry.initial_delay = 0.01
        with pytest.raises(vilvik.APIConnectionError) as caught:
            client.submissions.get("abcDEF123456")
    assert caught.value.status is None and isinstance(caught.value, vilvik.VilvikError)


def test_back_off_grows_with_jitter_and_retry_after_is_a_floor():
    policy = RetryPolicy(initial_delay=0.5, max_delay=8.0, jitter=lambda: 1.0)
    assert [policy.delay(n) for n in range(6)] == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]
    low = RetryPolicy(initial_delay=0.5, jitter=lambda: 0.0)
    assert [low.delay(n) for n in range(3)] == [0.25, 0.5, 1.0]

    class Response:
        headers = {"Retry-After": "3"}
    assert 3.0 <= RetryPolicy().delay(0, Response()) <= 3.3
    assert RetryPolicy(jitter=lambda: 0.0).delay(5, Response()) == 3.0


def test_retry_after_is_read_as_seconds_or_an_http_date():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: retry now
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 30))
    assert 25 <= parse_retry_after(future) <= 31


def test_a_key_create_whose_retry_is_answered_without_the_secret_raises_key_secret_lost(fake_api, fake_client):
    replayed = {"object": "api_key", "id": "keyABC123456", "name": "ci", "prefix": "vk_abcdefgh",
                "scopes": ["results:read"], "created_at": "2026-06-03T12:00:00Z", "last_used_at": None}
    fake_api.answer("drop", (201, {"Idempotent-Replayed": "true"}, replayed))
    with pytest.raises(vilvik.KeySecretLostError) as caught:
        fake_client.keys.create(name="ci", scopes=["results:read"])
    assert caught.value.key.id == "keyABC123456" and "keyABC123456" in str(caught.value)
    assert len({headers["Idempotency-Key"] for _, _, headers, _ in fake_api.requests}) == 1
