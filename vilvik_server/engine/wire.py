"""A run's outcome as a worker sends it, and the control plane's check of what arrives.

Anyone who can write to the broker can write these messages, so the control plane treats
them as it treats a local job's report: one bounded JSON object, every field checked
against the run's own parameters and limits (report.py does the result), or the run
fails with `sandbox_violation`. CPU and memory figures come from the worker's zygote.
"""
import math

from ..domain.statuses import TERMINAL as STATUSES
from . import report
from .job import Outcome

MAX_MESSAGE_BYTES = 64 << 20
ERROR_CODES = report.USER_ERROR_CODES + ("timeout", "invalid_report", "sandbox_violation", "internal_error",
                                        "worker_lost")
USAGE_SLACK_SECONDS = 5.0


class BadMessage(Exception):
    """A worker's message is not a valid report."""


def outcome_message(outcome, versions=None):
    """What a worker sends for a finished run (plain JSON data)."""
    result = dict(outcome.result) if outcome.result is not None else None
    return {"status": outcome.status, "error": outcome.error, "result": result, "logs": outcome.logs,
            "usage": outcome.usage, "sandbox": outcome.sandbox,
            "progress": list(outcome.progress) if outcome.progress else None, "versions": versions}


def parse(raw, max_bytes=MAX_MESSAGE_BYTES):
    """One message from a stream entry: a bounded JSON object with a type, a run id and an attempt."""
    if not isinstance(raw, (bytes, str)) or len(raw) > max_bytes:
        raise BadMessage("missing or too large")
    try:
        message = report.parse_line(raw)
    except report.MalformedReport as exc:
        raise BadMessage(str(exc)) from None
    if not isinstance(message.get("id"), str) or not 1 <= len(message["id"]) <= 40 \
            or not _is_int(message.get("attempt")) or not isinstance(message.get("worker"), str) \
            or len(message["worker"]) > 200:
        raise BadMessage("a report needs an id, an attempt and a worker")
    return message


def check_outcome(message, params, limits):
    """The Outcome a worker's outcome message stands for, checked; BadMessage if it is not valid."""
    try:
        return _check(message, params, limits)
    except report.MalformedReport as exc:
        raise BadMessage(str(exc)) from None
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        raise BadMessage(f"outcome: {type(exc).__name__}") from None


def check_versions(versions):
    if versions is None:
        return None
    if not isinstance(versions, dict) or len(versions) > 16 or not all(
            isinstance(k, str) and isinstance(v, str) and len(k) <= 40 and len(v) <= 80 for k, v in versions.items()):
        raise BadMessage("outcome: versions must map names to version strings")
    return versions


def _check(message, params, limits):
    status = message.get("status")
    if status not in STATUSES:
        raise BadMessage("outcome: unknown status")
    error = message.get("error")
    if error is not None:
        if not isinstance(error, dict) or error.get("code") not in ERROR_CODES:
            raise BadMessage("outcome: unknown error code")
        clean = {"code": error["code"], "message": report._text(error.get("message"), "error.message", 2000)}
        if error.get("traceback") is not None:
            clean["traceback"] = report._text(error["traceback"], "error.traceback", 8192)
        error = clean
    result = message.get("result")
    if result is not None:
        if not isinstance(result, dict) or "type" in result or "logs" in result:
            raise BadMessage("outcome: result must be an object")
        result, _ = report.check_result(dict(result, type="result"), params)
    if (status == "failed") != (error is not None) or (status == "succeeded" and result is None):
        raise BadMessage("outcome: a succeeded run has a result, a failed one an error, and only it")
    logs = report._text(message.get("logs") or "", "logs", report.MAX_TEXT)
    sandbox = message.get("sandbox")
    if sandbox is not None:
        sandbox, _ = report.check_hello({"type": "hello", "layers": sandbox})
    progress = message.get("progress")
    if progress is not None:
        if not isinstance(progress, list) or len(progress) != 2:
            raise BadMessage("outcome: progress must be [generations, best]")
        generations, best, _ = report.check_progress(
            {"generations_completed": progress[0], "best_fitness": progress[1]}, params)
        progress = (generations, best)
    return Outcome(status, error=error, result=result, usage=_usage(message.get("usage"), limits), sandbox=sandbox,
                   logs=logs, progress=progress)


def _usage(usage, limits):
    if not isinstance(usage, dict) or set(usage) - {"cpu_seconds", "wall_seconds", "peak_memory_bytes"}:
        raise BadMessage("outcome: usage must hold cpu_seconds, wall_seconds, peak_memory_bytes")
    clean = {}
    bounds = {"cpu_seconds": limits["cpu_seconds"] + USAGE_SLACK_SECONDS,
              "wall_seconds": limits["wall_seconds"] + 60 + USAGE_SLACK_SECONDS}
    for name, ceiling in bounds.items():
        if name in usage:
            value = usage[name]
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) \
                    or not 0 <= value <= ceiling:
                raise BadMessage(f"outcome: usage.{name} out of range")
            clean[name] = round(float(value), 3)
    if "peak_memory_bytes" in usage:
        value = usage["peak_memory_bytes"]
        if not _is_int(value) or not 0 <= value <= 1 << 50:
            raise BadMessage("outcome: usage.peak_memory_bytes out of range")
        clean["peak_memory_bytes"] = value
    return clean


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)
