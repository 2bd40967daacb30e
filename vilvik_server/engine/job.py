"""One run, from spawn to outcome: read the job's report under a deadline and decide.

`execute()` knows nothing of the database: it takes the job's spec and limits and
returns an `Outcome`. What is trusted comes from the zygote (exit status, CPU time,
memory) and from our own clock; what the job wrote is checked by `report`.
"""
import json
import logging
import math
import os
import select
import selectors
import signal
import socket
import time
from dataclasses import dataclass, field

from vilvik_sandbox import channel

from ..domain import stop_reason
from ..domain.statuses import Status
from ..domain.words import plural
from . import report
from .zygote import ZygoteUnavailable

log = logging.getLogger("vilvik.job")

EXIT_GRACE = 0.2  # seconds past its deadline a job that closed its output has to exit
REAP_TIMEOUT = 30  # seconds to hear the zygote reap a job it was told to kill
SPEC_SEND_TIMEOUT = 30  # seconds for a job to read its spec (it does so before anything else)
CANCEL_GRACE = 0.7  # seconds a cancelled run has to stop at a generation boundary before it is killed
# Report lines a run may send: LINES_AT_ONCE, and LINES_PER_SECOND more for every second since its
# output was first read. The runner writes one progress line per PROGRESS_INTERVAL (0.1 s) at most,
# and one final line; each line costs us a JSON parse and its checks, a job a few bytes of a write.
LINES_AT_ONCE = 10
LINES_PER_SECOND = 20


@dataclass
class Outcome:
    """How a run ended (status: succeeded, failed or cancelled), or that it did not end (requeue)."""

    status: Status | None  # None only with requeue
    error: dict | None = None
    result: dict | None = None
    usage: dict = field(default_factory=dict)
    sandbox: list | None = None
    logs: str = ""
    progress: tuple | None = None  # (generations_completed, best_fitness) last seen
    reaped: bool = True  # False: the job's end was never confirmed, so its slot stays out of use
    requeue: bool = False  # stopped by a shutdown before it ended: it goes back to the queue, with no ending

    @classmethod
    def interrupted(cls):
        """A run the server stopped to run again later (its shutdown grace ran out)."""
        return cls(None, requeue=True)


@dataclass(frozen=True)
class FinalReport:
    """The job's last line, checked: its result or the error it failed with, and what it printed."""

    result: dict | None = None
    error: dict | None = None
    logs: str = ""


@dataclass
class Stop:
    """Why the server ended a run early (set by cancel or shutdown)."""
    reason: str | None = None  # "cancel" | "shutdown"


class _Killed(Exception):
    def __init__(self, error):
        super().__init__(error["message"])
        self.error = error


