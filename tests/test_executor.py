"""The executor run synchronously (burst mode): claim, run in the sandbox, store, until idle."""
import pytest

from conftest import SANDBOX_ALLOW_DEGRADED, Account
from vilvik_server import create_app

BODY = {"num_generations": 5, "sol_per_pop": 4, "num_genes": 3, "num_parents_mating": 2,
        "fitness_func": "def fitness_func(ga, sol, idx):\n    return float(sum(sol))\n"}


@pytest.fixture
def burst(tmp_path, monkeypatch):
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"WORKERS": 1, "LOG_LEVEL": "WARNING", "MAX_CPU_SECONDS": 5,
                      "SANDBOX_ALLOW_DEGRADED": SANDBOX_ALLOW_DEGRADED})
    executor = app.extensions["vilvik"].executor
    executor.start(dispatch=False)
    yield app, executor
    executor.stop(grace=0)


def test_it_runs_every_queued_submission_in_order_then_stops(burst):
    app, executor = burst
    client, owner = app.test_client(), Account(app, "burst@example.com")
    ids = [client.post("/api/v1/submissions", json=dict(BODY, name=f"n{i}"), headers=owner.headers)
           .get_json()["id"] for i in range(3)]
    assert {client.get(f"/api/v1/submissions/{i}", headers=owner.headers).get_json()["status"] for i in ids} == \
        {"queued"}
    executor.run_until_idle()
    finished = [client.get(f"/api/v1/submissions/{i}", headers=owner.headers).get_json() for i in ids]
    assert [s["status"] for s in finished] == ["succeeded"] * 3
    assert all(s["sandbox"] for s in finished)
