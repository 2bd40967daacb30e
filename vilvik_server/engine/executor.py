"""The executor: claims queued submissions and runs each in the sandbox, bounded by seats.

A dispatcher thread claims the oldest queued row with a conditional UPDATE
(queued -> running) whenever a seat is free, and hands it to a thread pool of
WORKERS threads; each run goes through `job.execute()` and its outcome is stored
in one transaction. Each claimed row names this process as its owner, with a lease
renewed while it runs (leases.py); on start, runs a dead server left `running` are
re-queued (or failed with worker_lost after a second loss). `stop()` stops claiming, lets
running jobs finish within a grace period, then stops and re-queues the rest.
"""
import json
import logging
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from vilvik_sandbox.privileges import UID_BASE

from .. import billing, claim_loop
from ..domain import stop_reason
from ..domain.statuses import Status
from ..experiments import tracking as experiment_tracking
from ..store import results as result_store
from ..store import submissions as submission_store
from ..webhooks import events as webhook_events
from . import job, leases
from .zygote import Zygote

log = logging.getLogger("vilvik.executor")
PROGRESS_MIN_INTERVAL = 0.1  # seconds between progress writes of one run
TERMINAL_POLL = 0.25  # seconds between looks at a run that may end in another process


def first_slot(settings):
    """This node's first sandbox slot: its jobs run as uids SANDBOX_UID_BASE onwards, one per slot."""
    return settings["SANDBOX_UID_BASE"] - UID_BASE


