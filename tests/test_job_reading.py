"""Reading a job's output: bounded lines, O(bytes) cost, and every failure to judge it ends the run."""
import os
import socket
import threading
import time

import pytest

from vilvik_server.engine import job, report
from vilvik_server.engine.zygote import Spawned, Spawning

PARAMS = {"num_generations": 3, "num_genes": 2, "sol_per_pop": 2}
HELLO = b'{"type":"hello","layers":["seccomp"]}\n'


def _read(chunks, *, max_line=1 << 20, max_bytes=64 << 20, on_progress=None):
    """Feed `chunks` through a socket pair into the server's reader; returns (reading, kill error, CPU used)."""
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def write():
        try:
            for chunk in chunks:
                theirs.sendall(chunk)
        except OSError:
            pass
        finally:
            theirs.close()

    writer = threading.Thread(target=write)
    writer.start()
    reading = job._Reading(PARAMS, on_progress)
    error = None
    started = time.thread_time()
    try:
        job._read_until_closed(ours, reading, time.monotonic() + 60, max_line, max_bytes, job.Stop(), 0.2, 60)
    except job._Killed as killed:
        error = killed.error
    cpu = time.thread_time() - started
    ours.close()
    writer.join()
    return reading, error, cpu


def test_a_line_longer_than_its_cap_ends_the_run_before_the_output_cap():
    _, error, _ = _read([HELLO] + [b"7" * 4096] * 64, max_line=100_000)
    assert error["code"] == "invalid_report" and "longer than 100000 bytes" in error["message"]


def test_output_beyond_the_total_cap_ends_the_run():
    line = b'{"type":"progress","generations_completed":0' + b" " * 30_000 + b'}\n'
    _, error, _ = _read([HELLO] + [line] * 5, max_bytes=100_000)
    assert error["code"] == "invalid_report" and "more than 100000 bytes" in error["message"]


def test_more_lines_than_the_runner_writes_end_the_run():
    # The runner writes ten progress lines a second at most; a flood of small lines would cost
    # the server a JSON parse each, for a few bytes of the job's.
    _, error, _ = _read([HELLO] + [b'{"type":"progress","generations_completed":0}\n'] * 200)
    assert error["code"] == "invalid_report" and "more report lines than a run writes" in error["message"]


def test_a_line_of_more_values_than_a_report_holds_is_refused_unparsed():
    # 900 KB of empty lists: within the line cap, but 300000 objects to build before any check.
    line = b'{"type":"progress","generations_completed":0,"x":[' + b"[]," * 300_000 + b"1]}\n"
    _, error, cpu = _read([HELLO, line])
    assert error["code"] == "invalid_report" and "more values than a report of this run holds" in error["message"]
    assert cpu < 0.05, f"the server spent {cpu:.3f} s on it"


def test_reading_costs_linear_time_in_the_bytes_written():
    # 24 MiB without a newline in 64 KiB writes: re-joining and re-scanning the whole buffer on
    # every read costs the server seconds of CPU; searching only the new chunk, milliseconds.
    _, error, cpu = _read([HELLO] + [b"x" * 65536] * 384, max_line=64 << 20)
    assert error["code"] == "invalid_report" and "not a JSON line" in error["message"]  # judged once, at its end
    assert cpu < 0.5, f"the server spent {cpu:.2f} s of CPU reading 24 MiB"


@pytest.mark.parametrize("line", [
    b'{"type":"progress","generations_completed":0,"best_fitness":' + b"9" * 400 + b"}",
    b'{"type":"progress","generations_completed":0,"best_fitness":' + b"[" * 900 + b"1" + b"]" * 900 + b"}",
    b'{"type":"progress","generations_completed":0,"best_fitness":1e999}',
    b'{"type":"progress","generations_completed":0,"best_fitness":[]}',
    b'{"type":"progress","generations_completed":1.5}',
    b'{"type":"result"}',
    b'{"type":"error","error":{"code":["fitness_error"]}}',
    b'{"type":' + b'"x' * 10 + b'"}',
    b"\xed\xa0\x80",
])
def test_every_failure_to_judge_a_line_is_the_jobs_invalid_report(line):
    _, error, _ = _read([HELLO, line + b"\n"])
    assert error is not None and error["code"] == "invalid_report", error


def test_a_failing_progress_write_is_no_fault_of_the_job():
    def broken(*_):
        raise RuntimeError("the database is away")
    reading, error, _ = _read([HELLO, b'{"type":"progress","generations_completed":1,"best_fitness":2.0}\n'],
                              on_progress=broken)
    assert error is None and reading.progress == (1, 2.0)


def test_a_first_line_that_is_not_the_jails_hello_is_the_servers_fault():
    _, error, _ = _read([b'{"type":"jail_failed","error":"no landlock"}\n'])
    assert error["code"] == "internal_error"


def test_the_line_cap_is_fixed_by_the_runs_own_shape():
    small = report.max_line_bytes(PARAMS, 64 << 20)
    big = report.max_line_bytes({"num_generations": 100, "num_genes": 1000, "sol_per_pop": 1000}, 64 << 20)
    assert report.LINE_BASE_BYTES < small < big <= 64 << 20
    assert report.max_line_bytes(PARAMS, 70_000) == 70_000


