"""Every API error becomes its own exception class, built from the real server's response;
codes and statuses from the future do not break the SDK."""
import math
import time

import pytest

import vilvik
from vilvik import errors

from .conftest import SMALL, SUM


def client_for(live_server, key):
    return vilvik.Client(api_key=key, base_url=live_server.api)


def test_an_unknown_key_is_an_authentication_error(live_server):
    with client_for(live_server, "vk_not_a_real_key") as client:
        with pytest.raises(vilvik.AuthenticationError) as caught:
            client.account.get()
    error = caught.value
    assert error.status == 401 and error.code == "unauthenticated"
    assert error.request_id.startswith("req_") and error.message
    assert vilvik.UnauthenticatedError is vilvik.AuthenticationError


def test_no_key_at_all_fails_before_any_request(live_server, monkeypatch):
    monkeypatch.delenv("VILVIK_API_KEY", raising=False)
    monkeypatch.delenv("VILVIK_KEY", raising=False)
    with client_for(live_server, None) as client:
        with pytest.raises(vilvik.AuthenticationError, match="VILVIK_API_KEY"):
            client.submissions.list().first_page()
        assert client._session is None
        assert client.health()["status"] == "ok"  # the one endpoint without a key


def test_a_key_without_the_scope_gets_insufficient_scope(live_server, api_user):
    email = f"scoped{time.monotonic_ns()}@example.com"
    live_server.command("create-account", email, "--credits", "10")
    created = live_server.command("create-key", email, "--scopes", "results:read")
    with client_for(live_server, created["api_key"]) as client:
        with pytest.raises(vilvik.InsufficientScopeError) as caught:
            client.submissions.create(SUM, **SMALL)
    assert caught.value.status == 403 and caught.value.required_scope == "submissions:write"


def test_an_account_without_credits_gets_insufficient_credits(live_server):
    created = live_server.command("create-account", f"poor{time.monotonic_ns()}@example.com", "--credits", "0")
    with client_for(live_server, created["api_key"]) as client:
        with pytest.raises(vilvik.InsufficientCreditsError) as caught:
            client.submissions.create(SUM, **SMALL)
    assert caught.value.status == 402 and "required" in caught.value.details


def test_a_bad_field_is_a_validation_error_naming_it(sdk):
    with pytest.raises(vilvik.ValidationError) as caught:
        sdk.submissions.create(SUM, **dict(SMALL, num_parents_mating=9))
    error = caught.value
    assert error.status == 422 and error.code == "validation_error"
    assert "num_parents_mating" in error.fields and "num_parents_mating" in error.message
    assert error.param == "num_parents_mating"
    assert error.doc_url.endswith("/docs/errors#validation_error") and error.doc_url in str(error)


def test_a_misspelt_field_is_named_with_a_suggestion(sdk):
    with pytest.raises(vilvik.ValidationError) as caught:
        sdk.submissions.create(SUM, **dict(SMALL, mutation_probabilty=0.1))
    assert caught.value.param == "mutation_probabilty"
    assert "did you mean mutation_probability?" in caught.value.message


def test_source_that_does_not_compile_is_a_validation_error(sdk):
    with pytest.raises(vilvik.ValidationError) as caught:
        sdk.submissions.create("def fitness_func(:\n", **SMALL)
    assert "fitness_func" in caught.value.fields


def test_a_run_over_a_size_ceiling_is_quota_exceeded(sdk):
    with pytest.raises(vilvik.QuotaExceededError) as caught:
        sdk.submissions.create(SUM, **dict(SMALL, sol_per_pop=5000))
    assert caught.value.status == 422


def test_a_missing_object_is_not_found(sdk):
    with pytest.raises(vilvik.NotFoundError) as caught:
        sdk.submissions.get("doesNotExist")
    assert caught.value.status == 404 and caught.value.code == "not_found"
    with pytest.raises(vilvik.NotFoundError):
        sdk.results.get("doesNotExist")


def test_every_api_error_is_a_vilvik_error_with_its_own_class():
    codes = ["invalid_json", "unauthenticated", "insufficient_credits", "insufficient_scope", "not_found",
             "method_not_allowed", "conflict", "idempotency_conflict", "payload_too_large",
             "unsupported_media_type", "validation_error", "quota_exceeded", "rate_limited", "concurrency_limit",
             "internal_error", "unavailable"]
    classes = [errors.class_for_code(code) for code in codes]
    assert len(set(classes)) == len(codes)
    assert all(issubclass(cls, vilvik.VilvikError) and cls is not vilvik.VilvikError for cls in classes)
    assert issubclass(vilvik.ConcurrencyLimitError, vilvik.RateLimitError)
    assert errors.class_for_code("a_code_from_2030") is vilvik.VilvikError


def test_an_unknown_error_code_becomes_the_base_class(fake_api, fake_client):
    fake_api.answer((418, {"X-Request-Id": "req_teapot"},
                     {"error": {"code": "teapot", "message": "I'm a teapot", "details": {"brew": "tea"}}}))
    with pytest.raises(vilvik.VilvikError) as caught:
        fake_client.account.get()
    error = caught.value
    assert type(error) is vilvik.VilvikError
    assert (error.status, error.code, error.message, error.details, error.request_id) == (
        418, "teapot", "I'm a teapot", {"brew": "tea"}, "req_teapot")


def test_a_body_that_is_not_ours_still_becomes_an_error(fake_api, fake_client):
    fake_api.answer((502, {"Content-Type": "text/html"}, b"<html>Bad Gateway</html>"))
    with pytest.raises(vilvik.VilvikError) as caught:
        fake_client.account.get()
    assert caught.value.status == 502 and caught.value.code is None and "Bad Gateway" in caught.value.message


def test_wait_keeps_polling_through_a_status_it_does_not_know(fake_api, fake_client):
    running = {"id": "abcDEF123456", "status": "running"}
    fake_api.answer((200, {}, running), (200, {}, dict(running, status="hibernating")),
                    (200, {}, dict(running, status="succeeded")))
    submission = vilvik.Submission.from_dict(dict(running, status="queued"), fake_client)
    seen = []
    submission.wait(timeout=10, poll_interval=0.01, progress=lambda s: seen.append(s.status))
    assert seen == ["running", "hibernating", "succeeded"]


def test_non_finite_fitness_strings_become_floats(fake_api, fake_client):
    fake_api.answer((200, {}, {"id": "r1", "best_solution_fitness": "Infinity",
                               "best_fitness_per_generation": ["-Infinity", 1.5, "NaN"],
                               "pareto_front": [[1, "Infinity"]]}))
    result = fake_client.results.get("r1")
    assert result.best_solution_fitness == math.inf
    first, middle, last = result.best_fitness_per_generation
    assert first == -math.inf and middle == 1.5 and math.isnan(last)
    assert result.pareto_front == [[1, math.inf]]
    assert result.raw["best_solution_fitness"] == "Infinity"
