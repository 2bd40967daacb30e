"""The task: run one dispatched job with `job.execute()` and report back through the broker.

The payload is self-contained JSON (spec, limits, the attempt number). A delivery of an
attempt the control plane has since replaced is dropped; an attempt delivered more than
MAX_DELIVERIES times (its worker was lost each time) ends `failed` with `worker_lost`
without running. Reports go to the `vilvik:reports` stream; the control plane, and only
it, writes them to the database.
"""
import logging
import time

from ..domain.words import plural
from ..engine import broker, job, wire

log = logging.getLogger("vilvik.worker")
PROGRESS_MIN_INTERVAL = 0.1  # seconds between progress reports of one run
REPORT_RETRY_SECONDS = 120  # how long an outcome is retried while the broker is away


def run(process, payload):
    """Run one job for `process` (a WorkerProcess); every fault ends in an outcome report."""
    submission_id, attempt = str(payload["id"]), int(payload["attempt"])
    redis = process.redis
    current = redis.get(broker.attempt_key(submission_id))
    if current is not None and int(current) != attempt:
        log.info("submission %s: dropped a stale delivery of attempt %d (now %s)", submission_id, attempt,
                 current.decode())
        return
    deliveries = redis.incr(broker.deliveries_key(submission_id, attempt))
    redis.expire(broker.deliveries_key(submission_id, attempt), broker.KEY_TTL)
    report = Reporter(process, submission_id, attempt)
    if deliveries > broker.MAX_DELIVERIES:
        log.error("submission %s: delivered %d times, its worker lost each time: worker_lost", submission_id,
                  deliveries - 1)
        report.outcome(job.Outcome("failed", {"code": "worker_lost", "message": "the worker running this was lost "
                                              f"{plural(deliveries - 1, 'time')}"}))
        return
    stop = job.Stop()
    asked = redis.get(broker.cancel_key(submission_id))
    if asked is not None and int(asked) == attempt:
        report.outcome(job.Outcome("cancelled"))
        return
    if not process.sandbox_usable:
        report.outcome(job.Outcome("failed", {"code": "internal_error",
                                              "message": "the sandbox is unavailable on the worker"}))
        return
    process.current = (submission_id, attempt, stop)
    try:
        report.send({"type": "started"})
        process.heartbeat()  # the run's lease is renewed from here on
        limits = _limits(process.settings, payload["limits"])
        log.info("submission %s: running (slot %d, attempt %d)", submission_id, process.slot, attempt)
        outcome = job.execute(
            process.zygote, submission_id, payload["spec"],
            {"cpu_seconds": limits["cpu_seconds"], "memory_bytes": limits["memory_mb"] << 20},
            slot=process.slot, wall_seconds=limits["wall_seconds"],
            max_output_bytes=process.settings["MAX_RESULT_BYTES"], on_progress=report.progress, stop=stop)
        if outcome.requeue:  # this worker is stopping: the run goes back to the control plane
            outcome = job.Outcome("failed", {"code": "worker_lost", "message": "the worker stopped"})
        report.outcome(outcome)
        if not outcome.reaped:
            # Something of the job may live on under this process's slot uid: take no more jobs.
            process.slot_tainted = True
            log.error("submission %s: its end was never confirmed; slot %d takes no more jobs", submission_id,
                      process.slot)
        log.info("submission %s: %s (cpu %.3fs)", submission_id, outcome.status,
                 outcome.usage.get("cpu_seconds") or 0)
    finally:
        process.current = None


def _limits(settings, asked):
    """The run's limits, never above this worker's own ceilings."""
    return {"cpu_seconds": min(int(asked["cpu_seconds"]), settings["MAX_CPU_SECONDS"]),
            "wall_seconds": min(int(asked["wall_seconds"]), settings["MAX_WALL_SECONDS"]),
            "memory_mb": min(int(asked["memory_mb"]), settings["MAX_MEMORY_MB"])}


class Reporter:
    """Sends one run's reports to the stream."""

    def __init__(self, process, submission_id, attempt):
        self.process = process
        self.base = {"id": submission_id, "attempt": attempt, "worker": process.name}
        self.last_progress = 0.0

    def send(self, message, retry_seconds=0.0):
        deadline = time.monotonic() + retry_seconds
        while True:
            try:
                self.process.redis.xadd(broker.REPORTS, broker.pack(dict(message, **self.base)))
                return True
            except Exception as exc:  # noqa: B902 - redis raises several kinds while it restarts
                if time.monotonic() >= deadline:
                    log.error("submission %s: could not report %s: %s", self.base["id"], message["type"], exc)
                    return False
                time.sleep(0.5)

    def progress(self, generations, best, mean):
        now = time.monotonic()
        if now - self.last_progress < PROGRESS_MIN_INTERVAL:
            return
        self.last_progress = now
        self.send({"type": "progress", "generations_completed": generations, "best_fitness": best,
                   "mean_fitness": mean})

    def outcome(self, outcome):
        versions = self.process.zygote.ready["versions"] if self.process.zygote.ready else None
        message = dict(wire.outcome_message(outcome, versions), type="outcome")
        if not self.send(message, retry_seconds=REPORT_RETRY_SECONDS):
            raise RuntimeError("the outcome could not be reported")  # not acknowledged: delivered again
