"""Stopping and crashing: SIGTERM re-queues or finishes; runs lost with a killed server run again."""
import os
import signal
import sqlite3
import time

from conftest import ApiUser, LiveServer

SLOW = "import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(0.05)\n    return float(sum(sol))\n"


def status_in_db(server, submission_id):
    conn = sqlite3.connect(f"{server.instance}/vilvik.sqlite3")
    try:
        return conn.execute("SELECT status, attempts FROM submissions WHERE id = ?", (submission_id,)).fetchone()
    finally:
        conn.close()


def test_sigterm_requeues_a_run_that_does_not_finish_in_the_grace_period(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 1, "SHUTDOWN_GRACE_SECONDS": 0.5}).start()
    user = ApiUser(server, server.command("create-account", "a@example.com", "--credits", "100")["api_key"])
    accepted = user.submit(SLOW, num_generations=30, sol_per_pop=4)
    user.wait_status(accepted["id"], "running")
    assert server.stop(signal.SIGTERM) == 0
    assert status_in_db(server, accepted["id"]) == ("queued", 0)
    assert "re-queued (server stopping)" in server.read_log()

    server.start()
    try:
        assert user.wait(accepted["id"], timeout=120)["status"] == "succeeded"
    finally:
        server.stop()


def test_a_requeued_run_shows_no_progress_until_its_new_attempt_makes_some(app, client, owner):
    from vilvik_server.store import submissions as store

    body = {"num_generations": 30, "sol_per_pop": 4, "num_genes": 3, "num_parents_mating": 2,
            "fitness_func": "def fitness_func(ga, sol, idx):\n    return 1.0\n"}
    accepted = client.post("/api/v1/submissions", json=body, headers=owner.headers).get_json()
    for stop in ("sigterm", "lost"):  # the server stopping, then a server lost under it
        with app.extensions["vilvik"].db.transaction() as conn:
            claimed = store.claim_next(conn, 4, owner="gone:1", lease_until="2000-01-01T00:00:00Z")
            assert claimed["id"] == accepted["id"]
            store.record_progress(conn, claimed["id"], 12, 3.5, 2.5)
            if stop == "sigterm":
                assert store.requeue(conn, claimed["id"], attempt=claimed["attempts"])
            else:
                assert store.recover_orphans(conn)[0] == [claimed["id"]]
        shown = client.get(f"/api/v1/submissions/{accepted['id']}", headers=owner.headers).get_json()
        assert shown["status"] == "queued" and shown["started_at"] is None
        assert shown["progress"] == {"generations_completed": 0, "num_generations": 30, "best_fitness": None,
                                     "mean_fitness": None, "updated_at": None}, stop


def test_sigterm_lets_a_short_run_finish(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 1, "SHUTDOWN_GRACE_SECONDS": 30}).start()
    user = ApiUser(server, server.command("create-account", "a@example.com", "--credits", "100")["api_key"])
    accepted = user.submit(SLOW, num_generations=10, sol_per_pop=4)
    user.wait_status(accepted["id"], "running")
    assert server.stop(signal.SIGTERM) == 0
    assert status_in_db(server, accepted["id"])[0] == "succeeded"


def test_a_run_lost_with_a_killed_server_runs_again_and_fails_after_a_second_loss(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 1}).start()
    user = ApiUser(server, server.command("create-account", "a@example.com", "--credits", "100")["api_key"])
    forever = user.submit(SLOW, num_generations=100000, sol_per_pop=4)
    user.wait_status(forever["id"], "running")
    server.stop(signal.SIGKILL)
    assert status_in_db(server, forever["id"]) == ("running", 1)

    server.start()  # first loss: re-queued and run again
    user.wait_status(forever["id"], "running")
    assert status_in_db(server, forever["id"]) == ("running", 2)
    server.stop(signal.SIGKILL)

    server.start()  # second loss: failed with worker_lost, nothing charged
    try:
        submission = user.get(f"/submissions/{forever['id']}").json()
        assert submission["status"] == "failed"
        assert submission["error"]["code"] == "worker_lost"
        assert submission["credits_charged"] == 0
        # and the server still runs new work
        assert user.run("def fitness_func(ga, sol, idx):\n    return 1.0\n")["status"] == "succeeded"
    finally:
        server.stop()


def descendants(pid):
    """The processes under `pid` (pid -> start time), from /proc/<pid>/task/*/children: only our own tree."""
    found, todo = {}, [pid]
    while todo:
        parent = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{parent}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{parent}/task/{task}/children") as handle:
                    children = [int(child) for child in handle.read().split()]
            except OSError:
                continue
            for child in children:
                started = _start_time(child)
                if started is not None:
                    found[child] = started
                    todo.append(child)
    return found


def _start_time(pid):
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return int(handle.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def still_running(pid, started):
    """The same process (not a reused pid), and not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return False
    return fields[0] != "Z" and int(fields[19]) == started


def test_jobs_die_with_a_killed_server(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 1}).start()
    user = ApiUser(server, server.command("create-account", "a@example.com", "--credits", "100")["api_key"])
    accepted = user.submit(SLOW, num_generations=100000, sol_per_pop=4)
    user.wait_status(accepted["id"], "running")
    deadline = time.monotonic() + 10
    while len(tree := descendants(server.process.pid)) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)  # "running" is stored before the keeper has forked the payload
    assert len(tree) >= 3, f"expected the zygote, the job's keeper and its payload under the server: {tree}"
    server.stop(signal.SIGKILL)
    deadline = time.monotonic() + 5
    survivors = list(tree)
    while survivors and time.monotonic() < deadline:
        time.sleep(0.05)
        survivors = [pid for pid, started in tree.items() if still_running(pid, started)]
    assert survivors == [], "the zygote or the job outlived its server"
