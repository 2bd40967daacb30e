"""Durable run ownership: the instance lock, leases that only expire with their owner, durable cancel."""
import signal
import sqlite3
import subprocess
import sys
import time

from conftest import ApiUser, LiveServer

SLOW = "import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(0.02)\n    return float(sum(sol))\n"


def row(database, submission_id):
    conn = sqlite3.connect(database)
    try:
        return conn.execute("SELECT status, attempts, owner, lease_until FROM submissions WHERE id = ?",
                            (submission_id,)).fetchone()
    finally:
        conn.close()


def test_a_second_server_on_a_live_instance_refuses_with_one_line_and_touches_no_row(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 1}).start()
    try:
        user = ApiUser(server, server.command("create-account", "a@example.com", "--credits", "100")["api_key"])
        running = user.submit(SLOW, num_generations=100000, sol_per_pop=4)
        user.wait_status(running["id"], "running")
        before = row(f"{server.instance}/vilvik.sqlite3", running["id"])[:3]  # its lease is renewed meanwhile

        second = subprocess.run([sys.executable, "-m", "vilvik_server", "serve", "--port", "0"], env=server.env,
                                capture_output=True, text=True, timeout=60)
        assert second.returncode == 2
        lines = second.stderr.strip().splitlines()
        assert len(lines) == 1, second.stderr
        assert "another server" in lines[0] and "is running on the instance" in lines[0]
        assert "Traceback" not in second.stderr
        assert row(f"{server.instance}/vilvik.sqlite3", running["id"])[:3] == before
        assert user.get(f"/submissions/{running['id']}").json()["status"] == "running"
    finally:
        server.stop(signal.SIGKILL)


def test_a_run_of_another_live_server_is_left_alone_and_taken_over_only_when_its_lease_expires(tmp_path):
    database = str(tmp_path / "shared.sqlite3")
    settings = {"DATABASE": database, "LEASE_SECONDS": 2}
    first = LiveServer(tmp_path / "first", dict(settings, WORKERS=1)).start()
    user = ApiUser(first, first.command("create-account", "a@example.com", "--credits", "100")["api_key"])
    job = user.submit(SLOW, num_generations=100000, sol_per_pop=4)
    user.wait_status(job["id"], "running")
    owner = row(database, job["id"])[2]

    second = LiveServer(tmp_path / "second", dict(settings, WORKERS=1)).start()
    try:
        time.sleep(3)  # longer than a lease: the first server renews it, so the second leaves it be
        status, attempts, still_owner, _ = row(database, job["id"])
        assert (status, attempts, still_owner) == ("running", 1, owner)

        first.stop(signal.SIGKILL)  # its lease now runs out, and the second server takes the run over
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and row(database, job["id"])[1] < 2:
            time.sleep(0.1)
        status, attempts, new_owner, _ = row(database, job["id"])
        assert (status, attempts) == ("running", 2)
        assert new_owner != owner
        assert "the process running it is gone" in second.read_log()
    finally:
        second.stop(signal.SIGKILL)


def test_an_accept_only_server_cancels_a_run_of_another_server_within_a_second(tmp_path):
    database = str(tmp_path / "shared.sqlite3")
    runner = LiveServer(tmp_path / "runner", {"DATABASE": database, "WORKERS": 1}).start()
    front = LiveServer(tmp_path / "front", {"DATABASE": database, "WORKERS": 0}).start()
    try:
        key = runner.command("create-account", "a@example.com", "--credits", "100")["api_key"]
        user, front_user = ApiUser(runner, key), ApiUser(front, key)
        job = user.submit(SLOW, num_generations=100000, sol_per_pop=4, random_seed=1)
        user.wait_status(job["id"], "running")
        time.sleep(0.5)
        started = time.monotonic()
        response = front_user.post(f"/submissions/{job['id']}/cancel")
        assert time.monotonic() - started < 2.0
        assert response.status_code == 200, response.text
        submission = response.json()
        assert submission["status"] == "cancelled"
        assert submission["progress"]["generations_completed"] > 0
        assert submission["credits_charged"] > 0
        result = front_user.get("/results", params={"submission_id": job["id"]}).json()["data"][0]
        assert result["generations_completed"] == submission["progress"]["generations_completed"]
    finally:
        front.stop()
        runner.stop()


def test_cancelling_a_run_whose_owner_is_gone_ends_it_at_once_and_charges_nothing(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 1, "LEASE_SECONDS": 1}).start()
    user = ApiUser(server, server.command("create-account", "a@example.com", "--credits", "100")["api_key"])
    job = user.submit(SLOW, num_generations=100000, sol_per_pop=4)
    user.wait_status(job["id"], "running")
    server.stop(signal.SIGKILL)
    time.sleep(1.5)  # its lease has run out; nobody runs it now

    front = LiveServer(tmp_path / "front", {"DATABASE": f"{server.instance}/vilvik.sqlite3", "WORKERS": 0}).start()
    try:
        started = time.monotonic()
        response = ApiUser(front, user.key).post(f"/submissions/{job['id']}/cancel")
        assert time.monotonic() - started < 2.5  # not the whole wait for a runner that is gone
        assert response.status_code == 200
        assert response.json()["status"] == "cancelled"
        assert response.json()["credits_charged"] == 0
    finally:
        front.stop()
