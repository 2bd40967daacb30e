"""Keepers: the report of the job's end and usage, written once the payload is reaped, and a
keeper with its payload prepared ahead of its job, confined with the limits it is given later.

Each scenario runs in a fresh `python -I` (like the zygote) so the test process is never confined.
"""
import json
import os
import textwrap
import time

from vilvik_sandbox.jail import KEEPER_FAILED
from vilvik_sandbox.privileges import UID_BASE
from vilvik_sandbox import jail
from vilvik_sandbox.zygote import SPARE_DELAY
from vilvik_server.engine import job

from attacks.conftest import assert_no_jail_processes, run_python
from vilvik_server.engine.zygote import Zygote


def slot():
    """A slot of this session's own uid block (conftest reserves it)."""
    return int(os.environ["VILVIK_SANDBOX_UID_BASE"]) - UID_BASE + 4


# For a keeper from jail.prepare_keeper: its job (7 CPU seconds, 300 MiB) and a result channel;
# returns all the job wrote there and the keeper's report (its end line) once the job has ended.
# open_fds(), for a job inside the jail, lists the descriptors it holds.
HAND_JOB = """
def hand_job(control):
    ours, theirs = socket.socketpair()
    jail.start_keeper(control, limits={"cpu_seconds": 7, "memory_bytes": 300 << 20}, result_fd=theirs.fileno())
    theirs.close()
    output = b""
    while chunk := ours.recv(65536):
        output += chunk
    report = b""
    while chunk := control.recv(4096):
        report += chunk
    pid_line, end_line = report.splitlines()
    assert json.loads(pid_line)["payload_pid"] > 1, pid_line
    return output, end_line

def open_fds():
    fds = []
    for candidate in range(64):
        try:
            os.fstat(candidate)
            fds.append(candidate)
        except OSError:
            pass
    return fds
"""


def run_probed(code):
    """attacks.conftest.run_python with `confinement`, a prepared and probed jail, and hand_job already there."""
    return run_python("confinement, _ = probed()\n" + HAND_JOB + textwrap.dedent(code))


def test_the_keeper_reports_the_payloads_end_with_its_cpu_time_before_it_exits():
    result = run_probed(f"""
        def spin(fd):
            end = time.process_time() + 0.3
            while time.process_time() < end:
                pass
            return 3
        ours, theirs = socket.socketpair()
        report_read, report_write = os.pipe()
        pid = jail.launch(confinement, spin, slot={slot()}, limits={{"cpu_seconds": 5, "memory_bytes": 256 << 20}},
                          result_fd=theirs.fileno(), report_fd=report_write)
        theirs.close()
        os.close(report_write)
        report = b""
        while chunk := os.read(report_read, 4096):
            report += chunk
        _, status = os.waitpid(pid, 0)
        print(json.dumps({{"report": report.decode(), "exit": os.waitstatus_to_exitcode(status)}}))
    """)
    lines = result["report"].splitlines()
    assert len(lines) == 2, result
    assert json.loads(lines[0])["payload_pid"] > 1
    end = json.loads(lines[1])
    assert end["exit_code"] == 3 == result["exit"]
    assert 0.3 <= end["cpu_seconds"] < 5 and end["peak_memory_bytes"] > 0


def test_a_keeper_prepared_ahead_confines_its_payload_with_the_limits_it_is_given_later():
    result = run_probed(f"""
        import resource
        def job(fd):
            os.write(fd, json.dumps({{"cpu": resource.getrlimit(resource.RLIMIT_CPU), "fds": open_fds(),
                                      "uid": os.getuid(), "pid": os.getpid(), "cwd": os.getcwd(),
                                      "env": sorted(os.environ)}}).encode() + b"\\n")
            return 0
        pid, control = jail.prepare_keeper(confinement, job, slot={slot()})
        time.sleep(0.3)  # ready, and waiting for its job
        output, report = hand_job(control)
        _, status = os.waitpid(pid, 0)
        print(json.dumps({{"output": output.decode(), "report": report.decode(), "layers": sorted(confinement.layers),
                           "exit": os.waitstatus_to_exitcode(status)}}))
    """)
    hello, seen = [json.loads(line) for line in result["output"].splitlines()]
    assert hello["type"] == "hello" and hello["layers"] == [layer for layer in jail.LAYERS if layer in result["layers"]]
    assert 0 < hello["setup_cpu_seconds"] < 1, hello
    assert seen["cpu"] == [7, 7] and seen["fds"] == [0, 1, 2, 3], seen
    if os.geteuid() == 0:
        assert seen["uid"] == UID_BASE + slot() and seen["pid"] == 1 and seen["cwd"] == "/tmp", seen
    assert set(seen["env"]) <= {"PATH", "HOME", "TMPDIR", "PYTHONHASHSEED", "OPENBLAS_NUM_THREADS"}, seen
    assert json.loads(result["report"])["exit_code"] == 0 == result["exit"]