class Executor:
    def __init__(self, db, settings, owner_prefix=None):
        self.db = db
        self.settings = settings
        # Runs this executor claims are owned by this process, under its instance's prefix.
        self.owner_prefix = owner_prefix or f"local:anonymous-{secrets.token_hex(4)}"
        self.owner = leases.process_owner(self.owner_prefix)
        self._leases = leases.LeaseKeeper(db, settings, self.owner, self.cancel)
        self.workers = settings["WORKERS"]
        self.zygote = Zygote()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._seats = threading.BoundedSemaphore(max(self.workers, 1))
        self._first_slot = first_slot(settings)
        self._free_slots = list(range(self._first_slot, self._first_slot + self.workers))
        self._slots_lock = threading.Lock()
        self._running = {}  # submission id -> job.Stop, from claim to stored outcome
        self._waiters = {}  # submission id -> threading.Event set when it is terminal
        self._waiters_lock = threading.Lock()
        self._pool = None
        self._dispatcher = None

    # -- life cycle -------------------------------------------------------------------------

    def start(self, dispatch=True):
        """Recover orphans, start the zygote (from the calling, main thread) and the dispatcher.

        Runs an earlier process of this instance left running are recovered at once (the
        caller holds the instance lock, so that process is dead); other owners' only when
        their lease has expired.
        """
        leases.recover(self.db, self.settings, dead_owner_like=leases.like_prefix(self.owner_prefix))
        ready = self.zygote.start()
        self._log_sandbox(ready["sandbox"])
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="vilvik-job")
        self._leases.start()
        if dispatch:
            self._dispatcher = threading.Thread(target=self._dispatch_loop, name="vilvik-dispatcher", daemon=True)
            self._dispatcher.start()

    @property
    def sandbox(self):
        """The sandbox's start-up report: mode, layers, what is missing."""
        return self.zygote.ready["sandbox"] if self.zygote.ready else {"mode": "stopped"}

    @property
    def stopping(self):
        return self._stopping.is_set()

    @property
    def sandbox_usable(self):
        return self.sandbox.get("mode") == "full" or self.settings["SANDBOX_ALLOW_DEGRADED"]

    def wake(self):
        """Tell the dispatcher a submission was queued."""
        self._wake.set()

    def cancel(self, submission_id):
        """Ask a running submission to stop; its run ends as cancelled. False if not running here."""
        stop = self._running.get(submission_id)
        if stop is None:
            return False
        stop.reason = "cancel"
        return True

    def wait_terminal(self, submission_id, timeout):
        """Wait (holding no seat) until the submission ends, here or in another process, or `timeout` passes.

        Returns its row as last read: ended, unless the time ran out (None if it is gone)."""
        with self._waiters_lock:
            event = self._waiters.setdefault(submission_id, threading.Event())
        try:
            deadline = time.monotonic() + timeout
            while True:
                row = submission_store.get_any(self.db.connection(), submission_id)
                if row is None or row["status"] in submission_store.TERMINAL:
                    return row
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return row
                # Woken at once when it ends here; another process's ending is seen by polling.
                if event.wait(min(remaining, TERMINAL_POLL)):
                    event.clear()
        finally:
            with self._waiters_lock:
                self._waiters.pop(submission_id, None)

    def _notify_terminal(self, submission_id):
        with self._waiters_lock:
            event = self._waiters.get(submission_id)
        if event is not None:
            event.set()

    def stop(self, grace=None):
        """Stop claiming; let running jobs finish within `grace` seconds, then re-queue the rest."""
        grace = self.settings["SHUTDOWN_GRACE_SECONDS"] if grace is None else grace
        self._stopping.set()
        self._wake.set()
        if self._dispatcher:
            self._dispatcher.join()
        deadline = time.monotonic() + grace
        while self._running and time.monotonic() < deadline:
            time.sleep(0.05)
        for stop in list(self._running.values()):
            stop.reason = "shutdown"
        if self._pool:
            self._pool.shutdown(wait=True)
        self._leases.stop()
        self.zygote.close()

    # -- dispatching ------------------------------------------------------------------------

    def run_until_idle(self):
        """Run queued submissions one at a time in this thread until none is left (tests, burst mode)."""
        while self._run_next(slot=self._first_slot):
            pass

    def _dispatch_loop(self):
        claim_loop.run(stopping=self._stopping, seats=self._seats, wake=self._wake, claim=self._claim,
                       hand_off=lambda row: self._pool.submit(self._run_claimed, row, self._take_slot()),
                       idle_seconds=lambda: 1.0, what="a submission")

    def _claim(self):
        if self._stopping.is_set() or not self.sandbox_usable:
            return None
        # A seat freed at a job's end is offered to the queue at once, most often an empty one:
        # a read says so without taking the write lock (in an accept's way) or a commit.
        if not submission_store.any_queued(self.db.connection()):
            return None
        with self.db.transaction() as conn:
            row = submission_store.claim_next(conn, self.settings["MAX_ACTIVE"], self.owner,
                                              leases.lease_until(self.settings["LEASE_SECONDS"]))
            if row is not None:
                # Registered before the claim commits, so a cancel never finds it running but unknown.
                self._running[row["id"]] = job.Stop()
                webhook_events.record_submission_event(conn, self.settings, row["id"])
            return row

    def _take_slot(self):
        with self._slots_lock:
            return self._free_slots.pop(0)

    def _run_claimed(self, row, slot):
        reaped = True
        try:
            reaped = self._run(row, slot)
        except Exception:  # noqa: B902 - raised before the job started or after it ended
            log.exception("submission %s: the executor failed", row["id"])
            self._store(row, job.Outcome(Status.FAILED, {"code": "internal_error", "message": "internal error"}))
        finally:
            if reaped:
                with self._slots_lock:
                    self._free_slots.append(slot)
                self._seats.release()
            else:
                # Something of the job may live on under the slot's uid: the slot is never used again.
                log.error("submission %s: its end was never confirmed; slot %d (and its seat) stay out of use",
                          row["id"], slot)
            self.db.release()  # a pool thread keeps its connection for its next run

    def _run_next(self, slot):
        row = self._claim()
        if row is None:
            return False
        self._run(row, slot)
        return True

    # -- one run ----------------------------------------------------------------------------

    def _run(self, row, slot):
        submission_id = row["id"]
        limits = json.loads(row["limits"])
        spec = {"params": json.loads(row["params"]), "fitness_func": row["fitness_func"],
                "entry": row["fitness_func_entry"]}
        stop = self._running.setdefault(submission_id, job.Stop())
        log.info("submission %s: running (slot %d, attempt %d)", submission_id, slot, row["attempts"])
        if row["parent_id"]:
            spec["resume"] = self._resume_point(row["parent_id"])
            if spec["resume"] is None:
                self._store(row, job.Outcome(Status.FAILED, {
                    "code": "internal_error", "message": "the parent's saved state is gone"}))
                return True
        # Stored as soon as it is decided: for a run that reported its result, while its processes
        # are still being torn down (the slot is freed only once they are gone).
        outcome = job.execute(
            self.zygote, submission_id, spec,
            {"cpu_seconds": limits["cpu_seconds"], "memory_bytes": limits["memory_mb"] << 20},
            slot=slot, wall_seconds=limits["wall_seconds"], max_output_bytes=self.settings["MAX_RESULT_BYTES"],
            on_progress=self._progress_writer(submission_id), stop=stop, on_outcome=lambda ended: self._store(row, ended))
        return outcome.reaped

    def _resume_point(self, parent_id):
        """Where a continuation starts: its parent's final population and random generators."""
        saved = result_store.get_by_submission(self.db.connection(), parent_id)
        if saved is None or not saved["resume_state"]:
            return None
        return {"population": json.loads(saved["body"])["population"],
                "random_state": json.loads(saved["resume_state"])}

    def _progress_writer(self, submission_id):
        # The first write PROGRESS_MIN_INTERVAL after the start too: a run shorter than that
        # gets its progress stored with its outcome, in one transaction instead of two.
        last = [time.monotonic()]

        def write(generations, best, mean):
            now = time.monotonic()
            if now - last[0] < PROGRESS_MIN_INTERVAL:
                return
            last[0] = now
            with self.db.transaction() as conn:
                submission_store.record_progress(conn, submission_id, generations, best, mean)
        return write

    def _store(self, row, outcome):
        try:
            self._store_outcome(row, outcome)
        finally:
            self._running.pop(row["id"], None)
            self._notify_terminal(row["id"])

    def _store_outcome(self, row, outcome):
        submission_id = row["id"]
        with self.db.transaction() as conn:
            if outcome.requeue:
                submission_store.requeue(conn, submission_id, attempt=row["attempts"])
                log.info("submission %s: re-queued (server stopping)", submission_id)
                return
            generations = best = mean = None
            if outcome.result:
                generations = outcome.result["generations_completed"]
                best = outcome.result["best_solution_fitness"]
                means = outcome.result.get("mean_fitness_per_generation") or [None]
                mean = means[-1]  # the last progress line may have been throttled away
            elif outcome.progress:
                generations, best = outcome.progress
            reason, criterion = stop_reason.of_outcome(outcome.status, outcome.error, outcome.result,
                                                       json.loads(row["params"]), outcome.usage, json.loads(row["limits"]))
            versions = self._versions(submission_id) if outcome.sandbox is not None else None
            if not submission_store.finish(conn, submission_id, outcome.status, usage=outcome.usage,
                                           error=outcome.error, logs=outcome.logs, attempt=row["attempts"],
                                           generations_completed=generations, best_fitness=best,
                                           mean_fitness=mean, stop_reason=reason, stop_criterion=criterion,
                                           sandbox=outcome.sandbox, versions=versions):
                if outcome.sandbox is not None:  # the run still ran in this sandbox
                    submission_store.record_sandbox(conn, submission_id, outcome.sandbox, versions)
                return  # someone else ended it first (a cancel): that ending stands
            charged = billing.settle(conn, row, cpu_seconds=outcome.usage.get("cpu_seconds", 0.0),
                                     error_code=outcome.error and outcome.error["code"], settings=self.settings)
            saved = None
            if outcome.result is not None:
                body = dict(outcome.result, usage=outcome.usage, credits_charged_micros=charged)
                resume_state = body.pop("random_state", None)
                body.pop("stopped", None)
                body.pop("stop_criterion", None)  # the submission's stop_criterion names it
                if row["problem"]:
                    body["interpretation"] = _interpretation(row, body)
                saved = (result_store.insert(conn, row["account_id"], submission_id, body, resume_state), body)
            webhook_events.record_submission_event(conn, self.settings, submission_id, result=saved)
            experiment_tracking.run_ended(conn, self.settings, submission_id)
        log.info("submission %s: %s%s (cpu %.3fs)", submission_id, outcome.status,
                 f" {outcome.error['code']}" if outcome.error else "", outcome.usage.get("cpu_seconds") or 0)

    def _versions(self, submission_id):
        """The versions of the sandbox that ran the submission (its Python, numpy, PyGAD)."""
        return self.zygote.ready["versions"] if self.zygote.ready else None

    def describe(self):
        """How this server runs jobs, for /health."""
        return {"mode": "local", "workers": self.workers}

    def _log_sandbox(self, sandbox):
        reasons = sandbox.get("reasons", {})
        for layer, works in sorted(sandbox.get("layers", {}).items()):
            if works:
                log.info("sandbox layer %s: on", layer)
            else:
                log.warning("sandbox layer %s: MISSING (%s)", layer, reasons.get(layer, "no reason given"))
        if sandbox.get("mode") == "full":
            log.info("sandbox: full isolation")
        elif self.settings["SANDBOX_ALLOW_DEGRADED"]:
            log.warning("SANDBOX DEGRADED (missing: %s) and SANDBOX_ALLOW_DEGRADED is on: strangers' code "
                        "runs with weaker isolation", ", ".join(sandbox.get("missing", [])))
        else:
            log.error("sandbox unavailable (missing: %s): jobs are refused until the host provides it, or "
                      "set SANDBOX_ALLOW_DEGRADED", ", ".join(sandbox.get("missing", [])))


def _interpretation(row, result):
    """A quick problem's readable answer; a fault here must never lose the result."""
    from .. import quick

    try:
        return quick.interpret(row["problem"], json.loads(row["problem_params"] or "{}"), result)
    except Exception:  # noqa: B902
        log.exception("submission %s: could not interpret the %s result", row["id"], row["problem"])
        return None
