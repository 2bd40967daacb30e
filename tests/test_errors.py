"""Every failure path answers in the one error shape, with a request id."""
import json

import pytest

from vilvik_server.errors import VilvikError

BODY = {"num_generations": 10, "sol_per_pop": 4, "num_genes": 3, "num_parents_mating": 2,
        "fitness_func": "def fitness_func(ga, sol, idx): return sum(sol)\n"}


def assert_error(response, status, code):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    assert body["error"]["code"] == code
    assert body["error"]["doc_url"] == f"http://127.0.0.1:5000/docs/errors#{code}"
    assert "param" in body["error"]
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    assert body["error"]["request_id"] == response.headers["X-Request-Id"]
    return body["error"]


def test_an_unknown_route_is_not_found(client, owner):
    error = assert_error(client.get("/api/v1/nothing-here", headers=owner.headers), 404, "not_found")
    assert error["message"] == "no such route: GET /api/v1/nothing-here"


def test_an_unknown_object_is_not_found_by_name(client, owner):
    error = assert_error(client.get("/api/v1/submissions/abcDEF123456", headers=owner.headers), 404, "not_found")
    assert error["message"] == "no submission abcDEF123456"


@pytest.mark.parametrize("path", ["/api/v1//submissions", "/api/v1/submissions//abcDEF123456"])
def test_a_doubled_slash_is_no_route_rather_than_a_redirect(client, owner, path):
    error = assert_error(client.get(path, headers=owner.headers), 404, "not_found")
    assert error["message"].startswith("no such route")


@pytest.mark.parametrize("path", ["/api", "/api/", "/api/v2/submissions"])
def test_the_api_root_without_a_version_is_a_json_404_not_the_websites_page(client, owner, path):
    error = assert_error(client.get(path, headers=owner.headers), 404, "not_found")
    assert error["message"] == f"no such route: GET {path}"


def test_a_wrong_method_is_method_not_allowed(client, owner):
    assert_error(client.delete("/api/v1/submissions", headers=owner.headers), 405, "method_not_allowed")


@pytest.mark.parametrize("path,methods", [("/api/v1/submissions", {"GET", "HEAD", "OPTIONS", "POST"}),
                                          ("/api/v1/submissions/abcDEF123456", {"GET", "HEAD", "OPTIONS", "DELETE"}),
                                          ("/api/v1/health", {"GET", "HEAD", "OPTIONS"})])
def test_options_answers_no_content_with_the_allowed_methods(client, owner, path, methods):
    for headers in (owner.headers, {}):
        response = client.options(path, headers=headers)
        assert response.status_code == 204
        assert set(response.headers["Allow"].split(", ")) == methods
        assert response.get_data() == b"" and "Content-Type" not in response.headers   # not an empty HTML page
        assert response.headers["X-Request-Id"]
    refused = client.put(path, headers=owner.headers)   # the 405 names the same methods
    assert refused.status_code == 405 and set(refused.headers["Allow"].split(", ")) == methods


def test_options_on_an_unknown_route_is_not_found(client, owner):
    error = assert_error(client.options("/api/v1/nothing-here", headers=owner.headers), 404, "not_found")
    assert error["message"] == "no such route: OPTIONS /api/v1/nothing-here"


def test_a_body_that_is_not_json_is_invalid_json(client, owner):
    response = client.post("/api/v1/submissions", data="{not json", headers=owner.headers,
                           content_type="application/json")
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize("body,kind", [("null", "null"), ("[1, 2]", "an array"), ('"text"', "a string"),
                                       ("42", "a bare value"), ("true", "a bare value"), ("1.5", "a bare value")])
def test_json_that_is_not_an_object_is_a_validation_error_saying_so(client, owner, body, kind):
    response = client.post("/api/v1/submissions", data=body, headers=owner.headers, content_type="application/json")
    error = assert_error(response, 422, "validation_error")
    assert error["message"] == f"the body must be a JSON object, not {kind}"


