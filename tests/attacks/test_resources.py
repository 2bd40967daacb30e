"""Exhausting memory, CPU, time, the stack, descriptors, disk and the output channel.

Layers at work: RLIMIT_AS (memory_limit), RLIMIT_CPU with a hard SIGKILL one second
later (timeout), the server's wall clock (timeout), RLIMIT_NOFILE, RLIMIT_FSIZE, the
server's output cap (invalid_report) and the runner's bounded log tail.
"""
import pytest

from .conftest import MAX_RESULT_BYTES, assert_no_jail_processes

SMALL_MEMORY = {"memory_mb": 64}
# One CPU second, with wall time to spare: on a machine busy with other work a spinning job
# may get a tenth of a core, and it is the CPU limit that must stop it, not the wall clock.
CPU_BOUND = {"cpu_seconds": 1, "wall_seconds": 30}


@pytest.mark.parametrize("bomb", [
    "b'x' * (4 << 30)",
    "bytearray(1 << 40)",
    "[0] * (1 << 32)",
    "numpy.ones((30000, 30000))",
    "numpy.zeros(1 << 36, dtype=numpy.uint8).sum()",
])
def test_memory_bombs(hostile, bomb):
    source = f"import numpy\ndef fitness_func(ga, solution, idx):\n    {bomb}\n    return 1.0\n"
    hostile.expect(source, "memory_limit", limits=SMALL_MEMORY)


def test_incremental_memory_bomb(hostile):
    source = ("chunks = []\ndef fitness_func(ga, solution, idx):\n    while True:\n"
              "        chunks.append(bytearray(1 << 20))\n")
    hostile.expect(source, "memory_limit", limits=SMALL_MEMORY)


def test_memory_bomb_in_threads(hostile):
    source = ("import threading\nchunks = []\nerrors = []\nready = threading.Barrier(4)\n"
              "def eat():\n    ready.wait()\n    try:\n        while True:\n"
              "            chunks.append(bytearray(1 << 20))\n"
              "    except MemoryError as exc:\n        errors.append(exc)\n"
              "def fitness_func(ga, solution, idx):\n"
              "    threads = [threading.Thread(target=eat) for _ in range(4)]\n"
              "    [t.start() for t in threads]\n    [t.join() for t in threads]\n"
              "    chunks.clear()\n    raise errors[0]\n")
    hostile.expect(source, "memory_limit", limits=SMALL_MEMORY)


def test_cpu_spin(hostile):
    source = "def fitness_func(ga, solution, idx):\n    while True:\n        pass\n"
    hostile.expect(source, "timeout", "CPU limit", limits=CPU_BOUND)


def test_cpu_spin_ends_at_its_limit_not_a_second_later(hostile):
    # The payload, a pid namespace's init, ignores the soft limit's SIGXCPU: with the hard limit one
    # second above it, a spin used 1.98 CPU seconds of a 1-second limit and paid for 1.
    source = "def fitness_func(ga, solution, idx):\n    while True:\n        pass\n"
    submission = hostile.expect(source, "timeout", "CPU limit", limits=CPU_BOUND)
    assert submission["usage"]["cpu_seconds"] <= CPU_BOUND["cpu_seconds"] + 0.1, submission["usage"]
    assert submission["stop_reason"] == "cpu_limit"


def test_cpu_spin_with_every_signal_ignored(hostile):
    source = ("import signal\nfor number in range(1, 65):\n    try:\n        signal.signal(number, signal.SIG_IGN)\n"
              "    except (OSError, ValueError):\n        pass\n"
              "def fitness_func(ga, solution, idx):\n    while True:\n        pass\n")
    hostile.expect(source, "timeout", "CPU limit", limits=CPU_BOUND)


def test_cpu_spin_in_many_threads(hostile):
    # CPU time is per process: threads spend it faster, they do not escape it.
    source = ("import threading\ndef spin():\n    while True:\n        pass\n"
              "def fitness_func(ga, solution, idx):\n"
              "    for _ in range(8):\n        threading.Thread(target=spin, daemon=True).start()\n    spin()\n")
    hostile.expect(source, "timeout", "CPU limit", limits=CPU_BOUND)


