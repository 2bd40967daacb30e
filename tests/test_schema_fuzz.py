"""Schema fuzzing: schemathesis drives the real server from its own OpenAPI document.

No generated request may get a 5xx or a response that breaks the documented schema.
The number of examples per operation is bounded so the suite stays fast.
"""
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from conftest import ApiUser, LiveServer

CHECKS = [schemathesis.checks.not_a_server_error, schemathesis.checks.response_schema_conformance,
          schemathesis.checks.status_code_conformance]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory):
    # Generated webhook URLs name random hosts: this server sends no deliveries, so it
    # never looks one up.
    server = LiveServer(tmp_path_factory.mktemp("fuzz") / "instance", {
        "WORKERS": 1, "MAX_CPU_SECONDS": 2, "MAX_WALL_SECONDS": 5, "WEBHOOK_DELIVERY": "false"}).start()
    user = ApiUser(server, server.command("create-account", "fuzz@example.com", "--credits", "100000")["api_key"])
    user.run("def fitness_func(ga, sol, idx):\n    return 1.0\n")  # something to find
    yield schemathesis.openapi.from_url(server.api + "/openapi.json"), user
    server.stop()


def test_no_generated_request_breaks_the_server_or_its_schema(fuzzed):
    schema, user = fuzzed
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 8
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {user.key}"}, checks=CHECKS)
        check()
