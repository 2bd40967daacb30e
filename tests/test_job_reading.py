"""Reading a job's output: bounded lines, O(bytes) cost, and every failure to judge it ends the run."""
import socket
import threading
import time

import pytest

from vilvik_server.engine import job, report

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
    _, error, _ = _read([HELLO] + [b'{"type":"progress","generations_completed":0}\n'] * 5000, max_bytes=100_000)
    assert error["code"] == "invalid_report" and "more than 100000 bytes" in error["message"]


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
