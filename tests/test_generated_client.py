"""A client generated from the live document by openapi-python-client, used as a stranger would.

The generator is strict: it warns about anything it cannot type. The document must give
it nothing to warn about, and the client it writes must carry a run from submission to
its result (JSON and CSV), page through a list, and hand back typed errors. Every response
the generated client gets is also checked against the document.
"""
import datetime
import importlib
import json
import os
import subprocess
import sys
import time

import pytest
import requests

from conftest import LiveServer
from openapi_check import DocumentCheck, _Request, path_item

PACKAGE = "vilvik_generated_client"


class _HttpxResponse:
    """An httpx response as openapi-core reads one."""

    def __init__(self, response):
        self.data, self.status_code, self.headers = response.content, response.status_code, response.headers
        self.content_type = response.headers.get("Content-Type", "").split(";")[0].strip()


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """(the generated package, a live server, an API key, the document)."""
    server = LiveServer(tmp_path_factory.mktemp("generated") / "instance", {"WORKERS": 2}).start()
    key = server.command("create-account", "generated@example.com", "--credits", "1000")["api_key"]
    document = requests.get(server.api + "/openapi.json", timeout=30).json()
    out = tmp_path_factory.mktemp("client")
    path = out / "openapi.json"
    path.write_text(json.dumps(document))
    bin_dir = os.path.dirname(sys.executable)
    generator = subprocess.run(
        [os.path.join(bin_dir, "openapi-python-client"), "generate", "--path", str(path), "--meta", "none",
         "--output-path", str(out / PACKAGE)],
        capture_output=True, text=True, timeout=300, env=dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}"))
    output = generator.stdout + generator.stderr
    assert generator.returncode == 0, output
    assert "warning" not in output.lower() and "error" not in output.lower(), output
    sys.path.insert(0, str(out))
    try:
        yield importlib.import_module(PACKAGE), server, key, document
    finally:
        sys.path.remove(str(out))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]
        server.stop()


def _import(package, name):
    return importlib.import_module(f"{package.__name__}.{name}")


@pytest.fixture(scope="module")
def client(generated):
    package, server, key, document = generated
    check = DocumentCheck(document)

    def checked(response):
        response.read()
        url = response.request.url
        check.check(url.path, response.request.method, response.status_code,
                    response.headers.get("Content-Type", "").split(";")[0].strip(), response.content,
                    _Request(f"{url.scheme}://{url.netloc.decode()}", url.path, response.request.method),
                    _HttpxResponse(response))

    with package.AuthenticatedClient(base_url=server.api, token=key, raise_on_unexpected_status=True,
                                     httpx_args={"event_hooks": {"response": [checked]}}) as client:
        yield client


def test_a_run_goes_from_create_to_its_result_through_the_generated_client(generated, client):
    package, _, _, document = generated
    submissions = _import(package, "api.submissions")
    models = _import(package, "models")
    example = path_item(document, "/api/v1/submissions")["post"]["requestBody"]["content"]["application/json"][
        "example"]
    from importlib import import_module
    create = import_module(f"{submissions.__name__}.create_submission")
    get = import_module(f"{submissions.__name__}.get_submission")
    accepted = create.sync(client=client, body=models.SubmissionCreate.from_dict(example))
    assert isinstance(accepted, models.Accepted)
    assert accepted.status in (models.SubmissionStatus.QUEUED, models.SubmissionStatus.RUNNING)
    assert isinstance(accepted.created_at, datetime.datetime)

    deadline = time.monotonic() + 60
    while True:
        submission = get.sync(client=client, submission_id=accepted.id)
        if submission.status in (models.SubmissionStatus.SUCCEEDED, models.SubmissionStatus.FAILED):
            break
        assert time.monotonic() < deadline, submission
        time.sleep(0.1)
    assert submission.status == models.SubmissionStatus.SUCCEEDED, submission.error
    assert isinstance(submission.progress, models.Progress) and submission.progress.generations_completed == 10
    assert isinstance(submission.params, models.Params) and submission.params.num_generations == 10
    assert submission.params.crossover_type == models.CrossoverType.SINGLE_POINT
    assert isinstance(submission.usage, models.Usage) and submission.usage.cpu_seconds >= 0
    assert isinstance(submission.limits, models.RunLimits) and submission.limits.cpu_seconds > 0
    assert isinstance(submission.versions, models.Versions) and submission.versions.pygad
    assert submission.error is None and isinstance(submission.finished_at, datetime.datetime)

    results = import_module(f"{package.__name__}.api.results.list_results")
    listed = results.sync(client=client, submission_id=accepted.id)
    assert isinstance(listed, models.ResultList) and len(listed.data) == 1
    get_result = import_module(f"{package.__name__}.api.results.get_result")
    result = get_result.sync(client=client, result_id=listed.data[0].id)
    assert isinstance(result, models.Result) and result.submission_id == accepted.id
    assert isinstance(result.best_solution_fitness, float) and len(result.best_solution) == 3
    assert len(result.best_fitness_per_generation) == 11
    csv = import_module(f"{package.__name__}.api.results.get_result_csv").sync(client=client, result_id=result.id)
    lines = csv.strip().splitlines()
    assert lines[0] == "generation,best_fitness,mean_fitness" and len(lines) == 12
    assert float(lines[-1].split(",")[1]) == result.best_fitness_per_generation[-1]


