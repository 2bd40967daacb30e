"""`Experiment`: one job over many seeds and a grid of parameters, its ranked cells and history."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from datetime import datetime

from .errors import ConflictError, WaitTimeoutError
from .objects import VilvikObject, parse_fitness, parse_time
from .progress import Reporter
from .words import plural

EXPERIMENT_DONE = frozenset({"finished", "cancelled"})
BAR_WIDTH = 24


def _fitness_dict(value):
    return {key: parse_fitness(item) for key, item in value.items()} if isinstance(value, dict) else value


@dataclass
class Cell(VilvikObject):
    """One grid cell: its parameter values and the distribution of its runs' best fitness."""

    params: dict | None = None
    runs: int | None = None
    succeeded: int | None = None
    best_fitness: dict | None = field(default=None, repr=False)
    generations_completed: dict | None = field(default=None, repr=False)
    rank: int | None = None
    p_value: float | None = None

    _converters = {**VilvikObject._converters, "best_fitness": _fitness_dict}

    @property
    def median(self):
        """The median (p50) best fitness of the cell's succeeded runs, or None."""
        return (self.best_fitness or {}).get("p50")


@dataclass
class Experiment(VilvikObject):
    """An experiment. `status` is `queued`, `running`, `finished` or `cancelled`."""

    id: str | None = None
    status: str | None = None
    name: str | None = None
    created_at: datetime | None = None
    finished_at: datetime | None = field(default=None, repr=False)
    cancelled_at: datetime | None = field(default=None, repr=False)
    runs_total: int | None = None
    counts: dict | None = None
    seeds: list | None = field(default=None, repr=False)
    seed: int | None = field(default=None, repr=False)
    grid: dict | None = field(default=None, repr=False)
    base: dict | None = field(default=None, repr=False)
    metadata: dict | None = field(default=None, repr=False)
    credits_reserved: float | None = field(default=None, repr=False)
    credits_charged: float | None = field(default=None, repr=False)
    cells: list | None = field(default=None, repr=False)
    best: dict | None = field(default=None, repr=False)
    status_url: str | None = field(default=None, repr=False)
    runs_url: str | None = field(default=None, repr=False)
    history_url: str | None = field(default=None, repr=False)

    _converters = {**VilvikObject._converters, "finished_at": parse_time, "cancelled_at": parse_time,
                   "cells": lambda cells: [Cell.from_dict(cell) for cell in cells],
                   "best": lambda best: {**best, "best_solution_fitness": parse_fitness(
                       best.get("best_solution_fitness"))}}

    @property
    def done(self):
        """True once every run has ended (`finished`) or the experiment was cancelled."""
        return self.status in EXPERIMENT_DONE

    def ranked(self):
        """The cells best first (rank 1 first; cells without a succeeded run last)."""
        return sorted(self.cells or [], key=lambda cell: (cell.rank is None, cell.rank or 0))

    def _update(self, other):
        for item in fields(self):
            if item.name != "_client":
                setattr(self, item.name, getattr(other, item.name))
        return self

    def reload(self):
        """Fetch the current state from the server, in place; returns self."""
        return self._update(self._client.experiments.get(self.id))

    def cancel(self):
        """Cancel: queued runs never start, running ones stop. Updates self in place."""
        try:
            return self._update(self._client.experiments.cancel(self.id))
        except ConflictError:  # it finished before the cancel arrived
            return self.reload()

    def delete(self):
        """Delete this finished or cancelled experiment with its runs and their results."""
        self._client.experiments.delete(self.id)

    def runs(self, status=None):
        """The experiment's runs as `Submission`s (an iterator over every page)."""
        return self._client.submissions.list(experiment_id=self.id, status=status, limit=100)

    def history(self, dataframe=None):
        """Per cell, per generation: mean, p10, p50, p90 of the runs' best fitness so far.

        Rows (dicts with `cell`, the grid values, `generation`, `runs`, `mean`, `p10`, `p50`,
        `p90`); a pandas DataFrame of them when pandas is installed (`dataframe=False`: rows always).
        """
        return self._client.experiments.history(self.id, dataframe=dataframe)

    def wait(self, timeout=None, poll_interval=1.0, progress=False):
        """Poll until every run has ended (or the experiment is cancelled); returns self.

        `timeout` seconds (None: no limit), then `WaitTimeoutError`. `progress=True` draws a
        live line on stderr; a callable is called with the experiment after each poll.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        report = Reporter(progress, format_progress)
        try:
            while True:
                report(self)
                if self.done:
                    return self
                if deadline is not None and time.monotonic() >= deadline:
                    raise WaitTimeoutError(self, timeout)
                pause = poll_interval if deadline is None else max(0.0, min(poll_interval,
                                                                            deadline - time.monotonic()))
                time.sleep(pause)
                self.reload()
        finally:
            report.finish()

    def table(self):
        """The ranked cells as a plain-text table, with the best run below it."""
        return format_table(self)


def format_progress(experiment):
    """One line: a bar of runs ended, the counts and the status."""
    counts = experiment.counts or {}
    total = experiment.runs_total or 0
    ended = sum(counts.get(name, 0) for name in ("succeeded", "failed", "cancelled"))
    filled = int(BAR_WIDTH * ended / total) if total else 0
    extra = ", ".join(f"{counts[name]} {name}" for name in ("running", "failed", "cancelled") if counts.get(name))
    return (f"{experiment.id} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {ended}/{plural(total, 'run')} ended"
            f"{f' ({extra})' if extra else ''}  {experiment.status}")


def _number(value, digits=6):
    if value is None:
        return "-"
    return f"{value:.{digits}g}" if isinstance(value, float) else str(value)


def format_table(experiment):
    """Ranked cells: rank, the grid values, runs, succeeded, median, mean, std, p10, p90, p-value."""
    names = list(experiment.grid or {})
    header = ["rank", *names, "runs", "ok", "median", "mean", "std", "p10", "p90", "p-value"]
    rows = []
    for cell in experiment.ranked():
        stats = cell.best_fitness or {}
        rows.append([_number(cell.rank), *(_number(cell.params.get(name)) for name in names), str(cell.runs),
                     str(cell.succeeded), *(_number(stats.get(key)) for key in ("p50", "mean", "std", "p10", "p90")),
                     _number(cell.p_value, 3)])
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    lines = ["  ".join(str(value).rjust(width) if i != 0 and not (1 <= i <= len(names)) else str(value).ljust(width)
                       for i, (value, width) in enumerate(zip(row, widths))).rstrip() for row in [header, *rows]]
    best = experiment.best
    if best:
        where = ", ".join(f"{key}={value}" for key, value in (best.get("params") or {}).items())
        lines.append(f"best run: {best['submission_id']} ({where + ', ' if where else ''}seed {best.get('seed')}): "
                     f"fitness {_number(best.get('best_solution_fitness'))}")
    return "\n".join(lines)