def execute(zygote, job_id, spec, limits, *, slot, wall_seconds, max_output_bytes, on_progress=None,
            stop=None, stop_poll=0.2, on_outcome=None):
    """Run one job in the sandbox and return its outcome (never raises for the job's faults).

    Whatever happens while the job's output is read or judged, the job is killed and its
    exit report heard before this returns: `Outcome.reaped` is False only when the zygote,
    still alive, never reported the job's end (then its slot must not be used again).

    `on_outcome(outcome)`, if given, is called once with the outcome as soon as it is decided:
    for a run that wrote its final report and closed its output, that is before its processes
    are gone (its CPU time is then read from the kernel, see _Ending.payload_usage), so the
    caller can store it while they are torn down; otherwise once the job's end is heard. What
    it raises is raised again once the job has ended.
    """
    stop = stop or Stop()
    started = time.monotonic()
    deadline = started + wall_seconds
    # A socket pair, not a pipe: the job writes its report, and we can ask it to stop.
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)

    def send_spec():
        # While the zygote starts the job: the spec waits in the socket until the payload,
        # confined, reads it. Our end of its socket is closed first, so a job that never
        # starts (the zygote closes its copy) makes this fail at once instead of blocking.
        theirs.close()
        try:
            ours.settimeout(SPEC_SEND_TIMEOUT)
            channel.send_spec(ours, spec)
        except OSError:
            pass  # the job died before reading it: its exit report says how
        finally:
            ours.setblocking(True)

    try:
        try:
            spawning = zygote.spawn(job_id, limits, slot, theirs.fileno(), meanwhile=send_spec)
        finally:
            theirs.close()
    except ZygoteUnavailable as exc:
        ours.close()
        return _settled(_unavailable(exc), on_outcome)
    # The output is read at once: the zygote's answer (the keeper's pid and its report) is needed
    # only for the job's end, and a job the zygote could not start closes its output at once.
    reading = _Reading(spec["params"], on_progress)
    kill_error, ending, usage = None, None, None
    try:
        try:
            max_line = report.max_line_bytes(spec["params"], max_output_bytes)
            _read_until_closed(ours, reading, deadline, max_line, max_output_bytes, stop, stop_poll, wall_seconds)
        except _Killed as killed:
            kill_error = killed.error
        except Exception:  # noqa: B902 - our own fault; the job still ends before its slot is freed
            log.exception("job %s: reading its output failed", job_id)
            kill_error = {"code": "internal_error", "message": "the server failed while reading this run's output"}
        try:
            spawned = spawning.wait()
        except ZygoteUnavailable as exc:
            return _settled(_unavailable(exc), on_outcome)
        ending = _Ending(zygote, job_id, spawned.report_fd)
        if on_outcome is not None and kill_error is None and stop.reason is None and reading.final is not None:
            # Its output ended after its final report: the payload waits for us to close its
            # channel (jail.END_OF_OUTPUT_WAIT at most), so its usage is read while it is there.
            try:
                usage = ending.payload_usage()
            except Exception:  # noqa: B902 - our own fault: the keeper's report decides instead
                log.exception("job %s: reading its usage from the kernel failed", job_id)
            if usage is not None:
                # Its CPU time is read: nothing it does from here is charged, so it does nothing more.
                ending.kill_payload()
    finally:
        ours.close()
    early, failure = None, None
    try:
        if usage is not None:
            # Decided by its final report; what its process does from here (it was killed as its
            # usage was read) cannot change that, nor is it charged.
            cpu_seconds, peak_memory_bytes = usage
            early = _outcome(reading, _exited(0, cpu_seconds, peak_memory_bytes), None, stop, limits, started)
            try:
                on_outcome(early)
            except BaseException as exc:  # noqa: B902 - raised again once the job has ended
                failure = exc
            deadline = min(deadline, time.monotonic() + EXIT_GRACE)
        exit_report, timed_out = _end(zygote, ending, deadline, kill_now=kill_error is not None)
    finally:
        ending.close()
    reaped = exit_report.get("op") == "exited" or not zygote.alive
    if early is not None:
        _log_after_report(job_id, exit_report)
        early.reaped = reaped
        if failure is not None:
            raise failure
        return early
    if timed_out and kill_error is None:
        kill_error = _timeout_error(wall_seconds)
    outcome = _outcome(reading, exit_report, kill_error, stop, limits, started)
    outcome.reaped = reaped
    return _settled(outcome, on_outcome)


def _settled(outcome, on_outcome):
    """The outcome, handed to `on_outcome` first when there is one."""
    if on_outcome is not None:
        on_outcome(outcome)
    return outcome


def _outcome(reading, exit_report, kill_error, stop, limits, started):
    usage = {"wall_seconds": round(time.monotonic() - started, 3)}
    if exit_report.get("op") == "exited":
        usage["cpu_seconds"] = round(max(0.0, float(exit_report["cpu_seconds"]) - reading.setup_cpu_seconds), 3)
        usage["peak_memory_bytes"] = int(exit_report["peak_memory_bytes"])
    outcome = _decide(reading, exit_report, kill_error, stop, limits)
    outcome.usage = usage
    outcome.sandbox = reading.layers
    outcome.progress = reading.progress
    return outcome


def _log_after_report(job_id, exit_report):
    """A run decided by its final report that then ended badly: the operator hears of it."""
    signum = _payload_signal(exit_report) if exit_report.get("op") == "exited" else None
    if exit_report.get("op") != "exited":
        log.warning("job %s: its end was not heard after its final report", job_id)
    elif signum is not None and signum != signal.SIGKILL:  # (SIGKILL is ours: _Ending.kill_payload)
        log.warning("job %s: killed by signal %d after its final report (its outcome stands)", job_id, signum)


def _unavailable(exc):
    return Outcome(Status.FAILED, {"code": "internal_error", "message": f"the sandbox is unavailable: {exc}"})


def _end(zygote, ending, deadline, kill_now):
    """The job's exit report: awaited until its wall-clock deadline, then it is killed.

    Returns (exit report, whether the deadline killed it). A job that closed its output
    and runs on is still killed at its deadline. After a kill the report is awaited for
    up to REAP_TIMEOUT; {"op": "lost"} if neither the keeper nor the zygote ever gave it.
    """
    timed_out = False
    if not kill_now:
        exit_report = ending.wait(max(0.0, deadline - time.monotonic()) + EXIT_GRACE)
        if exit_report is not None:
            return exit_report, False
        timed_out = True
    give_up = time.monotonic() + REAP_TIMEOUT
    while True:
        zygote.kill(ending.job_id)  # again each second: a kill the zygote lost is sent once more
        exit_report = ending.wait(1.0)
        if exit_report is not None:
            return exit_report, timed_out
        if not zygote.alive or time.monotonic() > give_up:
            log.error("job %s: no exit report from the zygote after a kill", ending.job_id)
            return {"op": "lost"}, timed_out


