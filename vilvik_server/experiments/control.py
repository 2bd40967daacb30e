"""Cancel and delete: what a user does to an experiment after accepting it."""
import time

from .. import billing, errors, lifecycle
from ..engine import leases
from ..store import experiments as experiment_store
from ..store import submissions as submission_store
from ..webhooks import events as webhook_events
from . import tracking

CANCEL_WAIT = 3.0  # seconds the cancel request waits for running runs to stop


def get(conn, account_id, experiment_id):
    """The experiment row of this account; 404 when there is none."""
    row = experiment_store.get(conn, account_id, experiment_id)
    if row is None:
        raise errors.NotFound(f"no experiment {experiment_id}")
    return row


def cancel(services, account_id, experiment_id):
    """Queued runs never start (their credits are released); running ones stop. Returns the row."""
    settings, db = services.settings, services.db
    row = get(db.connection(), account_id, experiment_id)
    counts = experiment_store.counts(db.connection(), [experiment_id])[experiment_id]
    if row["cancelled_at"] is None and counts["queued"] + counts["running"] == 0:
        raise errors.Conflict("the experiment has already finished; only a queued or running experiment "
                              "can be cancelled", details={"status": "finished"})
    with db.transaction() as conn:
        experiment_store.mark_cancelled(conn, experiment_id)
        for submission_id in experiment_store.run_ids(conn, experiment_id, "queued"):
            run = submission_store.get_any(conn, submission_id)
            if submission_store.cancel_queued(conn, submission_id):
                billing.settle(conn, run, cpu_seconds=None, settings=settings)
                webhook_events.record_submission_event(conn, settings, submission_id)
                tracking.run_ended(conn, settings, submission_id)
        # Durable, so whichever process runs each (this one, another server, a worker) stops it.
        running = [submission_id for submission_id in experiment_store.run_ids(conn, experiment_id, "running")
                   if submission_store.request_cancel(conn, submission_id)]
    deadline = time.monotonic() + CANCEL_WAIT
    for submission_id in running:
        services.executor.cancel(submission_id)  # running here: no need to wait for the next look
    if any(lifecycle.lease_expired(submission_store.get_any(db.connection(), submission_id))
           for submission_id in running):
        leases.recover(db, settings)  # their owner is gone: they end cancelled now
    for submission_id in running:
        services.executor.wait_terminal(submission_id, max(0.0, deadline - time.monotonic()))
    return get(db.connection(), account_id, experiment_id)


def delete(services, account_id, experiment_id):
    """Delete a finished or cancelled experiment with its runs' code and results; the ledger keeps its rows."""
    db = services.db
    get(db.connection(), account_id, experiment_id)
    with db.transaction() as conn:
        counts = experiment_store.counts(conn, [experiment_id])[experiment_id]
        if counts["queued"] + counts["running"]:
            raise errors.Conflict("the experiment still has queued or running runs; cancel it first",
                                  details={"counts": counts})
        continuations = experiment_store.active_continuations(conn, experiment_id)
        if continuations:
            raise errors.Conflict("a continuation of one of the experiment's runs is still queued or running",
                                  details={"continuations": continuations})
        if not experiment_store.delete(conn, account_id, experiment_id):
            raise errors.Conflict("the experiment changed meanwhile; retry")
