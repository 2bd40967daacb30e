"""`Submission`: one PyGAD job, and the things you do with it (reload, wait, cancel, result)."""
from __future__ import annotations

import time
from dataclasses import dataclass, field, fields
from datetime import datetime

from .errors import ConflictError, RunFailedError, WaitTimeoutError
from .objects import Progress, RunError, VilvikObject, parse_time
from .progress import Reporter

TERMINAL_STATUSES = frozenset({"succeeded", "failed", "cancelled"})
BAR_WIDTH = 24


@dataclass
class Submission(VilvikObject):
    """A submission. `status` is a plain string: one this SDK does not know is simply not terminal."""

    id: str | None = None
    status: str | None = None
    name: str | None = None
    type: str | None = None
    created_at: datetime | None = None
    started_at: datetime | None = field(default=None, repr=False)
    finished_at: datetime | None = field(default=None, repr=False)
    params: dict | None = field(default=None, repr=False)
    fitness_func: str | None = field(default=None, repr=False)
    fitness_func_entry: str | None = field(default=None, repr=False)
    parent_id: str | None = None
    experiment_id: str | None = None
    problem: str | None = None
    problem_params: dict | None = field(default=None, repr=False)
    progress: Progress | None = None
    usage: dict | None = field(default=None, repr=False)
    limits: dict | None = field(default=None, repr=False)
    credits_reserved: float | None = None
    credits_estimate: float | None = field(default=None, repr=False)
    credits_charged: float | None = None
    stop_reason: str | None = None
    stop_criterion: str | None = field(default=None, repr=False)
    error: RunError | None = None
    metadata: dict | None = field(default=None, repr=False)
    generated: dict | None = field(default=None, repr=False)
    logs: str | None = field(default=None, repr=False)
    status_url: str | None = field(default=None, repr=False)
    result_url: str | None = field(default=None, repr=False)

    _converters = {**VilvikObject._converters, "started_at": parse_time, "finished_at": parse_time,
                   "progress": Progress.from_dict, "error": RunError.from_dict}

    @property
    def done(self):
        """True once the run is succeeded, failed or cancelled (terminal states never change)."""
        return self.status in TERMINAL_STATUSES

    def _update(self, other):
        for item in fields(self):
            if item.name != "_client":
                setattr(self, item.name, getattr(other, item.name))
        return self

    def reload(self):
        """Fetch the current state from the server, in place; returns self."""
        return self._update(self._client.submissions.get(self.id))

    def cancel(self):
        """Cancel the run (safe to repeat); updates self in place and returns it."""
        return self._update(self._client.submissions.cancel(self.id))

    def continue_(self, num_generations, **overrides):
        """Run `num_generations` more from where this run ended; returns the new submission."""
        return self._client.submissions.continue_(self.id, num_generations, **overrides)

    def delete(self):
        """Delete this finished submission with its result and code."""
        self._client.submissions.delete(self.id)

    def stream(self):
        """Follow the run as Server-Sent Events (`progress`, then one `status`)."""
        return self._client.submissions.stream(self.id)

    def wait(self, timeout=None, poll_interval=0.5, cancel_on_timeout=False, progress=False):
        """Poll until the run is terminal; returns self (it does not raise when the run failed).

        `timeout` seconds (None: no limit) then `WaitTimeoutError`, after cancelling the run
        when `cancel_on_timeout`. `progress=True` draws a live line on stderr; a callable is
        called with the submission after every poll.
        """
        report = Reporter(progress, format_progress)
        deadline = None if timeout is None else time.monotonic() + timeout
        if not self.done:
            self.reload()
        report(self)
        while not self.done:
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                report.finish()
                return self._timed_out(timeout, cancel_on_timeout)
            time.sleep(poll_interval if remaining is None else min(poll_interval, remaining))
            self.reload()
            report(self)
        report.finish()
        return self

    def _timed_out(self, timeout, cancel_on_timeout):
        if cancel_on_timeout:
            try:
                self.cancel()
            except ConflictError:  # it finished between our last poll and the cancel
                self.reload()
            if self.status in ("succeeded", "failed"):
                return self
        raise WaitTimeoutError(self, timeout)

    def result(self, timeout=None):
        """The run's `Result`, waiting for the run first if it is not finished.

        Raises `RunFailedError` when the run failed, or was cancelled before any progress.
        """
        if not self.done:
            self.wait(timeout=timeout)
        if self.status == "failed":
            error = self.error or RunError()
            raise RunFailedError(self, f"submission {self.id} failed: {error.message or error.code}",
                                 code=error.code, details=dict(error.raw))
        found = self._client.results.for_submission(self.id)
        if found is None:
            raise RunFailedError(self, f"submission {self.id} was {self.status} without a result")
        return found


def format_progress(submission):
    """One line: a bar of generations done, the counts, the best fitness so far and the status."""
    progress = submission.progress or Progress()
    done = progress.generations_completed or 0
    total = progress.num_generations or (submission.params or {}).get("num_generations") or 0
    filled = int(BAR_WIDTH * min(done, total) / total) if total else 0
    bar = "#" * filled + "." * (BAR_WIDTH - filled)
    best = progress.best_fitness
    best_text = "-" if best is None else (f"{best:.6g}" if isinstance(best, float) else str(best))
    return f"{submission.id} [{bar}] generation {done}/{total or '?'}  best {best_text}  {submission.status}"