class _Ending:
    """Where a job's end is heard: its keeper's report, read here without a hop through the zygote;
    or, if the keeper died before it could report (the report's read end then closes without its
    end line), the zygote's word once it has reaped the keeper.

    The keeper writes two JSON lines: {"payload_pid"} once it has forked the payload, and
    {"exit_code", "cpu_seconds", "peak_memory_bytes"} once it has reaped it (nothing of the job
    runs any more). The keeper runs no job code: its lines are trusted, and still checked.
    """

    MAX_REPORT_BYTES = 4096

    def __init__(self, zygote, job_id, report_fd):
        self.zygote, self.job_id, self.fd = zygote, job_id, report_fd
        self.data = b""
        self.payload_pid = None
        self.payload_fd = None  # a pidfd of the payload, once its usage was read (kill_payload)
        self.end = None

    def wait(self, timeout):
        """The exit report, as the zygote's "exited" message has it, or None after `timeout` seconds."""
        give_up = time.monotonic() + timeout
        while self.end is None and self.fd is not None:
            if not self._read(max(0.0, give_up - time.monotonic())) and self.fd is not None:
                return None  # nothing yet
        if self.end is not None:
            self.zygote.forget(self.job_id)  # its "exited", when it reaps the keeper, is not needed
            return self.end
        log.warning("job %s: its keeper ended without a report; the zygote's word on it is awaited", self.job_id)
        return self.zygote.wait_exit(self.job_id, max(0.0, give_up - time.monotonic()))

    def payload_usage(self):
        """The payload's CPU seconds and peak memory now, from the kernel; None if they cannot be read
        (no pid reported, or the payload already reaped: then its keeper's report is the word).

        The payload is still there when this runs (it waits for us to close its channel), and the
        sample is dropped if the keeper's end line, written as soon as it has reaped the payload,
        is there after it: only a pid reused within the microseconds between that reaping and
        that write could escape the check.

        A sample is given only with a pidfd of the payload held (opened before the sample, so it
        names the same process), for kill_payload(): the CPU the job uses after this is never
        charged, so it must not be able to go on. Without a pidfd (a kernel before 5.3, a
        seccomp profile that refuses it) there is no sample: the keeper's report, which counts
        every second the payload ran, is the word.
        """
        while self.payload_pid is None and self.fd is not None and self._read(0.01):
            pass
        if self.payload_pid is None:
            return None
        try:
            payload_fd = os.pidfd_open(self.payload_pid)
        except OSError:
            return None
        try:
            cpu_seconds = time.clock_gettime(_process_cpu_clock(self.payload_pid))
            with open(f"/proc/{self.payload_pid}/status", "rb") as status:
                peak = next((line for line in status if line.startswith(b"VmHWM:")), None)
            while self.fd is not None and self._read(0):
                pass
        except BaseException as exc:  # noqa: B902 - the pidfd is not kept; OSError: no sample
            os.close(payload_fd)
            if isinstance(exc, OSError):
                return None
            raise
        if self.end is not None or peak is None:
            os.close(payload_fd)
            return None  # reaped meanwhile (or its memory already gone): the keeper's report is the word
        self.payload_fd = payload_fd
        return cpu_seconds, int(peak.split()[1]) * 1024

    def kill_payload(self):
        """SIGKILL the payload whose usage payload_usage() read (through its pidfd: never another process)."""
        if self.payload_fd is not None:
            try:
                signal.pidfd_send_signal(self.payload_fd, signal.SIGKILL)
            except ProcessLookupError:
                pass  # gone already
            except OSError:  # then it is killed EXIT_GRACE after its final report, as a job that lingers
                log.exception("job %s: could not kill its payload after its final report", self.job_id)

    def _read(self, timeout):
        """Read what the keeper wrote, within `timeout`; False if nothing came (or the report closed)."""
        poll = select.poll()
        poll.register(self.fd, select.POLLIN)
        if not poll.poll(timeout * 1000):
            return False
        try:
            chunk = os.read(self.fd, self.MAX_REPORT_BYTES)
        except OSError:
            chunk = b""
        self.data += chunk
        while b"\n" in self.data:
            line, self.data = self.data.split(b"\n", 1)
            self._take(line)
        if not chunk or len(self.data) >= self.MAX_REPORT_BYTES:
            self.close()
            return False
        return True

    def _take(self, line):
        try:
            message = json.loads(line)
            if self.payload_pid is None and "payload_pid" in message:
                pid = message["payload_pid"]
                if type(pid) is int and pid > 1:
                    self.payload_pid = pid
                return
        except (ValueError, TypeError):
            return
        if self.end is None:
            self.end = _keepers_report(message)
            if self.end is not None:
                self.close()

    def close(self):
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
        if self.payload_fd is not None:
            os.close(self.payload_fd)
            self.payload_fd = None


