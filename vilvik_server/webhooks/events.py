"""Recording events: one row per event, and one delivery row per endpoint that wants it.

Everything here runs inside the caller's write transaction, beside the state change
that caused the event, so an event exists exactly when its change does. The body is
built once, here, and stored: every retry sends the same bytes, and the payload shows
the submission as it was when the event happened.
"""
import json
import logging

from ..domain import represent
from ..domain.json_values import finite
from ..domain.statuses import Status
from ..domain.urls import result_by_id_url
from ..clock import now, rfc3339
from ..ids import new_id
from ..money import micros_to_credits
from ..store import events as event_store
from ..store import results as result_store
from ..store import submissions as submission_store
from ..store import webhooks as webhook_store
from . import ALL, PING, subscribed

log = logging.getLogger("vilvik.webhooks")

EVENT_FOR_STATUS = {Status.RUNNING: "submission.started", Status.SUCCEEDED: "result.completed",
                    Status.FAILED: "result.failed", Status.CANCELLED: "submission.cancelled"}
RESULT_FIELDS = ("best_solution", "best_solution_fitness", "best_solution_idx", "best_solution_generation",
                 "generations_completed", "interpretation", "usage")


def record_submission_event(conn, settings, submission_id, result=None):
    """Record the event for a submission's current status (started or terminal) and queue its deliveries.

    `result` is the (id, body) of the result just stored with that status, if the caller has it
    (the executor): then it is not read back and parsed again.

    A fault here is logged and undone (to a savepoint), never raised: a webhook must not
    cost a run its stored result.
    """
    conn.execute("SAVEPOINT webhook_event")
    try:
        row = submission_store.get_any(conn, submission_id)
        event_type = EVENT_FOR_STATUS.get(row["status"]) if row is not None else None
        if event_type is not None:
            record(conn, row["account_id"], event_type, _submission_data(conn, settings, row, result), submission=row)
    except Exception:  # noqa: B902
        conn.execute("ROLLBACK TO webhook_event")
        log.exception("submission %s: could not record its webhook event", submission_id)
    conn.execute("RELEASE webhook_event")


def record(conn, account_id, event_type, data, *, submission=None, only_endpoint=None):
    """Insert an event and its deliveries; returns (event id, [delivery rows])."""
    event_id = "evt_" + new_id()
    created_at = now()
    body = json.dumps({"id": event_id, "type": event_type, "created_at": rfc3339(created_at),
                       "data": finite(data)}, separators=(",", ":"), allow_nan=False)
    event_store.insert(conn, event_id, account_id, event_type, body, created_at,
                       submission_id=submission["id"] if submission is not None else None)
    deliveries = []
    if only_endpoint is not None:
        deliveries.append(webhook_store.insert_delivery(conn, account_id, event_id, endpoint_id=only_endpoint))
        return event_id, deliveries
    for endpoint in webhook_store.enabled_endpoints(conn, account_id):
        if subscribed(json.loads(endpoint["events"]), event_type):
            deliveries.append(webhook_store.insert_delivery(conn, account_id, event_id, endpoint_id=endpoint["id"]))
    if submission is not None and submission["webhook_url"]:
        wanted = json.loads(submission["webhook_events"]) if submission["webhook_events"] else [ALL]
        if subscribed(wanted, event_type):
            deliveries.append(webhook_store.insert_delivery(conn, account_id, event_id,
                                                            url=submission["webhook_url"]))
    return event_id, deliveries


def record_ping(conn, account_id, endpoint_id):
    """A `ping` event for one endpoint (POST /webhooks/{id}/test); returns its delivery row."""
    _, (delivery,) = record(conn, account_id, PING, {
        "webhook_id": endpoint_id, "message": "a test event from Vilvik: this endpoint receives webhooks"},
        only_endpoint=endpoint_id)
    return delivery


def _submission_data(conn, settings, row, result=None):
    submission = submission_summary(row, settings["PUBLIC_URL"])
    data = {"submission": submission}
    if row["status"] in (Status.SUCCEEDED, Status.CANCELLED):
        if result is None:
            saved = result_store.get_by_submission(conn, row["id"])
            result = (saved["id"], json.loads(saved["body"])) if saved is not None else None
        data["result"] = result_summary(*result, settings["PUBLIC_URL"]) if result is not None else None
        data["result_url"] = submission["result_url"]
    return data


def submission_summary(row, public_url):
    """The submission as GET /submissions/{id} shows it, less its logs, sandbox and versions."""
    body = represent.submission(row, public_url)
    for internal in ("logs", "sandbox", "versions"):
        body.pop(internal)
    return body


def result_summary(result_id, body, public_url):
    """A result's headline: the best solution and its fitness, usage and charge (not the history)."""
    summary = {"id": result_id, "object": "result"}
    summary.update({name: body[name] for name in RESULT_FIELDS if name in body})
    summary["credits_charged"] = micros_to_credits(body.get("credits_charged_micros"))
    summary["url"] = result_by_id_url(public_url, result_id)
    return summary
