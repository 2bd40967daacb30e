"""The OpenAPI document: valid, named, and declaring every status code the code can answer.

The error statuses an operation can return are derived here from the code itself: the
view, its decorators and every function of the server they call are read (their syntax
trees), and each VilvikError class they name counts; so do the checks every request with
a body goes through. A new `raise errors.Conflict(...)` in a service function fails this
test until the operation declares 409.
"""
import ast
import inspect
import json
import re
import textwrap

import pytest
from openapi_spec_validator import validate as validate_spec

from conftest import OVERVIEW_BODY
from openapi_check import DocumentCheck, _Request, path_item, server_path
from vilvik_server import errors, http
from vilvik_server.errors import VilvikError

METHODS = ("get", "post", "put", "patch", "delete")
# Translations of the framework's own exceptions (flask-smorest's 422, routing's 404), not
# raises: the statuses they can produce are declared by the rules they stand for.
NOT_RAISES = {errors.from_http_exception, errors.render}


@pytest.fixture
def document(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.get_json()


def operations(document):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def test_the_document_is_valid_openapi(document):
    validate_spec(document)
    assert document["openapi"].startswith("3.0")
    # relative: the playground calls whichever host served it; the paths are relative to it
    assert document["servers"] == [{"url": "/api/v1"}]
    assert all(not path.startswith("/api/") for path in document["paths"])


def test_every_operation_has_a_unique_short_verb_noun_id(document):
    ids = [op.get("operationId") for _, _, op in operations(document)]
    assert all(ids), [f"{m} {p}" for p, m, op in operations(document) if not op.get("operationId")]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+){1,3}", i) for i in ids), ids
    assert {"create_submission", "get_submission", "list_submissions", "cancel_submission", "continue_submission",
            "delete_submission", "list_results", "get_result", "get_health", "get_account"} <= set(ids)


def _view_functions(app):
    """(OpenAPI path, method) -> the view function flask-smorest registered."""
    views = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        view_class = getattr(view, "view_class", None)
        if view_class is None or not rule.rule.startswith("/api/v1/"):
            continue
        path = re.sub(r"<(?:[^:>]+:)?([^>]+)>", r"{\1}", rule.rule)
        for method in METHODS:
            if hasattr(view_class, method):
                views[(path, method)] = getattr(view_class, method)
    return views


def _resolve(node, namespace):
    """The object an expression names (`errors.NotFound`, `lifecycle.cancel`, `authenticate`), or None."""
    if isinstance(node, ast.Name):
        return namespace.get(node.id)
    if isinstance(node, ast.Attribute):
        base = _resolve(node.value, namespace)
        if inspect.ismodule(base) or inspect.isclass(base):
            return getattr(base, node.attr, None)
    return None


def raised_statuses(function, seen=None):
    """Every status of a VilvikError the function, the decorators around it and the server code they call name."""
    seen = set() if seen is None else seen
    statuses = set()
    while function is not None:
        if function in seen or function in NOT_RAISES or not function.__module__.startswith("vilvik_server"):
            function = getattr(function, "__wrapped__", None)
            continue
        seen.add(function)
        namespace = dict(function.__globals__)
        namespace.update(inspect.getclosurevars(function).nonlocals)
        for node in ast.walk(ast.parse(textwrap.dedent(inspect.getsource(function)))):
            target = _resolve(node, namespace)
            if inspect.isclass(target) and issubclass(target, VilvikError) and target is not VilvikError:
                statuses.add(target.status)
            elif inspect.isfunction(target):
                statuses |= raised_statuses(target, seen)
        function = getattr(function, "__wrapped__", None)
    return statuses


def test_the_walk_finds_what_a_service_function_raises():
    from vilvik_server import lifecycle

    assert {404, 409} <= raised_statuses(lifecycle.cancel)


def test_every_operation_declares_every_status_its_code_can_return(app, document):
    views = _view_functions(app)
    body_checks = raised_statuses(http._check_json_body)
    missing = {}
    for path, method, operation in operations(document):
        view = views[(server_path(document) + path, method)]   # the URL the operation answers at
        can_return = raised_statuses(view) - {500}
        if method.upper() in http.BODY_METHODS:
            can_return |= body_checks
        if getattr(view, "_apidoc", {}).get("arguments"):
            can_return.add(422)   # flask-smorest refuses a body or query string that fails its schema
        if operation.get("security") != []:
            can_return.add(429)   # every request with a key is counted by the rate limiter
        declared = {int(status) for status in operation["responses"] if status != "default"}
        if can_return - declared:
            missing[operation["operationId"]] = sorted(can_return - declared)
        assert "default" in operation["responses"]
    assert not missing