def _process_cpu_clock(pid):
    """The clock id of a process's CPU time (its threads' run time in all), as clock_getcpuclockid() makes it."""
    cpuclock_sched = 2
    return (~pid << 3) | cpuclock_sched


def _keepers_report(end):
    """The keeper's end line ({"exit_code", "cpu_seconds", "peak_memory_bytes"}) as an exit report, or None."""
    try:
        exit_code = int(end["exit_code"])
        cpu_seconds, peak_memory_bytes = float(end["cpu_seconds"]), int(end["peak_memory_bytes"])
    except (ValueError, TypeError, KeyError):
        return None
    if not (0 <= exit_code <= 255 and math.isfinite(cpu_seconds) and cpu_seconds >= 0 and peak_memory_bytes >= 0):
        return None
    return _exited(exit_code, cpu_seconds, peak_memory_bytes)


def _exited(exit_code, cpu_seconds, peak_memory_bytes):
    """An exit report as the zygote's "exited" message has it, for a payload that ended without a signal."""
    return {"op": "exited", "exit_code": exit_code, "signal": None, "cpu_seconds": cpu_seconds,
            "peak_memory_bytes": peak_memory_bytes}


def _timeout_error(wall_seconds):
    return {"code": "timeout", "message": f"the run exceeded its wall-clock limit of {plural(wall_seconds, 'second', spec='g')}"}


class _Reading:
    """What the job has said so far. A line it may not send ends the run (raises _Killed)."""

    def __init__(self, params, on_progress):
        self.params = params
        self.on_progress = on_progress
        self.layers = None
        self.setup_cpu_seconds = 0.0  # the jail's, before the job's code ran: not the job's to pay
        self.final = None  # a FinalReport
        self.progress = None
        self.started = time.monotonic()
        self.lines = 0  # after the hello
        self.max_values = report.max_line_values(params)

    def take(self, line):
        if self.layers is None:
            self._hello(line)
            return
        if self.final:
            raise _Killed(_invalid_report("a line after the final report"))
        self.lines += 1
        elapsed = time.monotonic() - self.started
        if self.lines > LINES_AT_ONCE + LINES_PER_SECOND * elapsed:
            raise _Killed(_invalid_report(f"more report lines than a run writes ({self.lines} in {elapsed:.1f} s)"))
        if line.count(b",") + line.count(b"[") + line.count(b"{") > self.max_values:  # before parsing it
            raise _Killed(_invalid_report(f"a line with more values than a report of this run holds "
                                          f"({self.max_values})"))
        try:
            message = report.parse_line(line)
            if message["type"] == "progress":
                generations, best, mean = report.check_progress(message, self.params)
            elif message["type"] == "result":
                body, logs = report.check_result(message, self.params)
                self.final = FinalReport(result=body, logs=logs)
                return
            elif message["type"] == "error":
                error, logs = report.check_error(message)
                self.final = FinalReport(error=error, logs=logs)
                return
            else:
                raise report.MalformedReport(f"unknown report type {report.clean_text(message['type'][:40])!r}")
        except report.MalformedReport as exc:
            raise _Killed(_invalid_report(str(exc))) from None
        except Exception as exc:  # noqa: B902 - any failure to judge the job's output is the job's
            raise _Killed(_invalid_report(f"the server could not read it ({type(exc).__name__})")) from None
        self.progress = (generations, best)
        if self.on_progress:
            try:
                self.on_progress(generations, best, mean)
            except Exception:  # noqa: B902 - progress is advisory; the outcome is stored at the end
                log.warning("could not record a run's progress", exc_info=True)

    def _hello(self, line):
        """The first line, written by the jail before any user code: trusted, but checked."""
        try:
            message = report.parse_line(line)
            if message["type"] == "jail_failed":
                log.error("the jail could not confine a run: %s", report.clean_text(str(message.get("error")))[:500])
            else:
                self.layers, self.setup_cpu_seconds = report.check_hello(message)
                return
        except Exception:  # noqa: B902
            log.exception("a run's first line is not the jail's hello")
        raise _Killed({"code": "internal_error", "message": "the sandbox could not start this run"})