def test_a_string_with_a_lone_surrogate_is_invalid_json(client, owner):
    body = '{"num_generations": 3, "fitness_func": "def f(a, b, c): return 1 # \\udad6"}'
    response = client.post("/api/v1/submissions", data=body, headers=owner.headers, content_type="application/json")
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize("encoded", [
    '{"num_generations": 3, "fitness_func": "# \\udad6"}'.encode("utf-16-le"),   # the escape, in UTF-16
    '{"num_generations": 3, "fitness_func": "# \\udad6"}'.encode("utf-32"),
    b'{"num_generations": 3, "fitness_func": "# \xed\xab\x96"}',                  # the surrogate's own bytes
])
def test_a_lone_surrogate_however_the_body_is_encoded_is_invalid_json(client, owner, encoded):
    response = client.post("/api/v1/submissions", data=encoded, headers=owner.headers, content_type="application/json")
    assert_error(response, 400, "invalid_json")
    assert "lone surrogate" in response.get_json()["error"]["message"]


def test_a_body_of_another_type_is_unsupported_media_type(client, owner):
    response = client.post("/api/v1/submissions", data="a=b", headers=owner.headers,
                           content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")


def test_a_body_over_the_limit_is_payload_too_large(client, owner):
    response = client.post("/api/v1/submissions", data=json.dumps({"name": "x" * 300_000}),
                           headers=owner.headers, content_type="application/json")
    assert_error(response, 413, "payload_too_large")


def test_a_missing_key_is_unauthenticated(client):
    assert_error(client.get("/api/v1/submissions"), 401, "unauthenticated")


def test_an_unknown_key_is_unauthenticated(client):
    headers = {"Authorization": "Bearer vk_not-a-real-key"}
    assert_error(client.get("/api/v1/submissions", headers=headers), 401, "unauthenticated")


def test_a_field_error_names_the_field(client, owner):
    body = dict(BODY, num_parents_mating=5)
    error = assert_error(client.post("/api/v1/submissions", json=body, headers=owner.headers), 422,
                         "validation_error")
    assert error["details"]["fields"]["num_parents_mating"] == ["must be <= sol_per_pop (4)"]
    assert "num_parents_mating" in error["message"]
    assert error["param"] == "num_parents_mating"


def test_a_nested_field_error_names_its_dotted_path(client, owner):
    error = assert_error(client.post("/api/v1/submissions", json=dict(BODY, limits={"cpu_seconds": "lots"}),
                                     headers=owner.headers), 422, "validation_error")
    assert error["param"] == "limits.cpu_seconds"


def test_a_metadata_error_names_the_key_it_concerns(client, owner):
    error = assert_error(client.post("/api/v1/submissions", json=dict(BODY, metadata={"team": 7}),
                                     headers=owner.headers), 422, "validation_error")
    assert error["param"] == "metadata.team" and error["message"] == "metadata.team: Not a valid string."
    assert error["details"]["fields"] == {"metadata": {"team": ["Not a valid string."]}}
    error = assert_error(client.post("/api/v1/submissions", json=dict(BODY, metadata={"": "x"}),
                                     headers=owner.headers), 422, "validation_error")
    assert error["param"] == "metadata" and error["message"] == "metadata: key '': length must be between 1 and 40."


def test_an_error_with_no_field_to_blame_has_a_null_param(client):
    assert_error(client.get("/api/v1/submissions"), 401, "unauthenticated")["param"] is None


def test_a_misspelt_field_makes_the_headline_with_a_suggestion(client, owner):
    body = {k: v for k, v in BODY.items() if k != "num_generations"}
    error = assert_error(client.post("/api/v1/submissions", json=dict(body, num_generation=3),
                                     headers=owner.headers), 422, "validation_error")
    assert error["message"] == "unknown field num_generation \N{EM DASH} did you mean num_generations?"
    assert error["param"] == "num_generation"
    assert error["details"]["fields"] == {"num_generation": ["Unknown field."],
                                          "num_generations": ["Missing data for required field."]}


def test_a_misspelt_nested_field_is_suggested_within_its_object(client, owner):
    error = assert_error(client.post("/api/v1/submissions", json=dict(BODY, limits={"cpu_second": 3}),
                                     headers=owner.headers), 422, "validation_error")
    assert error["message"] == "unknown field limits.cpu_second \N{EM DASH} did you mean cpu_seconds?"
    assert error["param"] == "limits.cpu_second"


def test_an_unknown_field_like_no_other_gets_no_suggestion(client, owner):
    error = assert_error(client.post("/api/v1/submissions", json=dict(BODY, zzz=1), headers=owner.headers),
                         422, "validation_error")
    assert error["message"] == "unknown field zzz"


def test_an_unknown_field_is_a_validation_error(client, owner):
    error = assert_error(client.post("/api/v1/submissions", json=dict(BODY, num_generation=3),
                                     headers=owner.headers), 422, "validation_error")
    assert "num_generation" in error["details"]["fields"]


def test_a_json_array_body_is_a_validation_error(client, owner):
    assert_error(client.post("/api/v1/submissions", json=[1, 2], headers=owner.headers), 422, "validation_error")


def test_a_limit_above_the_ceiling_is_quota_exceeded(client, owner):
    error = assert_error(client.post("/api/v1/submissions", json=dict(BODY, limits={"cpu_seconds": 10_000}),
                                     headers=owner.headers), 422, "quota_exceeded")
    assert error["details"]["quota"] == "limits.cpu_seconds"
    assert error["param"] == "limits.cpu_seconds"


def test_a_bad_query_parameter_is_a_validation_error(client, owner):
    error = assert_error(client.get("/api/v1/submissions?limit=1000", headers=owner.headers), 422,
                         "validation_error")
    assert "limit" in error["details"]["fields"]
    assert error["param"] == "limit"


def test_an_unexpected_exception_is_internal_error_without_a_trace(app, client, owner, caplog):
    @app.route("/api/v1/_boom")
    def boom():
        raise RuntimeError("secret detail")

    response = client.get("/api/v1/_boom", headers={**owner.headers, "X-Request-Id": "trace-me-123"})
    error = assert_error(response, 500, "internal_error")
    assert error["request_id"] == "trace-me-123"
    assert "secret detail" not in response.get_data(as_text=True)
    assert "trace-me-123" in caplog.text and "secret detail" in caplog.text


def test_an_insane_request_id_is_replaced(client):
    response = client.get("/api/v1/health", headers={"X-Request-Id": "bad id\twith spaces"})
    assert response.headers["X-Request-Id"].startswith("req_")


@pytest.mark.parametrize("error_class", VilvikError.__subclasses__())
def test_every_error_class_renders_the_documented_shape(app, error_class):
    with app.test_request_context("/api/v1/x"):
        from flask import g

        from vilvik_server.errors import render
        g.request_id = "r1"
        response = render(error_class())
        body = response.get_json()
    assert response.status_code == error_class.status
    assert body["error"]["code"] == error_class.code
    assert body["error"]["request_id"] == "r1"


def test_a_wrong_method_names_the_allowed_ones(client, owner):
    response = client.delete("/api/v1/submissions", headers=owner.headers)
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "POST"}


def test_a_missing_key_says_how_to_authenticate_before_looking_at_the_body(client):
    response = client.post("/api/v1/submissions", data="not json", content_type="text/plain")
    assert_error(response, 401, "unauthenticated")
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_only_a_refusal_that_means_it_says_retry_after(client, owner):
    conflict = client.get("/api/v1/submissions/none-such", headers=owner.headers)
    assert conflict.status_code == 404 and "Retry-After" not in conflict.headers
    assert "Retry-After" not in client.get("/api/v1/submissions", headers=owner.headers).headers


def test_every_error_code_has_a_section_on_the_served_errors_page(client):
    import re

    from vilvik_server import errors

    page = client.get("/docs/errors").get_data(as_text=True)
    anchors = set(re.findall(r'id="([a-z_]+)"', page))
    codes = {cls.code for cls in vars(errors).values() if isinstance(cls, type) and issubclass(cls, VilvikError)}
    assert codes <= anchors, codes - anchors