def test_a_list_pages_through_the_generated_client(generated, client):
    package, _, _, document = generated
    from importlib import import_module
    models = _import(package, "models")
    create = import_module(f"{package.__name__}.api.submissions.create_submission")
    listing = import_module(f"{package.__name__}.api.submissions.list_submissions")
    body = models.SubmissionCreate(num_generations=1, num_parents_mating=2, sol_per_pop=4, num_genes=2,
                                   fitness_func="def fitness_func(ga, sol, idx): return 1.0\n",
                                   name="page me")
    made = [create.sync(client=client, body=body).id for _ in range(3)]
    first = listing.sync(client=client, limit=2, name="page me")
    assert isinstance(first, models.SubmissionList) and first.has_more and len(first.data) == 2
    second = listing.sync(client=client, limit=2, name="page me", cursor=first.next_cursor)
    assert not second.has_more and second.next_cursor is None
    assert [s.id for s in first.data + second.data] == made[::-1]


def test_an_idempotent_retry_is_replayed_through_the_generated_client(generated, client):
    package, _, _, _ = generated
    from importlib import import_module
    models = _import(package, "models")
    create = import_module(f"{package.__name__}.api.submissions.create_submission")
    body = models.SubmissionCreate(num_generations=1, num_parents_mating=2, sol_per_pop=4, num_genes=2,
                                   fitness_func="def fitness_func(ga, sol, idx): return 1.0\n")
    first = create.sync_detailed(client=client, body=body, idempotency_key="gen-client-1")
    again = create.sync_detailed(client=client, body=body, idempotency_key="gen-client-1")
    assert first.parsed.id == again.parsed.id
    assert again.headers["Idempotent-Replayed"] == "true" and first.headers["Location"].endswith(first.parsed.id)


def test_errors_come_back_typed_through_the_generated_client(generated, client):
    package, _, _, _ = generated
    from importlib import import_module
    models = _import(package, "models")
    get = import_module(f"{package.__name__}.api.submissions.get_submission")
    missing = get.sync_detailed(client=client, submission_id="abcDEF123456")
    assert missing.status_code == 404 and isinstance(missing.parsed, models.ErrorResponse)
    assert missing.parsed.error.code == "not_found" and missing.parsed.error.param is None
    assert missing.parsed.error.doc_url.endswith("/docs/errors#not_found")

    create = import_module(f"{package.__name__}.api.submissions.create_submission")
    body = models.SubmissionCreate(num_generations=5, num_parents_mating=9, sol_per_pop=4, num_genes=2,
                                   fitness_func="def fitness_func(ga, sol, idx): return 1.0\n")
    refused = create.sync_detailed(client=client, body=body)
    assert refused.status_code == 422 and isinstance(refused.parsed, models.ErrorResponse)
    error = refused.parsed.error
    assert (error.code, error.param) == ("validation_error", "num_parents_mating")
    assert error.details.additional_properties["fields"]["num_parents_mating"] == ["must be <= sol_per_pop (4)"]
    assert error.request_id == refused.headers["X-Request-Id"]