def _invalid_report(reason):
    return {"code": "invalid_report", "message": f"the run's report was refused: {reason}"}


def _read_until_closed(sock, reading, deadline, max_line, max_bytes, stop, stop_poll, wall_seconds):
    """Read the job's lines until it closes its end. Costs O(bytes): each chunk is searched once."""
    fd = sock.fileno()
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    line, total = bytearray(), 0
    cancel_deadline = None
    try:
        while True:
            if stop.reason == "cancel" and cancel_deadline is None:
                # Ask the run to stop after its current generation, so its state is kept.
                cancel_deadline = time.monotonic() + CANCEL_GRACE
                try:
                    sock.send(b"stop", socket.MSG_DONTWAIT)
                except OSError:
                    pass
            if stop.reason == "shutdown" or (cancel_deadline and time.monotonic() > cancel_deadline):
                raise _Killed({"code": stop.reason, "message": "stopped by the server"})
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Killed(_timeout_error(wall_seconds))
            if not selector.select(min(remaining, stop_poll, CANCEL_GRACE / 4 if cancel_deadline else stop_poll)):
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except ConnectionResetError:  # the job closed its end with our stop request unread
                chunk = b""
            if not chunk:
                if line.strip():
                    reading.take(line)
                return
            total += len(chunk)
            if total > max_bytes:
                raise _Killed(_invalid_report(f"the run wrote more than {max_bytes} bytes of output"))
            start = 0
            while (newline := chunk.find(b"\n", start)) >= 0:
                line += chunk[start:newline]
                _check_line_length(line, max_line)
                reading.take(line)
                line.clear()
                start = newline + 1
            line += chunk[start:]
            _check_line_length(line, max_line)
    finally:
        selector.close()


def _check_line_length(line, max_line):
    if len(line) > max_line:
        raise _Killed(_invalid_report(f"a line longer than {max_line} bytes"))


def _decide(reading, exit_report, kill_error, stop, limits):
    if stop.reason == "shutdown":
        return Outcome.interrupted()
    if stop.reason == "cancel" and not _ended_by_itself(reading, kill_error):
        final = reading.final if reading.final and reading.final.result is not None else FinalReport()
        return Outcome(Status.CANCELLED, result=final.result, logs=final.logs)
    if kill_error:
        return Outcome(Status.FAILED, kill_error)
    if exit_report.get("op") != "exited":
        return Outcome(Status.FAILED, {"code": "internal_error", "message": "the sandbox lost this run"})
    if reading.layers is None:
        return Outcome(Status.FAILED, {"code": "internal_error", "message": "the sandbox could not start this run"})
    payload_signal = _payload_signal(exit_report)
    if payload_signal is not None:
        return Outcome(Status.FAILED, _signal_error(payload_signal, exit_report, limits))
    if reading.final is None:
        code = exit_report.get("exit_code")
        return Outcome(Status.FAILED, {"code": "fitness_error",
                                  "message": f"the run ended without a result (exit code {code})"})
    if reading.final.error is not None:
        return Outcome(Status.FAILED, reading.final.error, logs=reading.final.logs)
    return Outcome(Status.SUCCEEDED, result=reading.final.result, logs=reading.final.logs)


def _ended_by_itself(reading, kill_error):
    """Did the run finish or fail on its own before a cancel reached it? Then that ending stands."""
    if kill_error is not None or reading.final is None:
        return False
    return reading.final.error is not None or not reading.final.result["stopped"]


def _payload_signal(exit_report):
    if exit_report.get("signal") is not None:  # the keeper itself was killed
        return exit_report["signal"]
    code = exit_report.get("exit_code")
    if code is not None and code > 128:
        return code - 128
    return None


def _signal_error(signum, exit_report, limits):
    cpu_limit = limits["cpu_seconds"]
    if signum == signal.SIGXCPU or (signum == signal.SIGKILL
                                    and stop_reason.cpu_limit_reached(exit_report["cpu_seconds"], cpu_limit)):
        return {"code": "timeout", "message": f"the run exceeded its CPU limit of {plural(cpu_limit, 'second')}"}
    if signum == signal.SIGSYS:
        return {"code": "sandbox_violation", "message": "the run attempted an operation the sandbox forbids: "
                "networking, new processes and shell commands are off inside jobs; see /docs/sandbox#the-seccomp-policy"}
    name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else str(signum)
    return {"code": "fitness_error", "message": f"the run was killed by {name}"}
