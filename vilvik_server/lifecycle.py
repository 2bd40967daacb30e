"""Cancel, continue and delete: the changes a user makes to a submission after accepting it."""
import json
import time

from marshmallow import ValidationError

from . import billing, errors, submitting
from .clock import now
from .domain.ga_params import PARAM_DEFAULTS, GAParamsSchema
from .domain.inputs import PARAM_OVERRIDES
from .domain.statuses import Status
from .engine import leases
from .experiments import tracking as experiment_tracking
from .store import results as result_store
from .store import submissions as submission_store
from .webhooks import events as webhook_events

CANCEL_WAIT = 3.0  # seconds the cancel request waits to report the run's final status


def cancel(services, account_id, submission_id):
    """Cancel a queued or running submission; returns its row as it ended (still `running` if its owner has
    not stopped it within CANCEL_WAIT: the request stands, and the run ends cancelled)."""
    row = _get(services, account_id, submission_id)
    if row["status"] == Status.QUEUED:
        with services.db.transaction() as conn:
            if submission_store.cancel_queued(conn, submission_id):
                billing.settle(conn, row, cpu_seconds=None, settings=services.settings)
                webhook_events.record_submission_event(conn, services.settings, submission_id)
                experiment_tracking.run_ended(conn, services.settings, submission_id)
                return submission_store.get(conn, account_id, submission_id)
        row = _get(services, account_id, submission_id)  # it was claimed meanwhile
    if row["status"] == Status.RUNNING:
        deadline = time.monotonic() + CANCEL_WAIT
        # Durable, so whichever process runs it (this one, another server, a worker) stops it.
        with services.db.transaction() as conn:
            submission_store.request_cancel(conn, submission_id)
        services.executor.cancel(submission_id)  # running here: no need to wait for the next look
        if lease_expired(row):
            leases.recover(services.db, services.settings)  # its owner is gone: it ends cancelled now
        services.executor.wait_terminal(submission_id, max(0.0, deadline - time.monotonic()))
        row = _get(services, account_id, submission_id)
    if row["status"] in (Status.SUCCEEDED, Status.FAILED):
        raise errors.Conflict(f"the submission has already {row['status']}; only queued or running "
                              f"submissions can be cancelled", details={"status": row["status"]})
    return row


def delete(services, account_id, submission_id):
    """Delete a terminal submission, its result and its code; the ledger keeps its rows."""
    row = _get(services, account_id, submission_id)
    if row["status"] not in submission_store.TERMINAL:
        raise errors.Conflict(f"the submission is {row['status']}; cancel it first",
                              details={"status": row["status"]})
    if row["experiment_id"]:
        raise errors.Conflict(f"the submission is a run of experiment {row['experiment_id']}; delete the "
                              "experiment instead", details={"status": row["status"],
                                                             "experiment_id": row["experiment_id"]})
    with services.db.transaction() as conn:
        children = submission_store.active_children(conn, submission_id)
        if children:
            raise errors.Conflict("a continuation of this submission is still queued or running",
                                  details={"status": row["status"], "continuations": children})
        submission_store.delete_terminal(conn, account_id, submission_id)


def continue_(services, account_id, parent_id, data):
    """Queue a continuation of a finished run from its final population and random state."""
    parent = _get(services, account_id, parent_id)
    conn = services.db.connection()
    saved = result_store.get_by_submission(conn, parent_id)
    if parent["status"] not in (Status.SUCCEEDED, Status.CANCELLED) or saved is None or not saved["resume_state"]:
        raise errors.Conflict(
            "only a succeeded submission, or a cancelled one that saved its state, can be continued",
            details={"status": parent["status"]})
    if len(json.loads(saved["body"]).get("population") or []) != json.loads(parent["params"]).get("sol_per_pop"):
        # A result stored before the report had to hold exactly sol_per_pop rows: no state to resume from.
        raise errors.Conflict("the submission's saved population is not whole; it cannot be continued",
                              details={"status": parent["status"]})
    # The parent's stored params hold every default; re-validated as if the user had given them, a
    # default PyGAD clips quietly (K_tournament 3 with sol_per_pop 2) would be refused: leave defaults out.
    params = {name: value for name, value in json.loads(parent["params"]).items()
              if name not in PARAM_DEFAULTS or value != PARAM_DEFAULTS[name]}
    params.update({name: value for name, value in data.items() if name in PARAM_OVERRIDES})
    params["num_generations"] = data["num_generations"]
    try:
        loaded = GAParamsSchema().load(params)
    except ValidationError as exc:
        raise errors.ValidationFailed.for_fields(exc.messages) from None
    request = dict(loaded, type=parent["type"], name=data.get("name") or parent["name"],
                   metadata=data.get("metadata") or json.loads(parent["metadata"]),
                   fitness_func=parent["fitness_func"], fitness_func_entry=parent["fitness_func_entry"],
                   limits=data.get("limits") or json.loads(parent["limits"]), problem=parent["problem"],
                   problem_params=json.loads(parent["problem_params"]) if parent["problem_params"] else None,
                   webhook_url=parent["webhook_url"],
                   webhook_events=json.loads(parent["webhook_events"]) if parent["webhook_events"] else None)
    def parent_still_there(conn):  # a DELETE may land between the checks above and the insert
        if not result_store.has_resume_state(conn, parent_id):
            raise errors.NotFound(f"no submission {parent_id}")

    return submitting.accept(services, account_id, request, parent_id=parent_id, still_valid=parent_still_there)


def lease_expired(row):
    return row["lease_until"] is None or row["lease_until"] < now()


def _get(services, account_id, submission_id):
    row = submission_store.get(services.db.connection(), account_id, submission_id)
    if row is None:
        raise errors.NotFound(f"no submission {submission_id}")
    return row
