"""EXECUTOR=celery end to end: a real Redis, a control plane and two workers, used as a user would."""
import json
import time

import pytest
import requests

from cluster import RedisServer, Worker, control_plane, kill_leftovers, stop_all, user_of, wait_workers
from conftest import OVERVIEW_BODY
from test_webhooks import receiver  # noqa: F401 - the fixture, shared with the in-process tests

SLOW = "import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(0.01)\n    return float(sum(sol))\n"
QUICK = "def fitness_func(ga, sol, idx):\n    return float(-sum((s - 0.3) ** 2 for s in sol))\n"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    folder = tmp_path_factory.mktemp("celery")
    broker = RedisServer(folder / "redis").start()
    server = control_plane(folder / "instance", broker.url, WEBHOOK_ALLOW_PRIVATE="true").start()
    workers = [Worker(folder / "elsewhere", broker.url, f"w{i}@test").start() for i in (1, 2)]
    user = user_of(server)
    wait_workers(user, 2)
    yield server, workers, user
    stop_all(server, *workers, broker)
    kill_leftovers()


def ledger_kinds(user, submission_id):
    rows = user.get("/credits/ledger", params={"limit": 100}).json()["data"]
    return [r["kind"] for r in reversed(rows) if r["submission_id"] == submission_id]


def test_health_shows_the_celery_executor_and_each_workers_sandbox(cluster):
    _server, _workers, user = cluster
    health = requests.get(user.server.api + "/health", timeout=10).json()
    assert health["executor"]["mode"] == "celery"
    assert health["executor"]["workers"] == 2
    assert sorted(n["name"] for n in health["executor"]["nodes"]) == ["w1@test", "w2@test"]
    assert {n["sandbox"] for n in health["executor"]["nodes"]} == {"full"}
    assert health["sandbox"]["mode"] == "full"


def test_the_overview_example_runs_on_a_worker_in_the_full_sandbox(cluster):
    server, workers, user = cluster
    response = user.session.post(server.api + "/submissions", data=OVERVIEW_BODY,
                                 headers={"Content-Type": "application/json", "Prefer": "wait=60"}, timeout=90)
    assert response.status_code == 200, response.text  # Prefer: wait answered with the finished run
    submission = response.json()
    assert submission["status"] == "succeeded"
    assert submission["progress"]["generations_completed"] == 10
    assert submission["sandbox"] == ["namespaces", "filesystem", "rlimits", "privileges", "no_new_privs", "landlock",
                                     "seccomp"]
    assert submission["usage"]["cpu_seconds"] > 0
    assert submission["credits_charged"] > 0
    result = user.get("/results", params={"submission_id": submission["id"]}).json()["data"][0]
    assert len(result["best_solution"]) == 3
    assert ledger_kinds(user, submission["id"]) == ["reserve", "release", "charge"]
    assert any(submission["id"] in w.read_log() for w in workers)


def test_progress_streams_as_server_sent_events_until_the_final_status(cluster):
    _server, _workers, user = cluster
    accepted = user.submit(SLOW, num_generations=60, sol_per_pop=4)
    events = []
    with user.session.get(user.server.api + f"/submissions/{accepted['id']}/events", stream=True, timeout=90) as stream:
        for line in stream.iter_lines(decode_unicode=True):
            if line.startswith("event:"):
                events.append(line.split(":", 1)[1].strip())
    assert "progress" in events
    assert events[-1] == "status"
    assert user.get(f"/submissions/{accepted['id']}").json()["status"] == "succeeded"


def test_cancelling_a_run_on_a_worker_stops_it_within_a_second_and_keeps_what_it_reached(cluster):
    _server, _workers, user = cluster
    accepted = user.submit(SLOW, num_generations=5000, sol_per_pop=4, random_seed=3)
    user.wait_status(accepted["id"], "running")
    deadline = time.monotonic() + 30
    while user.get(f"/submissions/{accepted['id']}").json()["progress"]["generations_completed"] == 0:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    started = time.monotonic()
    response = user.post(f"/submissions/{accepted['id']}/cancel")
    assert time.monotonic() - started < 2.0
    assert response.status_code == 200
    submission = response.json()
    assert submission["status"] == "cancelled"
    assert 0 < submission["progress"]["generations_completed"] < 5000
    assert submission["credits_charged"] > 0
    result = user.get("/results", params={"submission_id": accepted["id"]}).json()["data"][0]
    assert result["generations_completed"] == submission["progress"]["generations_completed"]
    assert ledger_kinds(user, accepted["id"]) == ["reserve", "release", "charge"]


def test_a_continuation_on_workers_is_bit_identical_to_one_long_run(cluster):
    _server, _workers, user = cluster
    params = dict(sol_per_pop=6, num_genes=4, num_parents_mating=2, random_seed=11)
    whole = user.run(QUICK, num_generations=20, **params)
    first = user.run(QUICK, num_generations=12, **params)
    assert whole["status"] == first["status"] == "succeeded"
    continued = user.post(f"/submissions/{first['id']}/continue", {"num_generations": 8})
    assert continued.status_code == 202, continued.text
    second = user.wait(continued.json()["id"])
    assert second["status"] == "succeeded"
    one = user.get("/results", params={"submission_id": whole["id"]}).json()["data"][0]
    two = user.get("/results", params={"submission_id": second["id"]}).json()["data"][0]
    for name in ("best_solution", "best_solution_fitness", "population", "last_generation_fitness"):
        assert json.dumps(one[name]) == json.dumps(two[name]), name


def test_a_batch_of_forty_jobs_all_succeed_on_two_workers_each_charged_once(cluster):
    _server, workers, user = cluster
    ids = [user.submit(QUICK, num_generations=30, sol_per_pop=8, random_seed=i)["id"] for i in range(40)]
    finished = [user.wait(i, timeout=300) for i in ids]
    assert [s["status"] for s in finished] == ["succeeded"] * 40
    rows = []
    cursor = None
    while True:
        page = user.get("/credits/ledger", params={"limit": 100, **({"cursor": cursor} if cursor else {})}).json()
        rows += page["data"]
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    charges = [r["submission_id"] for r in rows if r["kind"] == "charge" and r["submission_id"] in ids]
    assert sorted(charges) == sorted(ids)
    assert all(any(i in w.read_log() for i in ids) for w in workers), "both workers took part"


def test_a_webhook_goes_out_when_a_worker_finishes_a_run(cluster, receiver):  # noqa: F811
    _server, _workers, user = cluster
    target = receiver()
    accepted = user.submit(QUICK, webhook_url=target.url)
    assert user.wait(accepted["id"])["status"] == "succeeded"
    types = [json.loads(r["body"])["type"] for r in target.wait_for(2)]
    assert sorted(types) == ["result.completed", "submission.started"]  # sent concurrently, in either order
