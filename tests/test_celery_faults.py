"""EXECUTOR=celery under faults, with real processes: workers killed, the control plane killed,
Redis restarted, a worker on a machine without the whole sandbox."""
import json
import os
import signal
import sqlite3
import sys
import time

import pytest

from cluster import RedisServer, Worker, control_plane, heartbeats, kill_leftovers, user_of, wait_workers

LONG = "import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(0.01)\n    return float(sum(sol))\n"
QUICK = "def fitness_func(ga, sol, idx):\n    return float(sum(sol))\n"


@pytest.fixture(autouse=True)
def _clean_up():
    yield
    kill_leftovers()


@pytest.fixture
def broker(tmp_path):
    server = RedisServer(tmp_path / "redis").start()
    yield server
    server.stop(signal.SIGKILL)


def db_row(server, submission_id):
    conn = sqlite3.connect(os.path.join(server.instance, "vilvik.sqlite3"))
    try:
        return conn.execute("SELECT status, attempts FROM submissions WHERE id = ?", (submission_id,)).fetchone()
    finally:
        conn.close()


def ledger_kinds(user, submission_id):
    rows = user.get("/credits/ledger", params={"limit": 100}).json()["data"]
    return [r["kind"] for r in reversed(rows) if r["submission_id"] == submission_id]


def running_on(broker, submission_id, timeout=60, exclude=()):
    """The heartbeat of the live worker process running the submission."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for beat in heartbeats(broker).values():
            if beat["running"] and beat["running"][0] == submission_id and beat["pid"] not in exclude \
                    and time.time() - beat["seen"] < 3:
                return beat
        time.sleep(0.05)
    raise AssertionError(f"no worker reports running {submission_id}")


def wait_progress(user, submission_id, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        body = user.get(f"/submissions/{submission_id}").json()
        if body["status"] == "running" and body["progress"]["generations_completed"] > 0:
            return body
        time.sleep(0.05)
    raise AssertionError(f"{submission_id} never made progress")


def cluster(tmp_path, broker, workers=2, **settings):
    server = control_plane(tmp_path / "instance", broker.url, **settings).start()
    started = [Worker(tmp_path / "elsewhere", broker.url, f"w{i}@test").start() for i in range(1, workers + 1)]
    user = user_of(server)
    wait_workers(user, workers)
    return server, started, user


def worker_of(workers, beat):
    return next(w for w in workers if w.name == beat["node"])


def test_a_worker_killed_whole_mid_run_loses_it_to_another_worker_that_finishes_it_charged_once(tmp_path, broker):
    server, workers, user = cluster(tmp_path, broker)
    job = user.submit(LONG, num_generations=60, sol_per_pop=4, random_seed=5)
    wait_progress(user, job["id"])
    first = worker_of(workers, running_on(broker, job["id"]))
    first.kill(signal.SIGKILL)  # main process, pool process and zygote at once

    submission = user.wait(job["id"], timeout=120)
    assert submission["status"] == "succeeded"
    assert submission["progress"]["generations_completed"] == 60
    assert db_row(server, job["id"]) == ("succeeded", 2)  # its lease ran out; sent again as attempt 2
    survivor = next(w for w in workers if w is not first)
    assert f"submission {job['id']}: succeeded" in survivor.read_log()
    assert ledger_kinds(user, job["id"]) == ["reserve", "release", "charge"]


def test_a_pool_process_killed_mid_run_is_redelivered_by_celery_and_succeeds(tmp_path, broker):
    server, workers, user = cluster(tmp_path, broker, LEASE_SECONDS=30)
    job = user.submit(LONG, num_generations=60, sol_per_pop=4, random_seed=6)
    wait_progress(user, job["id"])
    os.kill(running_on(broker, job["id"])["pid"], signal.SIGKILL)

    submission = user.wait(job["id"], timeout=120)
    assert submission["status"] == "succeeded"
    # Same attempt: Celery gave the task back (reject_on_worker_lost), no lease had to run out.
    assert db_row(server, job["id"]) == ("succeeded", 1)
    assert ledger_kinds(user, job["id"]) == ["reserve", "release", "charge"]


def test_a_run_whose_worker_is_lost_twice_fails_with_worker_lost_and_costs_nothing(tmp_path, broker):
    server, workers, user = cluster(tmp_path, broker, LEASE_SECONDS=30)
    job = user.submit(LONG, num_generations=100000, sol_per_pop=4)
    killed = set()
    for _loss in range(2):
        beat = running_on(broker, job["id"], exclude=killed)
        wait_progress(user, job["id"])
        os.kill(beat["pid"], signal.SIGKILL)
        killed.add(beat["pid"])

    submission = user.wait(job["id"], timeout=120)
    assert submission["status"] == "failed"
    assert submission["error"]["code"] == "worker_lost"
    assert submission["credits_charged"] == 0
    assert ledger_kinds(user, job["id"]) == ["reserve", "refund"]
    assert user.run(QUICK)["status"] == "succeeded"  # the workers still take work


def test_outcomes_a_worker_reports_while_the_control_plane_is_down_are_stored_once_after_it_restarts(
        tmp_path, broker):
    server, workers, user = cluster(tmp_path, broker)
    jobs = [user.submit(LONG, num_generations=25, sol_per_pop=4, random_seed=i)["id"] for i in range(4)]
    for job in jobs[:2]:
        running_on(broker, job)
    server.stop(signal.SIGKILL)
    deadline = time.monotonic() + 60
    while any(b["running"] for b in heartbeats(broker).values()):  # the workers finish and report
        assert time.monotonic() < deadline
        time.sleep(0.1)
    assert broker.client().xlen("vilvik:reports") > 0

    server.start()
    finished = [user.wait(job, timeout=120) for job in jobs]
    assert [s["status"] for s in finished] == ["succeeded"] * 4
    for job in jobs:
        assert ledger_kinds(user, job) == ["reserve", "release", "charge"]
        assert len(user.get("/results", params={"submission_id": job}).json()["data"]) == 1
        assert db_row(server, job) == ("succeeded", 1)


def test_a_task_waiting_in_redis_survives_a_redis_restart(tmp_path, broker):
    server = control_plane(tmp_path / "instance", broker.url, LEASE_SECONDS=60).start()
    user = user_of(server)
    # A worker process that sent one heartbeat and went away: the control plane sends it a task,
    # which waits in Redis's queue since nobody consumes it.
    broker.client().hset("vilvik:workers", "gone@test/1", json.dumps({
        "node": "gone@test", "pid": 1, "seen": time.time(), "running": None, "accepting": True,
        "sandbox": {"mode": "full", "missing": []}}))
    job = user.submit(QUICK)
    deadline = time.monotonic() + 10
    while broker.client().llen("vilvik") == 0:
        assert time.monotonic() < deadline, "the task never reached the queue"
        time.sleep(0.05)
    assert db_row(server, job["id"]) == ("running", 1)

    broker.stop(signal.SIGTERM)
    broker.start()  # same port, same folder: it reloads its append-only file
    assert broker.client().llen("vilvik") == 1
    Worker(tmp_path / "elsewhere", broker.url, "w9@test").start()

    submission = user.wait(job["id"], timeout=120)
    assert submission["status"] == "succeeded"
    assert db_row(server, job["id"]) == ("succeeded", 1)  # the very task that was in Redis ran
    assert ledger_kinds(user, job["id"]) == ["reserve", "release", "charge"]


# A machine whose sandbox is not whole: no CAP_SYS_ADMIN (no namespaces, no private mount
# tree) and a Landlock stack already full (16 layers), so Landlock cannot confine a job either.
NO_SANDBOX = """
import ctypes, os, sys
from vilvik_sandbox import landlock, syscalls
for _ in range(16):
    attr = landlock._RulesetAttr(landlock.MAKE_BLOCK, 0, 0)
    landlock.enforce(syscalls.landlock_create_ruleset(ctypes.byref(attr), 24, 0))
