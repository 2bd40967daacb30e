"""One run, from spawn to outcome: read the job's report under a deadline and decide.

`execute()` knows nothing of the database: it takes the job's spec and limits and
returns an `Outcome`. What is trusted comes from the zygote (exit status, CPU time,
memory) and from our own clock; what the job wrote is checked by `report`.
"""
import logging
import os
import selectors
import signal
import socket
import time
from dataclasses import dataclass, field

from vilvik_sandbox import channel

from . import report
from .zygote import ZygoteUnavailable

log = logging.getLogger("vilvik.job")

EXIT_REPORT_TIMEOUT = 10  # seconds to hear the zygote reap a job whose output has closed
SPEC_SEND_TIMEOUT = 30  # seconds for a job to read its spec (it does so before anything else)
CANCEL_GRACE = 0.7  # seconds a cancelled run has to stop at a generation boundary before it is killed


@dataclass
class Outcome:
    status: str  # succeeded | failed | cancelled | requeue
    error: dict | None = None
    result: dict | None = None
    usage: dict = field(default_factory=dict)
    sandbox: list | None = None
    logs: str = ""
    progress: tuple | None = None  # (generations_completed, best_fitness) last seen


@dataclass
class Stop:
    """Why the server ended a run early (set by cancel or shutdown)."""
    reason: str | None = None  # "cancel" | "shutdown"


class _Killed(Exception):
    def __init__(self, error):
        super().__init__(error["message"])
        self.error = error


def execute(zygote, job_id, spec, limits, *, slot, wall_seconds, max_output_bytes, on_progress=None,
            stop=None, stop_poll=0.2):
    """Run one job in the sandbox and return its outcome (never raises for the job's faults)."""
    stop = stop or Stop()
    started = time.monotonic()
    # A socket pair, not a pipe: the job writes its report, and we can ask it to stop.
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        try:
            zygote.spawn(job_id, limits, slot, theirs.fileno())
        finally:
            theirs.close()
        try:
            ours.settimeout(SPEC_SEND_TIMEOUT)
            channel.send_spec(ours, spec)
        except OSError:
            pass  # the job died before reading it: its exit report says how
        finally:
            ours.setblocking(True)
        reading = _Reading(spec["params"], on_progress)
        kill_error = None
        try:
            _read_until_closed(ours, reading, started + wall_seconds, max_output_bytes, stop, stop_poll,
                               wall_seconds)
        except _Killed as killed:
            kill_error = killed.error
            zygote.kill(job_id)
        exit_report = zygote.wait_exit(job_id, EXIT_REPORT_TIMEOUT)
        if exit_report is None:
            zygote.kill(job_id)
            exit_report = zygote.wait_exit(job_id, EXIT_REPORT_TIMEOUT) or {"op": "lost"}
    except ZygoteUnavailable as exc:
        return Outcome("failed", {"code": "internal_error", "message": f"the sandbox is unavailable: {exc}"})
    finally:
        ours.close()
    usage = {"wall_seconds": round(time.monotonic() - started, 3)}
    if exit_report.get("op") == "exited":
        usage["cpu_seconds"] = round(float(exit_report["cpu_seconds"]), 3)
        usage["peak_memory_bytes"] = int(exit_report["peak_memory_bytes"])
    outcome = _decide(reading, exit_report, kill_error, stop, limits)
    outcome.usage = usage
    outcome.sandbox = reading.layers
    outcome.progress = reading.progress
    return outcome


class _Reading:
    """What the job has said so far."""

    def __init__(self, params, on_progress):
        self.params = params
        self.on_progress = on_progress
        self.layers = None
        self.final = None  # ("result", body, logs) | ("error", error, logs)
        self.malformed = None
        self.progress = None
        self.jail_failed = None

    def take(self, line):
        if self.malformed or self.final:
            return
        try:
            message = report.parse_line(line)
            if self.layers is None:
                if message["type"] == "jail_failed":  # trusted: written by the jail before user code
                    self.jail_failed = str(message.get("error"))[:500]
                    raise report.MalformedReport("the jail could not confine the run")
                self.layers = report.check_hello(message)
            elif message["type"] == "progress":
                generations, best, mean = report.check_progress(message, self.params)
                self.progress = (generations, best)
                if self.on_progress:
                    self.on_progress(generations, best, mean)
            elif message["type"] == "result":
                body, logs = report.check_result(message, self.params)
                self.final = ("result", body, logs)
            elif message["type"] == "error":
                error, logs = report.check_error(message)
                self.final = ("error", error, logs)
            else:
                raise report.MalformedReport(f"unknown report type {message['type'][:40]!r}")
        except report.MalformedReport as exc:
            self.malformed = str(exc)


