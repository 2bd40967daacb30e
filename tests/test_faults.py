"""Faults of the host: a full disk or a read-only database answers 503 and logs it, never hangs."""
import os
import subprocess
import uuid

import pytest
import requests

from conftest import ApiUser, LiveServer

BODY = {"num_generations": 5, "sol_per_pop": 4, "num_genes": 3, "num_parents_mating": 2,
        "fitness_func": "def fitness_func(ga, sol, idx): return 1.0\n"}


@pytest.fixture
def small_disk(tmp_path):
    """A 3 MiB tmpfs (root can mount one; elsewhere the test says why it cannot run)."""
    mountpoint = tmp_path / "disk"
    mountpoint.mkdir()
    if os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs to fill needs root")
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mountpoint)], check=True)
    yield mountpoint
    subprocess.run(["umount", "-l", str(mountpoint)], check=False)


def test_a_full_disk_answers_503_with_a_log_line_and_recovers(small_disk):
    server = LiveServer(small_disk / "instance", {"WORKERS": 0}).start()
    try:
        user = ApiUser(server, server.command("create-account", "d@example.com", "--credits", "100")["api_key"])
        assert user.post("/submissions", BODY).status_code == 202
        filler = small_disk / "filler"
        with open(filler, "wb", buffering=0) as handle:
            try:
                while True:
                    handle.write(b"\0" * 65536)
            except OSError:  # full
                pass
        big = dict(BODY, name="x" * 200, metadata={str(i): "y" * 500 for i in range(16)})
        statuses = {user.post("/submissions", big, headers={"X-Request-Id": f"full-{uuid.uuid4().hex[:6]}"})
                    .status_code for _ in range(40)}
        assert 503 in statuses and statuses <= {202, 503}
        refused = user.post("/submissions", big)
        if refused.status_code == 503:
            assert refused.json()["error"]["code"] == "unavailable"
            assert refused.headers["Retry-After"]
        assert "database unavailable" in server.read_log()
        assert requests.get(server.api + "/health", timeout=10).status_code == 200  # reads still work
        filler.unlink()
        assert user.post("/submissions", BODY).status_code == 202  # and it recovers
    finally:
        server.stop()


def test_only_an_unreachable_database_is_unavailable_not_a_broken_query():
    import sqlite3

    from vilvik_server.errors import database_unavailable
    for message in ("attempt to write a readonly database", "database or disk is full", "database is locked",
                    "disk I/O error", "unable to open database file"):
        assert database_unavailable(sqlite3.OperationalError(message))
    assert not database_unavailable(sqlite3.OperationalError("no such table: nothing"))
