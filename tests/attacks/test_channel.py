"""Lying to the server: forged and malformed reports, odd exits, values that are not fitness.

Everything after the jail's hello line is attacker data (the job's code runs in the
process that writes it). The server accepts one bounded JSON document of a strict
shape, never a pickle; a job can lie about its *own* result (and only that).
"""
import os
import uuid

import pytest

FORGE = """
import json, os
def forge(line):
    os.write(3, (line if isinstance(line, bytes) else json.dumps(line).encode()) + b"\\n")
"""


def test_find_the_result_descriptor(hostile):
    # No /proc to list fds: probing 0..1023 finds exactly stdio (/dev/null) and the channel (3).
    source = ("import os\nopen_fds = []\nfor fd in range(1024):\n    try:\n        os.fstat(fd)\n"
              "        open_fds.append(fd)\n    except OSError:\n        pass\nprint('OPEN', open_fds)\n"
              "def fitness_func(ga, solution, idx):\n    return 1.0\n")
    submission = hostile.expect(source, None)
    assert "OPEN [0, 1, 2, 3]" in hostile.logs(submission)


def test_a_second_hello(hostile):
    source = FORGE + ("forge({'type': 'hello', 'layers': []})\n"
                      "def fitness_func(ga, solution, idx):\n    return 1.0\n")
    hostile.expect(source, "invalid_report", "unknown report type")


def test_forged_result_of_the_wrong_shape(hostile):
    source = FORGE + ("forge({'type': 'result', 'best_solution': [1e308] * 1000, 'best_solution_fitness': 1e9})\n"
                      "def fitness_func(ga, solution, idx):\n    return 1.0\n")
    hostile.expect(source, "invalid_report", "refused")


def test_forged_result_with_bare_nan(hostile):
    source = FORGE + ("forge(b'{\"type\": \"progress\", \"generations_completed\": NaN}')\n"
                      "def fitness_func(ga, solution, idx):\n    return 1.0\n")
    hostile.expect(source, "invalid_report", "refused")


def test_binary_garbage_on_the_channel(hostile):
    source = FORGE + "forge(bytes(range(256)) * 8)\ndef fitness_func(ga, solution, idx):\n    return 1.0\n"
    hostile.expect(source, "invalid_report", "refused")


def test_deeply_nested_json(hostile):
    source = FORGE + "forge(b'[' * 100000 + b']' * 100000)\ndef fitness_func(ga, solution, idx):\n    return 1.0\n"
    hostile.expect(source, "invalid_report", "refused")


def test_forged_server_side_error_code(hostile):
    source = FORGE + ("forge({'type': 'error', 'error': {'code': 'internal_error', 'message': 'blame the server'}})\n"
                      "def fitness_func(ga, solution, idx):\n    return 1.0\n")
    hostile.expect(source, "invalid_report", "refused")


def test_a_well_formed_lie_about_its_own_result(hostile):
    # A job can claim any result of the right shape for itself: the server validates the shape,
    # it cannot know the truth. The lie stays within the job's own result.
    source = FORGE + """
from vilvik_sandbox.runner import random_state_as_data
def fitness_func(ga, solution, idx):
    state = random_state_as_data(ga.numpy_random_generator.get_state(), ga.python_random_generator.getstate())
    forge({"type": "result", "best_solution": [7.0, 7.0], "best_solution_fitness": 1e9, "best_solution_idx": 0,
           "best_solution_generation": 0, "generations_completed": 3, "best_fitness_per_generation": [1e9],
           "last_generation_fitness": [1e9] * 4, "population": [[7.0, 7.0]] * 4, "random_state": state,
           "stopped": False, "logs": ""})
    os._exit(0)
"""
    submission = hostile.expect(source, None)
    assert hostile.result(submission)["best_solution_fitness"] == 1e9


@pytest.mark.parametrize("ending, code, message", [
    ("raise SystemExit(0)", "fitness_error", "SystemExit"),
    ("raise KeyboardInterrupt", "fitness_error", "KeyboardInterrupt"),
    ("os._exit(0)", "fitness_error", "without a result (exit code 0)"),
    ("os.abort()", "fitness_error", "killed by"),
    ("os.kill(os.getpid(), 9); return 1.0", None, None),  # pid 1 cannot kill itself from inside: harmless
])
def test_odd_endings(hostile, ending, code, message):
    source = f"import os\ndef fitness_func(ga, solution, idx):\n    {ending}\n"
    hostile.expect(source, code, message)


def test_exit_code_that_looks_like_a_signal(hostile):
    # The keeper reports exit codes as min(code, 127): a job cannot fake "killed by SIGSYS".
    source = "import os\ndef fitness_func(ga, solution, idx):\n    os._exit(128 + 31)\n"
    hostile.expect(source, "fitness_error", "without a result (exit code 127)")


@pytest.mark.parametrize("value, code", [
    ("float('nan')", "invalid_fitness"),
    ("float('inf')", "invalid_fitness"),
    ("-float('inf')", "invalid_fitness"),
    ("'1.0'", "invalid_fitness"),
    ("None", "invalid_fitness"),
    ("[]", "invalid_fitness"),
    ("[1.0, float('nan')]", "invalid_fitness"),
    ("numpy.array(['a'], dtype=object)", "invalid_fitness"),
    ("(lambda l: (l.append(l), l)[1])([])", "invalid_fitness"),  # a list that contains itself
    ("complex(1, 2)", "invalid_fitness"),
    ("True", "invalid_fitness"),
])
def test_returns_that_are_not_fitness(hostile, value, code):
    source = f"import numpy\ndef fitness_func(ga, solution, idx):\n    return {value}\n"
    hostile.expect(source, code)


def test_return_a_huge_integer(hostile):
    hostile.expect("def fitness_func(ga, solution, idx):\n    return 10 ** 400\n", "invalid_fitness")


def test_return_a_pickle_bomb(hostile):
    marker = f"/tmp/vilvik-reduce-{uuid.uuid4().hex}"
    source = f"""
import os
class Evil:
    def __reduce__(self):
        return (os.system, ("touch {marker}",))
    def __float__(self):
        return 1.0
def fitness_func(ga, solution, idx):
    return Evil()
"""
    # Not a number: refused in the job. Nothing the job sends is ever unpickled.
    hostile.expect(source, "invalid_fitness")
    assert not os.path.exists(marker)


def test_a_float_subclass_with_tricks(hostile):
    source = """
class Sneaky(float):
    def __repr__(self):
        return '"}, "injected": true, "x": {"'
    def __float__(self):
        return 2.0
def fitness_func(ga, solution, idx):
    return Sneaky(1.0)
"""
    # PyGAD itself refuses a number that is not of a plain numeric type; nothing reaches the JSON.
    hostile.expect(source, "fitness_error", "must return a number")