def test_a_keeper_prepared_ahead_whose_job_never_comes_runs_no_job_code():
    result = run_probed(f"""
        ran = os.pipe()
        def job(fd):
            os.write(ran[1], b"job code ran")
            return 0
        pid, control = jail.prepare_keeper(confinement, job, slot={slot()})
        control.close()
        _, status = os.waitpid(pid, 0)
        os.close(ran[1])
        print(json.dumps({{"ran": os.read(ran[0], 100).decode(), "exit": os.waitstatus_to_exitcode(status)}}))
    """)
    assert result["ran"] == "" and result["exit"] == KEEPER_FAILED, result
    assert_no_jail_processes()


def test_a_keeper_that_dies_before_its_report_is_still_reported_once_from_its_exit():
    zygote = Zygote()
    zygote.start()
    try:
        spec = {"params": {"num_generations": 1, "sol_per_pop": 4, "num_genes": 2, "num_parents_mating": 2},
                "fitness_func": "import time\ndef f(ga, sol, idx):\n    time.sleep(60)\n    return 1.0\n",
                "entry": "f"}
        pids = []
        spawn = zygote.spawn

        def spawn_and_kill_keeper(*args, **kwargs):
            pids.append(spawn(*args, **kwargs))
            os.kill(pids[-1].wait().pid, 9)  # the keeper only: its payload dies with it (PDEATHSIG)
            return pids[-1]
        zygote.spawn = spawn_and_kill_keeper
        outcome = job.execute(zygote, "killed-keeper", spec, {"cpu_seconds": 5, "memory_bytes": 256 << 20},
                              slot=slot(), wall_seconds=30, max_output_bytes=1 << 20)
        assert outcome.reaped and outcome.status == "failed", outcome
        assert "cpu_seconds" in outcome.usage
        # The zygote still serves: the next job runs and is reported.
        zygote.spawn = spawn
        spec["fitness_func"] = "def f(ga, sol, idx):\n    return 1.0\n"
        outcome = job.execute(zygote, "next", spec, {"cpu_seconds": 5, "memory_bytes": 256 << 20},
                              slot=slot(), wall_seconds=30, max_output_bytes=1 << 20)
        assert outcome.status == "succeeded", outcome
    finally:
        zygote.close()



def test_once_its_slot_has_stayed_idle_a_spare_keeper_is_made_and_the_slots_next_job_runs_in_it():
    zygote = Zygote()
    zygote.start()
    children = f"/proc/{zygote.process.pid}/task/{zygote.process.pid}/children"
    try:
        spec = {"params": {"num_generations": 1, "sol_per_pop": 4, "num_genes": 2, "num_parents_mating": 2},
                "fitness_func": "def f(ga, sol, idx):\n    return 1.0\n", "entry": "f"}
        keepers = []
        spawn = zygote.spawn

        def spawn_and_note(*args, **kwargs):
            keepers.append(spawn(*args, **kwargs))
            return keepers[-1]
        zygote.spawn = spawn_and_note

        def run(name):
            outcome = job.execute(zygote, name, spec, {"cpu_seconds": 5, "memory_bytes": 256 << 20},
                                  slot=slot(), wall_seconds=30, max_output_bytes=1 << 20)
            assert outcome.status == "succeeded", outcome

        run("first")
        spares = set()
        deadline = time.monotonic() + 10
        while not spares and time.monotonic() < deadline:
            time.sleep(SPARE_DELAY / 4)
            with open(children) as listing:
                spares = {int(pid) for pid in listing.read().split()} - {keeper.wait().pid for keeper in keepers}
        assert len(spares) == 1, "no spare keeper was made for the idle slot"
        run("second")
        assert keepers[-1].wait().pid in spares, (keepers, spares)
    finally:
        zygote.close()


def test_a_prepared_payload_runs_its_warm_up_before_the_job_and_its_hello_says_what_that_cost():
    # The warm-up's CPU is ours: the hello reports it so the server does not charge it to the job.
    result = run_probed(f"""
        def warm_up():
            end = time.process_time() + 0.2
            while time.process_time() < end:
                pass
            os.environ["WARMED"] = "yes"  # (the environment is scrubbed before; this is the payload's own)
        def job(fd):
            end = time.process_time() + 0.1
            while time.process_time() < end:
                pass
            os.write(fd, json.dumps({{"warmed": os.environ.get("WARMED")}}).encode() + b"\\n")
            return 0
        pid, control = jail.prepare_keeper(confinement, job, slot={slot()}, warm_up=warm_up)
        output, report = hand_job(control)
        os.waitpid(pid, 0)
        print(json.dumps({{"output": output.decode(), "report": report.decode()}}))
    """)
    hello, seen = [json.loads(line) for line in result["output"].splitlines()]
    assert seen == {"warmed": "yes"}
    end = json.loads(result["report"])
    assert 0.2 <= hello["setup_cpu_seconds"] < 0.3 + 0.1, hello
    assert end["cpu_seconds"] - hello["setup_cpu_seconds"] >= 0.1, (end, hello)