def test_each_error_response_is_the_error_schema_with_its_headers(document):
    responses = document["components"]["responses"]
    for path, method, operation in operations(document):
        for status, response in operation["responses"].items():
            if status == "default" or int(status) >= 400:
                name = response["$ref"].split("/")[-1]
                content = responses[name]["content"]["application/json"]["schema"]
                assert content == {"$ref": "#/components/schemas/ErrorResponse"}
                assert "X-Request-Id" in responses[name]["headers"]
    assert {"Retry-After"} <= set(responses["TooManyRequests"]["headers"]) & set(responses["Unavailable"]["headers"])
    error = document["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "message", "param", "doc_url", "request_id"}
    assert "details" in error["properties"]


def test_success_responses_declare_their_headers(document):
    create = path_item(document, "/api/v1/submissions")["post"]
    assert {"Location", "Preference-Applied", "Idempotent-Replayed", "X-Request-Id", "X-RateLimit-Limit",
            "X-RateLimit-Remaining", "X-RateLimit-Reset"} <= set(create["responses"]["202"]["headers"])
    assert [p["$ref"].split("/")[-1] for p in create["parameters"]] == ["Prefer", "Idempotency-Key"]
    assert "example" not in document["components"]["parameters"]["Prefer"]   # the playground would send it
    health = path_item(document, "/api/v1/health")["get"]
    assert health["security"] == [] and set(health["responses"]["200"]["headers"]) == {"X-Request-Id"}


def test_nothing_of_the_framework_leaks_into_the_document(document):
    text = json.dumps(document)
    assert "_ErrorBody" not in text and "PaginationMetadata" not in text and "UNPROCESSABLE_ENTITY" not in text
    for name, schema in document["components"]["schemas"].items():
        assert not name.startswith("_"), name


def test_no_enum_is_written_inline_with_null(document):
    assert document["components"]["schemas"].pop("Null") == {"nullable": True, "enum": [None], "description": "null"}

    def walk(node, where):
        if isinstance(node, dict):
            assert not (None in node.get("enum", ())), where
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")
    walk(document, "")


def _response_schemas(document):
    """Names of the schemas the responses use, nested ones included."""
    schemas, found, todo = document["components"]["schemas"], set(), []
    for _, _, operation in operations(document):
        for status, response in operation["responses"].items():
            todo += re.findall(r'"#/components/schemas/([A-Za-z]+)"', json.dumps(response))
    for name in document["components"]["responses"]:
        todo += re.findall(r'"#/components/schemas/([A-Za-z]+)"', json.dumps(document["components"]["responses"]))
    while todo:
        name = todo.pop()
        if name not in found:
            found.add(name)
            todo += re.findall(r'"#/components/schemas/([A-Za-z]+)"', json.dumps(schemas[name]))
    return found


def test_response_objects_allow_new_fields_and_list_what_they_always_send(document):
    schemas = document["components"]["schemas"]
    objects = [name for name in _response_schemas(document) if schemas[name].get("type") == "object"
               and name not in ("GeneRange", "RunLimits")]   # shared with requests, where they stay strict
    assert {"Submission", "Result", "Progress", "Usage", "Params", "Error", "Account"} <= set(objects)
    for name in objects:
        assert schemas[name].get("additionalProperties", True) is not False, name
        assert schemas[name].get("required"), name
    submission = schemas["Submission"]
    assert {"id", "status", "progress", "usage", "limits", "params", "error", "created_at"} <= set(
        submission["required"])
    assert "#/components/schemas/RunLimits" in json.dumps(submission["properties"]["limits"])
    for name in ("progress", "usage", "params", "versions", "error"):
        text = json.dumps(submission["properties"][name])
        assert "#/components/schemas/" in text, name


def test_request_bodies_stay_strict_and_carry_an_example(document):
    for path, method, operation in operations(document):
        if "requestBody" not in operation:
            continue
        content = operation["requestBody"]["content"]["application/json"]
        name = content["schema"]["$ref"].split("/")[-1]
        assert document["components"]["schemas"][name]["additionalProperties"] is False, name
        assert content.get("example"), operation["operationId"]


def test_the_playground_default_body_is_the_overviews_and_is_accepted(client, owner, document):
    example = path_item(document, "/api/v1/submissions")["post"]["requestBody"]["content"]["application/json"][
        "example"]
    assert example == json.loads(OVERVIEW_BODY)
    response = client.post("/api/v1/submissions", json=example, headers=owner.headers)
    assert response.status_code == 202, response.get_data(as_text=True)


def test_every_timestamp_is_a_date_time(document):
    for name, schema in document["components"]["schemas"].items():
        for field, prop in schema.get("properties", {}).items():
            if field.endswith("_at"):
                assert prop.get("format") == "date-time", f"{name}.{field}"


def test_typed_pygad_unions(document):
    schemas = document["components"]["schemas"]
    params = schemas["Params"]["properties"]
    assert params["mutation_num_genes"]["anyOf"][0] == {"type": "integer"}
    assert params["gene_type"]["$ref"] == "#/components/schemas/GeneType"
    null = {"$ref": "#/components/schemas/Null"}
    assert params["gene_space"]["anyOf"] == [{"$ref": "#/components/schemas/GeneSpace"}, null]
    assert params["mutation_num_genes"]["anyOf"][-1] == null
    create = schemas["SubmissionCreate"]["properties"]
    for name in ("crossover_type", "mutation_type"):
        assert create[name]["anyOf"][1] == null and create[name]["anyOf"][0]["$ref"].endswith("Type"), name
    assert params["crossover_type"]["$ref"] == "#/components/schemas/CrossoverType"
    fitness = json.dumps(schemas["Result"]["properties"]["best_solution_fitness"])
    assert "#/components/schemas/Fitness" in fitness
    assert "NonFiniteNumber" in json.dumps(schemas["Fitness"])


def test_the_csv_and_the_event_stream_are_declared(document):
    result = path_item(document, "/api/v1/results/{result_id}")["get"]["responses"]["200"]["content"]
    assert set(result) == {"application/json", "text/csv"}
    csv = path_item(document, "/api/v1/results/{result_id}/history.csv")["get"]["responses"]["200"]["content"]
    assert set(csv) == {"text/csv"}
    events = path_item(document, "/api/v1/submissions/{submission_id}/events")["get"]["responses"]["200"]["content"]
    assert set(events) == {"text/event-stream"}


def test_the_response_check_refuses_what_the_document_does_not_say(document):
    from flask import Response
    from openapi_core.contrib.werkzeug import WerkzeugOpenAPIResponse

    check = DocumentCheck(document)
    request = _Request("http://localhost", "/api/v1/health", "GET")

    def run(status, body):
        response = Response(body, status=status, mimetype="application/json")
        check.check("/api/v1/health", "GET", status, "application/json", response.get_data(), request,
                    WerkzeugOpenAPIResponse(response))

    run(200, json.dumps({"status": "ok", "version": "1", "queue": {"queued": 0, "running": 0},
                         "sandbox": {"mode": "full", "layers": {}, "missing": []}, "executor": {"mode": "local"},
                         "new_field": 1}))
    with pytest.raises(AssertionError, match="breaks the document"):
        run(200, json.dumps({"status": "ok"}))
    with pytest.raises(AssertionError, match="does not declare"):
        run(404, json.dumps({"error": {"code": "not_found"}}))


def test_a_view_dumped_through_its_schema_keeps_a_field_the_schema_does_not_name_yet():
    from vilvik_server.api.schemas import KeySchema

    body = {"id": "k", "object": "api_key", "name": "", "prefix": "vk_1", "scopes": ["keys:write"],
            "created_at": "2026-01-01T00:00:00Z", "last_used_at": None, "added_later": {"x": 1}}
    assert KeySchema().dump(body) == body



def test_every_header_a_live_response_carries_is_declared(client, owner, document):
    response = client.get("/api/v1/submissions", headers=owner.headers)
    assert response.status_code == 200
    headers = path_item(document, "/api/v1/submissions")["get"]["responses"]["200"]["headers"]
    sent = {name.lower() for name in response.headers.keys() if name.lower().startswith("x-")}
    assert sent <= {name.lower() for name in headers}, sent
    scope = headers["X-RateLimit-Scope"]
    scope = document["components"]["headers"][scope["$ref"].split("/")[-1]] if "$ref" in scope else scope
    assert response.headers["X-RateLimit-Scope"] in scope["schema"]["enum"] == ["key", "account"]
