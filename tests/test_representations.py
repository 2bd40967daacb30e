"""Each resource's JSON is decided once (domain/represent*.py); the OpenAPI document must describe exactly that.

Real bodies, from real runs through the API, are checked against the document's schema of
their resource: no field the document leaves out, no declared field that no body ever
carries, and every value of its declared type. A change on either side alone fails here.
"""
import pytest

from conftest import SANDBOX_ALLOW_DEGRADED, Account
from vilvik_server import create_app

API = "/api/v1"
JOB = {"num_generations": 3, "sol_per_pop": 4, "num_genes": 2, "num_parents_mating": 2,
       "fitness_func": "def fitness_func(ga, sol, idx):\n    return float(sum(sol))\n"}
TWO_OBJECTIVES = dict(JOB, parent_selection_type="nsga2",
                      fitness_func="def fitness_func(ga, sol, idx):\n    return [float(sum(sol)), -float(sol[0])]\n")
FAILING = dict(JOB, fitness_func="def fitness_func(ga, sol, idx):\n    raise ValueError('no')\n")
TYPES = {"string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,), "array": (list,),
         "object": (dict,)}
# The API writes a non-finite fitness as a string, wherever a number may be.
NON_FINITE = ("NaN", "Infinity", "-Infinity")


def problems(value, schema, doc, path, seen):
    """Where `value` strays from the OpenAPI 3.0 `schema`; records in `seen` which properties appeared."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        return problems(value, doc["components"]["schemas"][name], doc, path, seen.setdefault(name, {}))
    for combined in ("oneOf", "anyOf"):
        if combined in schema:
            found = [problems(value, option, doc, path, {}) for option in schema[combined]]
            return [] if any(not f for f in found) else found[0]
    if value is None:
        return [] if schema.get("nullable") or "type" not in schema else [f"{path} is null"]
    expected = schema.get("type")
    if expected == "number" and value in NON_FINITE:
        return []
    if expected and (not isinstance(value, TYPES[expected]) or (expected != "boolean" and isinstance(value, bool))):
        return [f"{path} is {type(value).__name__}, documented {expected}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path} = {value!r} is not one of {schema['enum']}"]
    found = []
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += problems(item, schema["items"], doc, f"{path}[{i}]", seen.setdefault("[]", {}))
    if isinstance(value, dict) and "properties" in schema:
        for key, item in value.items():
            if key in schema["properties"]:
                seen.setdefault(key, {})
                found += problems(item, schema["properties"][key], doc, f"{path}.{key}", seen[key])
            elif schema.get("additionalProperties") is False:
                found.append(f"{path}.{key} is not in the document")
    return found


@pytest.fixture
def served(tmp_path, monkeypatch):
    """An app whose executor runs the queue in this thread, and an account on it."""
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"WORKERS": 1, "LOG_LEVEL": "WARNING", "MAX_CPU_SECONDS": 5,
                      "SANDBOX_ALLOW_DEGRADED": SANDBOX_ALLOW_DEGRADED})
    executor = app.extensions["vilvik"].executor
    executor.start(dispatch=False)
    yield app.test_client(), Account(app, "drift@example.com"), executor
    executor.stop(grace=0)


def test_every_body_the_api_sends_is_what_the_document_declares(served):
    client, owner, executor = served
    headers = owner.headers
    doc = client.get(f"{API}/openapi.json").get_json()
    bodies = []  # (schema name, body)

    def call(method, path, schema, **kwargs):
        response = getattr(client, method)(f"{API}{path}", headers=headers, **kwargs)
        assert response.status_code < 300, (path, response.get_json())
        body = response.get_json()
        for item in body["data"] if schema.endswith("List") else [body]:
            bodies.append((schema.removesuffix("List"), item))
        return body

    endpoint = call("post", "/webhooks", "Endpoint", json={"url": "http://127.0.0.1:9/hook"})
    call("get", "/webhooks", "EndpointList")
    call("post", f"/webhooks/{endpoint['id']}/test", "Delivery")
    call("get", f"/webhooks/{endpoint['id']}/deliveries", "DeliveryList")
    call("post", f"/webhooks/{endpoint['id']}/rotate-secret", "Endpoint")
    call("post", "/keys", "Key", json={"name": "ci"})
    call("get", "/keys", "KeyList")
    done = call("post", "/submissions", "Accepted", json=dict(JOB, webhook_url="http://127.0.0.1:9/one-off",
                                                             metadata={"k": "v"}))
    call("post", "/submissions", "Accepted", json=FAILING)
    call("post", "/submissions", "Accepted", json=TWO_OBJECTIVES)
    example = client.get(f"{API}/quick/problems", headers=headers).get_json()["data"][0]
    call("post", "/submissions", "Accepted", json={"type": "quick", "problem": example["name"],
                                                   "problem_params": example["example"], "num_generations": 3})
    executor.run_until_idle()
    call("post", f"/submissions/{done['id']}/continue", "Accepted", json={"num_generations": 2})
    call("get", f"/submissions/{done['id']}", "Submission", query_string={"include": "fitness_func"})
    call("get", "/submissions", "SubmissionList")
    call("get", "/results", "ResultList")
    call("get", "/credits/ledger", "LedgerEntryList")
    call("get", "/events", "EventList")
    call("get", "/account", "Account")

    seen, found = {}, []
    for name, body in bodies:
        found += problems(body, {"$ref": f"#/components/schemas/{name}"}, doc, name, seen)
    assert found == []
    never = sorted(f"{name}.{prop}" for name in {name for name, _ in bodies}
                   for prop in doc["components"]["schemas"][name].get("properties", {})
                   if prop not in seen.get(name, {}))
    assert never == [], f"declared, but no body carried them: {never}"
