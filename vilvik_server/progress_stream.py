"""GET /submissions/{id}/events: a run's progress as Server-Sent Events.

The stream opens with a comment (so the headers go out at once), reads the submission's row (never holding a transaction) at most ten
times a second, sends a `progress` event whenever it changed, a comment every
15 s so proxies keep the connection, and one final `status` event when the run is
terminal; then it ends, or sooner when the client goes away. Each open stream holds
one of waitress's threads, so at most MAX_EVENT_STREAMS are open at once (past that
503 unavailable) and MAX_EVENT_STREAMS_PER_ACCOUNT per account (past that 429
concurrency_limit), both with Retry-After. A stream's place is given back on every
path: its end, the response closing (HEAD, a client gone before the first byte).
"""
import json
import time

from flask import Response, request, stream_with_context

from . import errors
from .clock import rfc3339
from .domain.statuses import Status
from .domain.words import plural
from .store import submissions as submission_store

POLL_INTERVAL = 0.1
HEARTBEAT_SECONDS = 15
MAX_STREAM_SECONDS = 3600  # a client following a very long run reconnects after an hour

def stream(services, account_id, submission_id):
    """The SSE response for one submission (404 if it is not the caller's)."""
    row = submission_store.get(services.db.connection(), account_id, submission_id)
    if row is None:
        raise errors.NotFound(f"no submission {submission_id}")
    ticket, full = services.streams.take(account_id)
    if full == "account":
        raise errors.ConcurrencyLimit(
            f"this account has {plural(services.streams.per_account, 'event stream')} open, the most it may; close one, "
            f"poll the submission, or retry", headers={"Retry-After": "5"})
    if ticket is None:
        raise errors.Unavailable("too many event streams are open; poll the submission or retry",
                                 headers={"Retry-After": "5"})
    try:
        client_gone = request.environ.get("waitress.client_disconnected", lambda: False)
        generator = _events(services.db, account_id, submission_id, ticket, client_gone)
        response = Response(stream_with_context(generator), mimetype="text/event-stream")
        # The slot is given back when the response closes, even if the stream never started
        # (a HEAD request, a client gone before the first byte); the generator gives it back too.
        response.call_on_close(ticket.release)
    except BaseException:
        ticket.release()
        raise
    response.headers["Cache-Control"] = "no-cache"
    response.headers["X-Accel-Buffering"] = "no"
    return response


def _events(db, account_id, submission_id, ticket, client_gone):
    try:
        yield ": open\n\n"  # the headers go out now, not with the first event
        last_progress, last_sent = None, time.monotonic()
        started = last_sent
        while time.monotonic() - started < MAX_STREAM_SECONDS:
            if client_gone():
                return
            row = submission_store.get(db.connection(), account_id, submission_id)
            if row is None:
                yield _event("status", {"id": submission_id, "status": "deleted"})
                return
            progress = (row["generations_completed"], row["best_fitness"], row["mean_fitness"])
            if progress != last_progress and row["status"] != Status.QUEUED:
                last_progress = progress
                last_sent = time.monotonic()
                yield _event("progress", {
                    "id": submission_id, "generations_completed": row["generations_completed"],
                    "num_generations": json.loads(row["params"])["num_generations"],
                    "best_fitness": json.loads(row["best_fitness"]) if row["best_fitness"] else None,
                    "mean_fitness": json.loads(row["mean_fitness"]) if row["mean_fitness"] else None,
                    "updated_at": rfc3339(row["progress_updated_at"])})
            if row["status"] in submission_store.TERMINAL:
                yield _event("status", {"id": submission_id, "status": row["status"],
                                        "error": json.loads(row["error"]) if row["error"] else None,
                                        "finished_at": rfc3339(row["finished_at"])})
                return
            if time.monotonic() - last_sent > HEARTBEAT_SECONDS:
                last_sent = time.monotonic()
                yield ": keep-alive\n\n"
            time.sleep(POLL_INTERVAL)
    finally:
        ticket.release()
        db.close()


def _event(name, data):
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"