os.execv(sys.argv[1], sys.argv[1:])
"""


def test_a_worker_without_the_whole_sandbox_takes_no_tasks_and_says_why(tmp_path, broker):
    syscalls_prefix = ["setpriv", "--no-new-privs", "--bounding-set", "-sys_admin", sys.executable, "-c", NO_SANDBOX]
    server = control_plane(tmp_path / "instance", broker.url).start()
    user = user_of(server)
    weak = Worker(tmp_path / "elsewhere", broker.url, "weak@test", prefix=syscalls_prefix).start()
    assert weak.process.wait(90) == 3
    log = weak.read_log()
    assert "this worker takes no tasks" in log
    assert "the sandbox is not whole on this machine" in log and "landlock" in log
    job = user.submit(QUICK)
    time.sleep(2)
    assert user.get("/health").json()["executor"]["workers"] == 0
    assert user.get(f"/submissions/{job['id']}").json()["status"] == "queued"
    assert broker.client().llen("vilvik") == 0


def test_a_forged_report_on_the_broker_is_checked_like_a_jobs_report_and_charges_nothing(tmp_path, broker):
    server = control_plane(tmp_path / "instance", broker.url, LEASE_SECONDS=60).start()
    user = user_of(server)
    client = broker.client()
    client.hset("vilvik:workers", "evil@test/1", json.dumps({
        "node": "evil@test", "pid": 1, "seen": time.time(), "running": None, "accepting": True,
        "sandbox": {"mode": "full", "missing": []}}))
    job = user.submit(QUICK, num_generations=5, sol_per_pop=4, num_genes=3)
    deadline = time.monotonic() + 10
    while db_row(server, job["id"]) != ("running", 1):
        assert time.monotonic() < deadline
        time.sleep(0.05)

    def forge(**message):
        client.xadd("vilvik:reports", {"m": json.dumps(dict(message, id=job["id"], attempt=1, worker="evil@test/1"))})

    forge(type="progress", generations_completed=10 ** 6, best_fitness=1.0, mean_fitness=1.0)  # past num_generations
    forge(type="outcome", status="succeeded", error=None, logs="", sandbox=[], progress=None, versions=None,
          usage={"cpu_seconds": 1e9, "wall_seconds": 1.0},  # more CPU than the run may use: refused
          result={"best_solution": [1, 2, 3], "best_solution_fitness": 6, "best_solution_idx": 0,
                  "best_solution_generation": 0, "generations_completed": 5, "best_fitness_per_generation": [6] * 6,
                  "mean_fitness_per_generation": [6] * 6, "last_generation_fitness": [6] * 4,
                  "population": [[1, 2, 3]] * 4, "stopped": False,
                  "random_state": {"numpy": ["MT19937", [0] * 624, 624, 0, 0.0],
                                   "python": [3, [0] * 624 + [624], None]}})
    submission = user.wait(job["id"], timeout=60)
    assert submission["status"] == "failed"
    assert submission["error"]["code"] == "internal_error"
    assert submission["progress"]["generations_completed"] == 0
    assert submission["credits_charged"] == 0
    assert user.get("/results", params={"submission_id": job["id"]}).json()["data"] == []
    log = server.read_log()
    assert "dropped invalid progress from evil@test/1" in log
    assert "the outcome from evil@test/1 is invalid: outcome: usage.cpu_seconds out of range" in log