def test_sleep_forever(hostile):
    source = "import time\ndef fitness_func(ga, solution, idx):\n    time.sleep(10 ** 6)\n"
    hostile.expect(source, "timeout", "wall-clock", limits={"wall_seconds": 1})
    assert_no_jail_processes()  # PDEATHSIG, re-armed after the uid change, took the payload down


def test_block_forever_on_a_lock_in_a_thread(hostile):
    source = ("import threading\ndef fitness_func(ga, solution, idx):\n    lock = threading.Lock()\n"
              "    lock.acquire()\n    threading.Thread(target=lock.acquire).start()\n    lock.acquire()\n")
    hostile.expect(source, "timeout", "wall-clock", limits={"wall_seconds": 1})


def test_deep_recursion(hostile):
    source = "def down(n):\n    return down(n + 1) + 1\ndef fitness_func(ga, solution, idx):\n    return down(0)\n"
    hostile.expect(source, "fitness_error", "RecursionError")


def test_crash_the_interpreter(hostile):
    source = ("import ctypes\ndef fitness_func(ga, solution, idx):\n"
              "    return float(ctypes.c_long.from_address(16).value)\n")
    hostile.expect(source, "fitness_error", "killed by SIGSEGV")


def test_descriptor_exhaustion(hostile):
    source = ("import os\nfds = []\ndef fitness_func(ga, solution, idx):\n    while True:\n"
              "        fds.append(os.open('/dev/null', os.O_RDONLY))\n")
    hostile.expect(source, "fitness_error", "Too many open files")


def test_print_flood(hostile):
    source = ("def fitness_func(ga, solution, idx):\n    for _ in range(8):\n"
              "        print('y' * (1 << 20))\n    return 1.0\n")
    submission = hostile.expect(source, None)
    logs = hostile.logs(submission)
    assert 0 < len(logs) <= 64 * 1024


def test_flood_stdout_and_stderr_descriptors(hostile):
    source = ("import os\ndef fitness_func(ga, solution, idx):\n    for fd in (1, 2):\n"
              "        for _ in range(16):\n            os.write(fd, b'z' * (1 << 20))\n    return 1.0\n")
    hostile.expect(source, None)  # they are /dev/null


def test_flood_the_result_channel(hostile):
    source = ("import os\ndef fitness_func(ga, solution, idx):\n    while True:\n"
              "        os.write(3, b'{\"type\":\"progress\"}' * 4096)\n")
    hostile.expect(source, "invalid_report", f"more than {MAX_RESULT_BYTES} bytes")


def test_flood_of_small_report_lines(hostile):
    # Each line costs the server a JSON parse and a check, a job a few bytes of one write: 15000
    # progress lines (under the output cap) cost it a millisecond, and the server as much CPU as
    # the whole run; MAX_RESULT_BYTES (32 MiB by default) of them cost the server four seconds of
    # CPU for 0.05 credits. The runner writes at most ten progress lines a second.
    source = ("import os\nline = b'{\"type\":\"progress\",\"generations_completed\":0}\\n'\n"
              "os.write(3, line * 15000)\ndef fitness_func(ga, solution, idx):\n    return 1.0\n")
    hostile.expect(source, "invalid_report", "more report lines than a run writes")


def test_a_line_of_many_tiny_values(hostile):
    # Within the line cap, three bytes make an empty list: a 32 MiB line of them cost the server
    # 856 MiB of memory and 4 s of CPU to parse, before any check, for a few ms of the job's.
    source = ("import os\nos.write(3, b'{\"type\":\"progress\",\"generations_completed\":0,\"x\":['"
              " + b'[],' * 300000 + b'1]}\\n')\ndef fitness_func(ga, solution, idx):\n    return 1.0\n")
    hostile.expect(source, "invalid_report", "more values than a report of this run holds")


def test_one_oversized_line(hostile):
    source = f"import os\nos.write(3, b'x' * {MAX_RESULT_BYTES + 4096})\ndef fitness_func(ga, solution, idx):\n" \
             "    return 1.0\n"
    hostile.expect(source, "invalid_report")


def test_file_too_large(hostile):
    source = "def fitness_func(ga, solution, idx):\n    open('/tmp/big', 'wb').write(b'x' * (2 << 20))\n"
    hostile.expect(source, "fitness_error", "File too large")