class _SilentZygote:
    """A zygote that starts jobs but never reports their end (as one that hangs would)."""

    alive = True

    def __init__(self):
        self.kills = 0
        self.report_read, self.report_write = os.pipe()  # a keeper's report that never comes

    def spawn(self, job_id, limits, slot, fd, meanwhile=None):
        if meanwhile is not None:
            meanwhile()
        spawning = Spawning(self, job_id, None)
        spawning.spawned = Spawned(4242, os.dup(self.report_read))
        return spawning

    def kill(self, job_id):
        self.kills += 1

    def wait_exit(self, job_id, timeout):
        time.sleep(min(timeout, 0.01))
        return None


def test_a_job_whose_end_is_never_heard_keeps_its_slot_out_of_use(monkeypatch):
    monkeypatch.setattr(job, "REAP_TIMEOUT", 0.2)
    zygote = _SilentZygote()
    outcome = job.execute(zygote, "j1", {"params": PARAMS, "fitness_func": "", "entry": "f"},
                          {"cpu_seconds": 1, "memory_bytes": 1 << 26}, slot=0, wall_seconds=0.3,
                          max_output_bytes=1 << 20)
    assert outcome.reaped is False and zygote.kills >= 1
    assert outcome.status == "failed" and outcome.error["code"] == "timeout"


def test_the_executor_reuses_no_slot_whose_job_may_live(tmp_path, monkeypatch):
    from vilvik_server.engine.executor import Executor

    executor = Executor.__new__(Executor)
    executor._free_slots, executor._slots_lock = [], threading.Lock()
    executor.db = type("Db", (), {"close": lambda self: None, "release": lambda self: None})()
    executor._seats = threading.BoundedSemaphore(1)
    executor._seats.acquire()  # as the dispatcher does before it hands a run over
    monkeypatch.setattr(executor, "_run", lambda row, slot: False, raising=False)  # its end never confirmed
    executor._run_claimed({"id": "s1"}, 7)
    assert executor._free_slots == [] and executor._seats.acquire(blocking=False) is False
    executor._seats = threading.BoundedSemaphore(1)
    executor._seats.acquire()
    monkeypatch.setattr(executor, "_run", lambda row, slot: True, raising=False)  # reaped
    executor._run_claimed({"id": "s2"}, 8)
    assert executor._free_slots == [8] and executor._seats.acquire(blocking=False) is True


def test_a_workers_outcome_may_carry_invalid_report():
    from vilvik_server.engine import wire

    message = {"status": "failed", "error": {"code": "invalid_report", "message": "bad \udfff line"},
               "usage": {"cpu_seconds": 0.5, "wall_seconds": 1.0}}
    outcome = wire.check_outcome(message, PARAMS, {"cpu_seconds": 5, "wall_seconds": 10})
    assert outcome.error["code"] == "invalid_report" and outcome.error["message"] == "bad \ufffd line"


@pytest.mark.parametrize("setup", ['"0.5"', "-1", "1e9", "true", "null"])
def test_a_hello_whose_setup_cpu_is_not_a_sensible_number_is_the_servers_fault(setup):
    hello = b'{"type":"hello","layers":["seccomp"],"setup_cpu_seconds":' + setup.encode() + b"}\n"
    _, error, _ = _read([hello])
    assert error["code"] == "internal_error", error


def test_the_jails_setup_cpu_from_the_hello_is_kept_for_the_charge():
    reading, error, _ = _read([b'{"type":"hello","layers":["seccomp"],"setup_cpu_seconds":0.012}\n'])
    assert error is None and reading.setup_cpu_seconds == 0.012 and reading.layers == ["seccomp"]


class _ReapingZygote:
    """A zygote whose word on a job's end is ready: what it saw when it reaped the keeper."""

    def __init__(self):
        self.forgotten = []

    def wait_exit(self, job_id, timeout):
        return {"op": "exited", "exit_code": 9, "signal": None, "cpu_seconds": 0.5, "peak_memory_bytes": 1}

    def forget(self, job_id):
        self.forgotten.append(job_id)


def _ending_after(report_bytes):
    zygote = _ReapingZygote()
    read_end, write_end = os.pipe()
    os.write(write_end, report_bytes)
    os.close(write_end)  # the keeper has gone
    ending = job._Ending(zygote, "j1", read_end)
    try:
        return ending.wait(1.0), zygote.forgotten
    finally:
        ending.close()


def test_the_keepers_report_is_the_jobs_end_without_waiting_for_the_zygote():
    end, forgotten = _ending_after(b'{"exit_code": 0, "cpu_seconds": 0.25, "peak_memory_bytes": 4096}\n')
    assert end == {"op": "exited", "exit_code": 0, "signal": None, "cpu_seconds": 0.25, "peak_memory_bytes": 4096}
    assert forgotten == ["j1"]  # the zygote's own word on it, when it reaps the keeper, is dropped


@pytest.mark.parametrize("report_bytes", [
    b"",  # the keeper died before it could report
    b'{"exit_code": 0, "cpu_seconds": 0.25',  # ... or while it wrote
    b'{"exit_code": 0, "cpu_seconds": -1, "peak_memory_bytes": 4096}\n',
    b'{"exit_code": 0, "cpu_seconds": NaN, "peak_memory_bytes": 4096}\n',
    b'{"exit_code": 999, "cpu_seconds": 0.1, "peak_memory_bytes": 4096}\n',
    b"x" * 10_000,
])
def test_without_a_sound_report_from_the_keeper_the_zygotes_word_on_its_exit_is_the_jobs_end(report_bytes):
    end, _ = _ending_after(report_bytes)
    assert end["exit_code"] == 9 and end["cpu_seconds"] == 0.5
