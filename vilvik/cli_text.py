"""How the `vilvik` command shows things in text: a run, how it ended, its answer, a quick
problem and an experiment (--json prints the API's bodies instead)."""
from __future__ import annotations

import json
import shlex

from .submission import format_progress
from .words import plural


def summary(submission):
    return "\n".join([f"{submission.id} {submission.status}", *details(submission)])


def details(submission):
    lines = []
    if submission.progress is not None:
        lines.append(format_progress(submission).split("] ", 1)[-1])
    if submission.stop_reason:
        lines.append(f"ended: {ended(submission)}")
    if submission.credits_charged is not None:
        lines.append(f"credits charged: {submission.credits_charged}")
    if submission.error is not None:
        lines.append(f"error: {submission.error.code}: {submission.error.message}")
        if submission.error.traceback:
            lines.append(submission.error.traceback.rstrip())
    return lines


STOP_REASONS = {"num_generations": "all {n} ran", "stop_criteria": "a stop criterion was reached ({c})",
                "cancelled": "cancelled", "cpu_limit": "it reached its CPU-time limit",
                "wall_limit": "it reached its wall-clock limit", "memory_limit": "it reached its memory limit",
                "error": "it failed"}


def ended(submission):
    text = STOP_REASONS.get(submission.stop_reason, submission.stop_reason)
    total = submission.progress.num_generations if submission.progress else "?"
    if submission.stop_reason == "num_generations" and total == 1:
        return "its one generation ran"
    return text.format(n=plural(total, "generation"), c=submission.stop_criterion or "stop_criteria")


def answer_rows(result):
    """The best solution and its fitness, and a quick problem's readable answer first."""
    rows = []
    interpretation = result.interpretation
    if isinstance(interpretation, dict) and (interpretation.get("summary") or interpretation.get("text")):
        rows.append(("answer", interpretation.get("summary") or interpretation.get("text")))
    elif interpretation not in (None, {}):
        rows.append(("answer", json.dumps(interpretation)))
    rows += [("best fitness", result.best_solution_fitness), ("best solution", result.best_solution)]
    return rows


def problem_text(problem):
    """A problem's name and title, each parameter with its type and help, and a command that runs its example."""
    lines = [f"{problem.name} — {problem.title or ''}".rstrip(" —")]
    schema = problem.params_schema or {}
    required = set(schema.get("required") or [])
    for name, spec in (schema.get("properties") or {}).items():
        kind = spec.get("type", "")
        if kind == "array":
            kind = f"list of {(spec.get('items') or {}).get('type', 'values')}"
        flag = "" if name in required else ", optional"
        lines.append(f"  {name} ({kind}{flag}): {spec.get('description', '')}".rstrip(": "))
    if problem.example:
        params = " ".join(_param_argument(name, value) for name, value in problem.example.items())
        lines.append(f"  example: vilvik submit --quick {problem.name} {params} --wait")
        lines.append(f"           (or just: vilvik submit --quick {problem.name} --wait)")
    return "\n".join(lines)


def _param_argument(name, value):
    """`--param name=value` as a shell takes it: quoted when needed (zsh refuses an unquoted `[1,2]`
    that matches no file name)."""
    return "--param " + shlex.quote(f"{name}={json.dumps(value, separators=(',', ':'))}")


def experiment_summary(experiment):
    counts = experiment.counts or {}
    parts = ", ".join(f"{counts[name]} {name}" for name in ("queued", "running", "succeeded", "failed", "cancelled")
                      if counts.get(name))
    lines = [f"{experiment.id} {experiment.status}: {plural(experiment.runs_total, 'run')} ({parts})"]
    if experiment.cells:
        lines.append(experiment.table())
    if experiment.credits_charged is not None:
        lines.append(f"credits charged: {experiment.credits_charged}")
    return "\n".join(lines)
