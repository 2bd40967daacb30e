"""One real server for the whole attack suite, with the sandbox required (never degraded).

Every attack runs as a submission through the HTTP API, like a stranger's would. The
`hostile` fixture runs one, returns the terminal submission, and afterwards checks the
host: no process of a jail uid is left behind, the server is healthy in full sandbox
mode, and a normal seeded job still gives the same result as before the attack.

If the host cannot give the full sandbox, these tests FAIL (the server refuses jobs
and the fixture says which layers are missing): a green run must mean "contained".
"""
import json
import os
import subprocess
import sys
import textwrap
import time

import pytest
import requests

from conftest import REPO, ApiUser, LiveServer, jail_uids

# Every layer a root CI machine must give; as another user the required core is smaller.
ROOT_LAYERS = {"namespaces", "filesystem", "rlimits", "privileges", "no_new_privs", "landlock", "seccomp"}
CORE_LAYERS = {"rlimits", "seccomp"}
NORMAL = "def fitness_func(ga, solution, idx):\n    return float(sum(solution))\n"
NORMAL_PARAMS = {"num_generations": 4, "sol_per_pop": 6, "num_genes": 3, "num_parents_mating": 2,
                 "random_seed": 7}
MAX_RESULT_BYTES = 1 << 20


@pytest.fixture(scope="session")
def attack_server(tmp_path_factory):
    instance = tmp_path_factory.mktemp("attacks") / "instance"
    server = LiveServer(instance, {"WORKERS": 2, "SANDBOX_ALLOW_DEGRADED": "false",
                                   "MAX_RESULT_BYTES": MAX_RESULT_BYTES, "MAX_CPU_SECONDS": 20,
                                   "MAX_WALL_SECONDS": 30, "MAX_MEMORY_MB": 512}).start()
    try:
        sandbox = requests.get(server.api + "/health", timeout=30).json()["sandbox"]
        assert sandbox["mode"] == "full", f"the sandbox is not whole on this host: {sandbox}"
        present = {name for name, on in sandbox["layers"].items() if on}
        required = ROOT_LAYERS if os.geteuid() == 0 else CORE_LAYERS
        assert required <= present, f"missing sandbox layers: {sorted(required - present)}"
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def attacker(attack_server):
    created = attack_server.command("create-account", f"mallory{time.monotonic_ns()}@example.com",
                                    "--credits", "100000")
    user = ApiUser(attack_server, created["api_key"])
    yield user
    user.session.close()


@pytest.fixture(scope="session")
def normal_result(attacker):
    """What a normal seeded job gives; every attack must leave the server giving exactly this."""
    submission = attacker.run(NORMAL, **NORMAL_PARAMS)
    assert submission["status"] == "succeeded", submission
    return _result_of(attacker, submission)


def _result_of(user, submission):
    results = user.get(f"/results?submission_id={submission['id']}").json()["data"]
    assert len(results) == 1, results
    result = results[0]
    return {name: result[name] for name in ("best_solution", "best_solution_fitness",
                                            "best_fitness_per_generation", "population")}


class Hostile:
    """Runs attacks for one test and checks the aftermath."""

    def __init__(self, server, user, normal):
        self.server = server
        self.user = user
        self.normal = normal
        self.submissions = []

    def run(self, source, limits=None, **params):
        """Submit `source` (fitness_func in it) with small defaults; returns the terminal submission."""
        body = dict(num_generations=3, sol_per_pop=4, num_genes=2, num_parents_mating=2, random_seed=1)
        body.update(params)
        body["limits"] = dict({"cpu_seconds": 5, "wall_seconds": 10, "memory_mb": 256}, **(limits or {}))
        submission = self.user.wait(self.user.submit(source, **body)["id"], timeout=60)
        self.submissions.append(submission)
        assert submission["status"] in ("succeeded", "failed"), submission
        return submission

    def expect(self, source, code=None, message=None, limits=None, **params):
        """Run and assert the outcome: failed with `code` (and `message` in its text), or succeeded (code None)."""
        submission = self.run(source, limits=limits, **params)
        if code is None:
            assert submission["status"] == "succeeded", submission.get("error")
        else:
            assert submission["status"] == "failed", submission
            assert submission["error"]["code"] == code, submission["error"]
            if message is not None:
                assert message in submission["error"]["message"], submission["error"]
        return submission

    def logs(self, submission):
        body = self.user.get(f"/submissions/{submission['id']}").json()
        return body.get("logs") or ""

    def result(self, submission):
        return _result_of(self.user, submission)

    def check_aftermath(self):
        for submission in self.submissions:
            layers = set(submission.get("sandbox") or [])
            required = ROOT_LAYERS if os.geteuid() == 0 else CORE_LAYERS
            assert required <= layers, f"{submission['id']} ran with layers {sorted(layers)}"
        assert_no_jail_processes()
        health = requests.get(self.server.api + "/health", timeout=30).json()
        assert health["status"] == "ok" and health["sandbox"]["mode"] == "full", health
        normal = self.user.run(NORMAL, **NORMAL_PARAMS)
        assert normal["status"] == "succeeded", normal
        assert _result_of(self.user, normal) == self.normal
        # Payloads killed with their keeper were re-parented to the zygote (a subreaper), which
        # reaps them at the latest when its next job ends: not even a zombie is left now.
        assert_no_jail_processes(zombies=True)


@pytest.fixture
def hostile(attack_server, attacker, normal_result):
    runner = Hostile(attack_server, attacker, normal_result)
    yield runner
    runner.check_aftermath()


def jail_processes(zombies=True):
    """Processes running as one of this session's jail uids (none may outlive its job).

    Only our own servers' uids are looked at: another Vilvik on this machine runs its jobs
    as other uids (see jail_uids in tests/conftest.py).
    """
    ours = jail_uids()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
        except OSError:
            continue
        zombie = fields.get("State", "").strip().startswith("Z")
        if int(fields.get("Uid", "-1 ").split()[0]) in ours and (zombies or not zombie):
            found.append(int(name))
    return found


def assert_no_jail_processes(timeout=3.0, zombies=False):
    """No process of a jail uid runs on (with zombies=True: none is left unreaped either)."""
    deadline = time.monotonic() + timeout
    while jail_processes(zombies):
        if time.monotonic() > deadline:
            raise AssertionError(f"jail processes outlived their jobs: {jail_processes(zombies)}")
        time.sleep(0.02)


def run_python(code, timeout=60):
    """Run `code` in a clean interpreter (numpy and PyGAD warm, like the zygote); its last stdout line, as JSON.

    `probed()` there prepares and probes a jail: (the Jail, the probe's report).
    """
    prelude = (f"import sys, os, json, signal, socket, time\nsys.path.insert(0, {REPO!r})\n"
               "from vilvik_sandbox import runner, jail, probe\nrunner.warm_up()\n"
               "def probed():\n    confinement = jail.prepare()\n    return confinement, probe.probe(confinement)\n")
    done = subprocess.run([sys.executable, "-I", "-c", prelude + textwrap.dedent(code)], capture_output=True,
                          text=True, timeout=timeout, cwd="/",
                          env={"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "PYTHONHASHSEED": "0"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
