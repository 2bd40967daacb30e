"""When a run of an experiment ends: keep its statistics, and announce the experiment's end once.

Called inside the transaction that makes a submission terminal (executor, cancel, recovery),
so the numbers exist exactly when the ending does. The run's result body is read once, here,
and reduced to what the statistics need; `experiment.completed` is recorded by the
transaction whose run was the last to end (a conditional UPDATE decides which).
"""
import json
import logging

from ..store import experiments as experiment_store
from ..store import results as result_store
from ..store import submissions as submission_store
from ..webhooks import events as webhook_events
from . import reading, stats

log = logging.getLogger("vilvik.experiments")
COMPLETED = "experiment.completed"


def run_ended(conn, settings, submission_id):
    """Record a terminal run's statistics; record experiment.completed if it was the last run.

    A fault here is logged and undone (to a savepoint), never raised: statistics must not
    cost a run its stored result.
    """
    run = experiment_store.run_of(conn, submission_id)
    if run is None:
        return
    conn.execute("SAVEPOINT experiment_run")
    try:
        _record(conn, settings, run)
    except Exception:  # noqa: B902
        conn.execute("ROLLBACK TO experiment_run")
        log.exception("submission %s: could not record it in experiment %s", submission_id, run["experiment_id"])
    conn.execute("RELEASE experiment_run")


def _record(conn, settings, run):
    row = submission_store.get_any(conn, run["submission_id"])
    if row is None or row["status"] not in submission_store.TERMINAL:
        return
    saved = result_store.get_by_submission(conn, row["id"])
    summary = stats.run_summary(json.loads(saved["body"])) if saved is not None else {
        "best_fitness": None, "generations_completed": row["generations_completed"], "history": None,
        "best_solution": None, "best_solution_fitness": None}
    experiment_store.record_run_end(conn, row["id"], **summary)
    if experiment_store.mark_completed(conn, run["experiment_id"]):
        experiment = experiment_store.get_any(conn, run["experiment_id"])
        body = reading.experiment(conn, experiment, settings["PUBLIC_URL"])
        target = {"id": None, "webhook_url": experiment["webhook_url"],
                  "webhook_events": experiment["webhook_events"]}
        webhook_events.record(conn, experiment["account_id"], COMPLETED, {"experiment": body}, submission=target)
        log.info("experiment %s: completed (%s)", experiment["id"], body["counts"])