def _read_until_closed(sock, reading, deadline, max_bytes, stop, stop_poll, wall_seconds):
    fd = sock.fileno()
    selector = selectors.DefaultSelector()
    selector.register(fd, selectors.EVENT_READ)
    buffer, total = b"", 0
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
                raise _Killed({"code": "timeout", "message": f"the run exceeded its wall-clock limit of "
                                                            f"{wall_seconds:g} seconds"})
            if not selector.select(min(remaining, stop_poll, CANCEL_GRACE / 4 if cancel_deadline else stop_poll)):
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except ConnectionResetError:  # the job closed its end with our stop request unread
                chunk = b""
            if not chunk:
                if buffer.strip():
                    reading.take(buffer)
                return
            total += len(chunk)
            if total > max_bytes:
                raise _Killed({"code": "sandbox_violation",
                               "message": f"the run wrote more than {max_bytes} bytes of output"})
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                reading.take(line)
    finally:
        selector.close()


def _decide(reading, exit_report, kill_error, stop, limits):
    if stop.reason == "shutdown":
        return Outcome("requeue")
    if stop.reason == "cancel" and not _ended_by_itself(reading, kill_error):
        final = reading.final if reading.final and reading.final[0] == "result" else None
        return Outcome("cancelled", result=final[1] if final else None, logs=final[2] if final else "")
    if kill_error:
        return Outcome("failed", kill_error)
    if exit_report.get("op") != "exited":
        return Outcome("failed", {"code": "internal_error", "message": "the sandbox lost this run"})
    if reading.layers is None:
        if reading.jail_failed:
            log.error("the jail could not confine a run: %s", reading.jail_failed)
        return Outcome("failed", {"code": "internal_error", "message": "the sandbox could not start this run"})
    payload_signal = _payload_signal(exit_report)
    if payload_signal is not None:
        return Outcome("failed", _signal_error(payload_signal, exit_report, limits))
    if reading.malformed:
        return Outcome("failed", {"code": "sandbox_violation", "message": f"the run's report was malformed: "
                                                                        f"{reading.malformed}"})
    if reading.final is None:
        code = exit_report.get("exit_code")
        return Outcome("failed", {"code": "fitness_error",
                                  "message": f"the run ended without a result (exit code {code})"})
    kind, body, logs = reading.final
    if kind == "error":
        return Outcome("failed", body, logs=logs)
    return Outcome("succeeded", result=body, logs=logs)


def _ended_by_itself(reading, kill_error):
    """Did the run finish or fail on its own before a cancel reached it? Then that ending stands."""
    if kill_error is not None or reading.final is None:
        return False
    kind, body, _logs = reading.final
    return kind == "error" or not body["stopped"]


def _payload_signal(exit_report):
    if exit_report.get("signal") is not None:  # the keeper itself was killed
        return exit_report["signal"]
    code = exit_report.get("exit_code")
    if code is not None and code > 128:
        return code - 128
    return None


def _signal_error(signum, exit_report, limits):
    cpu_limit = limits["cpu_seconds"]
    if signum == signal.SIGXCPU or (signum == signal.SIGKILL and exit_report["cpu_seconds"] >= cpu_limit - 0.05):
        return {"code": "timeout", "message": f"the run exceeded its CPU limit of {cpu_limit} seconds"}
    if signum == signal.SIGSYS:
        return {"code": "sandbox_violation", "message": "the run attempted a forbidden operation"}
    name = signal.Signals(signum).name if signum in signal.Signals._value2member_map_ else str(signum)
    return {"code": "fitness_error", "message": f"the run was killed by {name}"}
