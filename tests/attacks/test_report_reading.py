"""When the server cannot take what a job wrote, the job still ends, is charged, and frees nothing early.

Whatever goes wrong while the server reads or judges a job's output (a number it cannot
convert, nesting that exhausts recursion, a line without end, a string that is not
Unicode), the job is killed and its end heard before its slot is reused; the run fails
with `invalid_report` and pays for the CPU it used. The `hostile` fixture then checks
that no process of a jail uid outlived its job.
"""
import os
import threading
import time

from conftest import jail_uids

FORGE = """
import json, os
def forge(line):
    os.write(3, (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\\n")
"""
SPIN = "def fitness_func(ga, solution, idx):\n    while True:\n        pass\n"
# Long enough that a run left alive by the server would still be found afterwards.
LONG = {"cpu_seconds": 15, "wall_seconds": 25}


def _refused_at_once(hostile, source, message=None):
    started = time.monotonic()
    submission = hostile.expect(source, "invalid_report", message, limits=LONG)
    assert time.monotonic() - started < 10, "the run was not killed when its report was refused"
    assert submission["usage"]["cpu_seconds"] is not None
    assert float(submission["credits_charged"]) > 0, "a refused report must be charged, not refunded"
    return submission


def test_an_integer_far_beyond_float_range_then_spinning(hostile):
    # Converting 10**400 to a float raised OverflowError in the validator: the run ended as
    # internal_error, refunded, and the job spun on with no wall-clock limit.
    _refused_at_once(hostile, FORGE + "forge(b'{\"type\":\"progress\",\"generations_completed\":0,"
                                      "\"best_fitness\":' + b'1' * 400 + b'}')\n" + SPIN, "2**53")


def test_an_integer_beyond_2_53(hostile):
    _refused_at_once(hostile, FORGE + "forge({'type': 'progress', 'generations_completed': 0, "
                                      "'best_fitness': 2 ** 53 + 1})\n" + SPIN)


def test_fitness_nested_until_recursion_runs_out(hostile):
    # JSON parses 900 levels, but judging them recursed deeper and raised RecursionError.
    _refused_at_once(hostile, FORGE + "forge(b'{\"type\":\"progress\",\"generations_completed\":0,"
                                      "\"best_fitness\":' + b'[' * 900 + b'1' + b']' * 900 + b'}')\n" + SPIN)


def test_a_nested_fitness_list_is_refused(hostile):
    _refused_at_once(hostile, FORGE + "forge({'type': 'progress', 'generations_completed': 0, "
                                      "'best_fitness': [[1.0, 2.0]]})\n" + SPIN)


def test_more_objectives_than_allowed_are_refused(hostile):
    _refused_at_once(hostile, FORGE + "forge({'type': 'progress', 'generations_completed': 0, "
                                      "'best_fitness': [1.0] * 65})\n" + SPIN)


def test_a_line_without_end_is_cut_at_its_cap(hostile):
    # One line longer than any valid report of this run (here the cap is MAX_RESULT_BYTES;
    # tests/test_job_reading.py shows a line cap below the total one).
    source = ("import os\nchunk = b'7' * 65536\nfor _ in range(200):\n    os.write(3, chunk)\n" + SPIN)
    _refused_at_once(hostile, source)


def test_lines_after_the_final_report_are_refused(hostile):
    source = FORGE + ("forge({'type': 'error', 'error': {'code': 'fitness_error', 'message': 'x'}})\n"
                      "forge({'type': 'progress', 'generations_completed': 0})\n" + SPIN)
    _refused_at_once(hostile, source, "after the final report")


def test_a_lone_surrogate_in_the_logs_is_stored_as_valid_utf8(hostile):
    # "\ud800" is valid JSON but not Unicode: storing it failed, and the run was refunded as internal_error.
    source = "print('before \\ud800 after')\ndef fitness_func(ga, solution, idx):\n    return 1.0\n"
    submission = hostile.expect(source, None)
    assert "before \ufffd" in hostile.logs(submission)


def test_a_lone_surrogate_in_an_error_message(hostile):
    source = "def fitness_func(ga, solution, idx):\n    raise ValueError('bad \\udfff end')\n"
    submission = hostile.expect(source, "fitness_error")
    assert "\ufffd" in submission["error"]["message"]


def test_a_result_with_a_short_population_is_no_resume_state(hostile):
    source = FORGE + """
from vilvik_sandbox.runner import random_state_as_data
def fitness_func(ga, solution, idx):
    state = random_state_as_data(ga.numpy_random_generator.get_state(), ga.python_random_generator.getstate())
    forge({"type": "result", "best_solution": [7.0, 7.0], "best_solution_fitness": 1e9, "best_solution_idx": 0,
           "best_solution_generation": 0, "generations_completed": 3, "best_fitness_per_generation": [1e9],
           "last_generation_fitness": [1e9] * 4, "population": [[7.0, 7.0]], "random_state": state,
           "stopped": False, "logs": ""})
    os._exit(0)
"""
    hostile.expect(source, "invalid_report", "population", sol_per_pop=4)


def test_closing_the_channel_does_not_escape_the_wall_clock(hostile):
    # The job's output closes, but it runs on: it is killed at its deadline, as a timeout.
    source = "import os\nos.close(3)\nwhile True:\n    pass\ndef fitness_func(ga, solution, idx):\n    return 1.0\n"
    started = time.monotonic()
    submission = hostile.expect(source, "timeout", "wall-clock", limits={"cpu_seconds": 15, "wall_seconds": 3})
    assert time.monotonic() - started < 8
    assert submission["usage"]["wall_seconds"] < 4.5


class _JailCpu:
    """Watches the CPU time of this session's jail-uid processes from /proc, until none is left.

    `seen` is the CPU (user + system, seconds) each process had last time it was seen: no more
    than it used, and its whole life, set-up included, which is not charged to the job.
    """

    def __init__(self):
        self.seen = {}
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *_):
        self.done.set()
        self.thread.join()

    def _watch(self):
        uids, tick = set(jail_uids()), os.sysconf("SC_CLK_TCK")
        quiet_since = None
        while True:
            found = False
            for name in os.listdir("/proc"):
                try:
                    if not name.isdigit() or os.stat(f"/proc/{name}").st_uid not in uids:
                        continue
                    with open(f"/proc/{name}/stat") as stat:
                        fields = stat.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                found = True
                self.seen[name] = (int(fields[11]) + int(fields[12])) / tick
            if found:
                quiet_since = None
            elif self.done.is_set():
                quiet_since = quiet_since or time.monotonic()
                if time.monotonic() - quiet_since > 0.5:
                    return
            time.sleep(0.002)


def test_work_after_the_final_report_is_charged_or_stopped(hostile):
    # The outcome is decided from the final report when the output ends, and the CPU time is read
    # then. A job that replaces the exit that follows with a spin in four threads kept going,
    # unread and unpaid, until the server killed it 0.4 s later: most of a second of CPU for
    # a charge of 0.01 credits, as often as it liked.
    source = ("import os, threading\ndef spin():\n    while True:\n        pass\n"
              "def spin_on(code):\n    for _ in range(3):\n        threading.Thread(target=spin, daemon=True).start()\n"
              "    spin()\nos._exit = spin_on\n"
              "def fitness_func(ga, solution, idx):\n    return float(sum(solution))\n")
    with _JailCpu() as watch:
        submission = hostile.expect(source, None, limits=LONG)
    used = sum(watch.seen.values())
    # What the process used before the job's code (the jail, a spare's warm-up) is not charged: a few ms.
    assert used <= submission["usage"]["cpu_seconds"] + 0.1, (used, submission["usage"])
