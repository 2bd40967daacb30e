"""Why a run ended, in words a user can act on (the submission's `stop_reason`)."""
import json

from .statuses import TERMINAL
from .words import plural

REASONS = ("num_generations", "stop_criteria", "cancelled", "cpu_limit", "wall_limit", "memory_limit", "error")

TEXT = {
    "num_generations": "all {n} ran",
    "stop_criteria": "a stop criterion was reached ({criterion})",
    "cancelled": "cancelled",
    "cpu_limit": "it reached its CPU-time limit",
    "wall_limit": "it reached its wall-clock limit",
    "memory_limit": "it reached its memory limit",
    "error": "it failed",
}


def cpu_limit_reached(cpu_seconds, cpu_limit):
    """Had a run that was killed used up its CPU limit?

    The kernel kills a run at its limit by a clock it samples at each tick; the CPU time reported
    is measured exactly and may be a few percent less (more on a busy machine, with threads):
    within a fifth of the limit, and at most a second, the limit is what stopped it.
    """
    return cpu_seconds >= cpu_limit - min(max(0.05, 0.2 * cpu_limit), 1.0)


def of_outcome(status, error, result, params, usage, limits):
    """(stop_reason, stop_criterion) of a run that just ended."""
    if status == "cancelled":
        return "cancelled", None
    if status == "failed":
        code = (error or {}).get("code")
        if code == "timeout":
            cpu = (usage or {}).get("cpu_seconds") or 0
            return ("cpu_limit" if cpu_limit_reached(cpu, limits["cpu_seconds"]) else "wall_limit"), None
        if code == "memory_limit":
            return "memory_limit", None
        return "error", None
    index = (result or {}).get("stop_criterion")
    if index is not None:
        criteria = params.get("stop_criteria")
        criteria = [criteria] if isinstance(criteria, str) else list(criteria or [])
        return "stop_criteria", str(criteria[index]) if index < len(criteria) else None
    return "num_generations", None


def of_row(row):
    """(stop_reason, stop_criterion) as stored; derived for a terminal row that has none; (None, None) before."""
    status = row["status"]
    if status not in TERMINAL:
        return None, None
    keys = row.keys()
    if "stop_reason" in keys and row["stop_reason"]:
        return row["stop_reason"], row["stop_criterion"]
    error = json.loads(row["error"]) if row["error"] else None
    return of_outcome(status, error, None, {}, {"cpu_seconds": row["cpu_seconds"]}, json.loads(row["limits"]))


def describe(reason, criterion, num_generations):
    """One line for pages and the CLI: "all 50 generations ran", "a stop criterion was reached (saturate_15)"."""
    if reason is None:
        return None
    if reason == "num_generations" and num_generations == 1:
        return "its one generation ran"   # not "all 1 generation ran"
    return TEXT[reason].format(n=plural(num_generations, "generation"), criterion=criterion or "stop_criteria")