def test_the_real_warm_up_leaves_the_job_no_descriptor_and_none_of_its_fitness_source():
    result = run_probed(f"""
        import linecache
        from vilvik_sandbox import runner
        def job(fd):
            os.write(fd, json.dumps({{"fds": open_fds(), "cached": runner.FITNESS_FILENAME in linecache.cache}})
                     .encode() + b"\\n")
            return 0
        pid, control = jail.prepare_keeper(confinement, job, slot={slot()}, warm_up=runner.warm_up)
        output, report = hand_job(control)
        os.waitpid(pid, 0)
        print(json.dumps({{"output": output.decode(), "report": report.decode()}}))
    """)
    hello, seen = [json.loads(line) for line in result["output"].splitlines()]
    assert seen == {"fds": [0, 1, 2, 3], "cached": False}, seen
    assert hello["setup_cpu_seconds"] > 0


def _run_with_early_outcome(zygote, name, fitness_source, wall_seconds=60):
    """job.execute with on_outcome; returns (outcome, [(the outcome on_outcome got, the keeper's children then)])."""
    spec = {"params": {"num_generations": 1, "sol_per_pop": 4, "num_genes": 2, "num_parents_mating": 2},
            "fitness_func": fitness_source, "entry": "f"}
    spawned, seen = [], []
    spawn = zygote.spawn

    def spawn_and_note(*args, **kwargs):
        spawned.append(spawn(*args, **kwargs))
        return spawned[-1]

    def on_outcome(outcome):
        keeper = spawned[-1].wait().pid
        try:  # the keeper's child, the payload, until the keeper has reaped it
            with open(f"/proc/{keeper}/task/{keeper}/children") as children:
                payload = children.read().split()
        except FileNotFoundError:  # the keeper is gone too
            payload = []
        seen.append((outcome, payload))

    zygote.spawn = spawn_and_note
    try:
        outcome = job.execute(zygote, name, spec, {"cpu_seconds": 30, "memory_bytes": 1 << 30}, slot=slot(),
                              wall_seconds=wall_seconds, max_output_bytes=1 << 20, on_outcome=on_outcome)
    finally:
        zygote.spawn = spawn
    return outcome, seen


def test_a_run_that_reported_its_result_is_decided_while_its_process_is_still_being_torn_down():
    zygote = Zygote()
    zygote.start()
    try:
        # 400 MiB written: tearing that down takes the kernel tens of milliseconds.
        outcome, seen = _run_with_early_outcome(zygote, "big", (
            "BALLAST = bytearray(400 << 20)\nfor i in range(0, len(BALLAST), 4096):\n    BALLAST[i] = 1\n"
            "def f(ga, sol, idx):\n    return 1.0\n"))
        assert outcome.status == "succeeded" and outcome.reaped, outcome
        assert len(seen) == 1 and seen[0][0] is outcome
        assert seen[0][1], "the outcome waited until the payload was reaped"
        assert 0 < outcome.usage["cpu_seconds"] < 5 and outcome.usage["peak_memory_bytes"] > 400 << 20, outcome.usage
    finally:
        zygote.close()


def test_a_run_that_closes_its_output_after_its_final_report_and_runs_on_is_killed_within_the_grace():
    zygote = Zygote()
    zygote.start()
    try:
        # The user's code writes a final report itself, closes the output and spins.
        started = time.monotonic()
        outcome, seen = _run_with_early_outcome(zygote, "spinner", (
            "import json, os\n"
            "def f(ga, sol, idx):\n"
            "    os.write(3, json.dumps({'type': 'error', 'error': {'code': 'fitness_error', 'message': 'mine'}}).encode() + b'\\n')\n"
            "    os.close(3)\n"
            "    while True:\n"
            "        pass\n"))
        took = time.monotonic() - started
        assert outcome.status == "failed" and outcome.error == {"code": "fitness_error", "message": "mine"}, outcome
        assert outcome.reaped and len(seen) == 1
        assert took < 20, f"the run held its slot {took:.1f} s after its output closed (wall limit 60 s)"
        assert outcome.usage["cpu_seconds"] < 1, outcome.usage
    finally:
        zygote.close()
