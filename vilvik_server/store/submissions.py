"""Submissions: the job rows, and every state change as a conditional UPDATE."""
import json

from ..domain.statuses import TERMINAL  # noqa: F401 - where the callers look for it
from ..clock import now
from ..ids import new_id
from .pages import fetch_page

MAX_ATTEMPTS = 2  # a run lost twice with its server is failed with worker_lost


def insert(conn, account_id, *, name, type, params, fitness_func, fitness_func_entry, metadata, limits,
           parent_id=None, problem=None, problem_params=None, webhook_url=None, webhook_events=None,
           reserved_micros=0):
    """Insert a queued submission; returns the columns it set, as the row holds them.

    No `RETURNING *`: every value but the defaults is known here, and reading back the
    row's 31 columns cost about 20 us per accept (and, served, a hand-over of the
    interpreter lock per column).
    """
    row = {"id": new_id(), "account_id": account_id, "name": name, "type": type, "status": "queued",
           "params": json.dumps(params), "fitness_func": fitness_func, "fitness_func_entry": fitness_func_entry,
           "metadata": json.dumps(metadata), "limits": json.dumps(limits), "parent_id": parent_id,
           "problem": problem, "problem_params": json.dumps(problem_params) if problem_params is not None else None,
           "webhook_url": webhook_url,
           "webhook_events": json.dumps(webhook_events) if webhook_events is not None else None,
           "created_at": now(), "reserved_micros": reserved_micros}
    conn.execute(_INSERT, [row[column] for column in _INSERTED])
    return row


_INSERTED = ("id", "account_id", "name", "type", "status", "params", "fitness_func", "fitness_func_entry", "metadata",
             "limits", "parent_id", "problem", "problem_params", "webhook_url", "webhook_events", "created_at",
             "reserved_micros")
_INSERT = f"INSERT INTO submissions ({', '.join(_INSERTED)}) VALUES ({', '.join('?' * len(_INSERTED))})"


def get(conn, account_id, submission_id):
    return conn.execute("SELECT * FROM submissions WHERE id = ? AND account_id = ?",
                        (submission_id, account_id)).fetchone()


# What represent.submission shows of a row (without its code), for the status read that
# clients poll. Python's sqlite3 lets the interpreter lock go around every column it reads
# (a hand-over to another request thread under load), so the text and integer columns
# come packed in one JSON array (exact for both) and only the two REAL ones as themselves
# (SQLite's JSON keeps 15 digits of a REAL): three columns instead of thirty-one.
_SHOWN_PACKED = ("id", "name", "type", "status", "created_at", "started_at", "finished_at", "params",
                 "fitness_func_entry", "parent_id", "experiment_id", "problem", "problem_params",
                 "generations_completed", "best_fitness", "mean_fitness", "progress_updated_at", "peak_memory_bytes",
                 "limits", "credits_charged_micros", "stop_reason", "stop_criterion", "error", "sandbox", "versions",
                 "logs", "metadata", "webhook_url", "webhook_events")
_SHOWN_REALS = ("cpu_seconds", "wall_seconds")
_GET_SHOWN = (f"SELECT json_array({', '.join(_SHOWN_PACKED)}), {', '.join(_SHOWN_REALS)}"
              " FROM submissions WHERE id = ? AND account_id = ?")


def get_shown(conn, account_id, submission_id):
    """The columns of a submission that its representation shows (not its code) as a dict, or None."""
    row = conn.execute(_GET_SHOWN, (submission_id, account_id)).fetchone()
    if row is None:
        return None
    shown = dict(zip(_SHOWN_PACKED, json.loads(row[0])))
    shown.update(zip(_SHOWN_REALS, tuple(row)[1:]))
    return shown


def get_any(conn, submission_id):
    """A submission whatever its account (for the executor, never for a request)."""
    return conn.execute("SELECT * FROM submissions WHERE id = ?", (submission_id,)).fetchone()


def list_page(conn, account_id, *, status=None, created_after=None, created_before=None, name=None,
              experiment_id=None, cursor=None, limit=20):
    """One page of an account's submissions, newest first."""
    conditions, params = ["account_id = ?"], [account_id]
    if experiment_id:
        conditions.append("experiment_id = ?")
        params.append(experiment_id)
    if status:
        conditions.append("status = ?")
        params.append(status)
    if created_after:
        conditions.append("created_at > ?")
        params.append(created_after)
    if created_before:
        conditions.append("created_at < ?")
        params.append(created_before)
    if name:
        conditions.append("substr(name, 1, ?) = ?")
        params += [len(name), name]
    sql = "SELECT * FROM submissions WHERE " + " AND ".join(conditions) + " {cursor}"
    return fetch_page(conn, sql, params, cursor, limit)


def queue_counts(conn):
    """How many submissions are queued and running on this server."""
    rows = conn.execute(
        "SELECT status, count(*) AS n FROM submissions WHERE status IN ('queued', 'running') GROUP BY status")
    counts = {"queued": 0, "running": 0}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def any_queued(conn):
    """Whether any submission is queued: a read of the partial index submissions_queued_by_account,
    much cheaper than claim_next's write transaction when there is nothing to claim."""
    return conn.execute("SELECT EXISTS (SELECT 1 FROM submissions WHERE status = 'queued')").fetchone()[0] == 1


def claim_next(conn, max_active_per_account, owner=None, lease_until=None):
    """Move the next queued submission to running, owned by `owner` until `lease_until`; returns it, or None.

    Next is the oldest queued run of the account with the fewest runs running (below its
    MAX_ACTIVE), so one account's long queue (an experiment's hundreds of runs) cannot keep
    another account's run waiting behind it; within an account, first come, first served.
    """
    return conn.execute(
        "WITH running AS (SELECT account_id, count(*) AS n FROM submissions WHERE status = 'running'"
        "                 GROUP BY account_id),"
        "     heads AS (SELECT account_id, min(seq) AS seq FROM submissions WHERE status = 'queued'"
        "               GROUP BY account_id)"
        " UPDATE submissions SET status = 'running', started_at = ?, attempts = attempts + 1,"
        " owner = ?, lease_until = ?, cancel_requested_at = NULL"
        " WHERE seq = (SELECT heads.seq FROM heads LEFT JOIN running USING (account_id)"
        "   WHERE coalesce(running.n, 0) < ? ORDER BY coalesce(running.n, 0), heads.seq LIMIT 1)"
        " AND status = 'queued' RETURNING *", (now(), owner, lease_until, max_active_per_account)).fetchone()


def renew_leases(conn, owner, lease_until):
    """Extend the lease of every run `owner` holds; returns how many it holds."""
    return conn.execute("UPDATE submissions SET lease_until = ? WHERE owner = ? AND status = 'running'",
                        (lease_until, owner)).rowcount


def take_over(conn, submission_id, attempt, owner, lease_until):
    """A run's attempt has a new owner (the worker that started it); False if it is not that attempt."""
    return conn.execute("UPDATE submissions SET owner = ?, lease_until = ? WHERE id = ? AND status = 'running'"
                        " AND attempts = ?", (owner, lease_until, submission_id, attempt)).rowcount == 1


def renew_lease(conn, submission_id, attempt, owner, lease_until):
    """Extend one run's lease while `owner` still holds this attempt of it."""
    return conn.execute("UPDATE submissions SET lease_until = ? WHERE id = ? AND status = 'running'"
                        " AND attempts = ? AND owner = ?", (lease_until, submission_id, attempt, owner)).rowcount == 1


def request_cancel(conn, submission_id):
    """Record a durable cancel request on a running submission; False if it is not running."""
    return conn.execute("UPDATE submissions SET cancel_requested_at = coalesce(cancel_requested_at, ?)"
                        " WHERE id = ? AND status = 'running'", (now(), submission_id)).rowcount == 1


def cancel_requests(conn, owner_like):
    """Running submissions with a cancel request whose owner matches the LIKE pattern `owner_like`."""
    return conn.execute("SELECT id, attempts, owner FROM submissions WHERE status = 'running'"
                        " AND cancel_requested_at IS NOT NULL AND owner LIKE ? ESCAPE '\\'", (owner_like,)).fetchall()


def running_owned(conn, owner_like):
    """Running submissions whose owner matches the LIKE pattern `owner_like`: (id, attempts, owner)."""
    return conn.execute("SELECT id, attempts, owner, cancel_requested_at FROM submissions"
                        " WHERE status = 'running' AND owner LIKE ? ESCAPE '\\'", (owner_like,)).fetchall()


def extend_leases(conn, owner_like, lease_until):
    """Give every running row whose owner matches `owner_like` a lease until at least `lease_until`."""
    return conn.execute("UPDATE submissions SET lease_until = ? WHERE status = 'running' AND owner LIKE ? ESCAPE '\\'"
                        " AND (lease_until IS NULL OR lease_until < ?)",
                        (lease_until, owner_like, lease_until)).rowcount


def record_progress(conn, submission_id, generations_completed, best_fitness, mean_fitness):
    conn.execute(
        "UPDATE submissions SET generations_completed = ?, best_fitness = ?, mean_fitness = ?,"
        " progress_updated_at = ? WHERE id = ? AND status = 'running'",
        (generations_completed, json.dumps(best_fitness), json.dumps(mean_fitness), now(), submission_id))


def record_sandbox(conn, submission_id, sandbox, versions):
    conn.execute("UPDATE submissions SET sandbox = ?, versions = ? WHERE id = ?",
                 (json.dumps(sandbox), json.dumps(versions), submission_id))


def finish(conn, submission_id, status, *, usage, error=None, logs=None, generations_completed=None,
           best_fitness=None, mean_fitness=None, attempt=None, stop_reason=None, stop_criterion=None,
           sandbox=None, versions=None):
    """Move a running submission (this `attempt` of it, if given) to a terminal status; False if it was not
    running. The run's stop reason, and the sandbox and versions that ran it (when given), are
    recorded in the same statement."""
    finished = now()
    cursor = conn.execute(
        "UPDATE submissions SET status = ?, finished_at = ?, cpu_seconds = ?, wall_seconds = ?,"
        " peak_memory_bytes = ?, error = ?, logs = ?, owner = NULL, lease_until = NULL,"
        " generations_completed = coalesce(?, generations_completed), best_fitness = coalesce(?, best_fitness),"
        " mean_fitness = coalesce(?, mean_fitness), progress_updated_at = coalesce(?, progress_updated_at),"
        " stop_reason = ?, stop_criterion = ?,"
        " sandbox = coalesce(?, sandbox), versions = coalesce(?, versions)"
        " WHERE id = ? AND status = 'running' AND (? IS NULL OR attempts = ?)",
        (status, finished, usage.get("cpu_seconds"), usage.get("wall_seconds"), usage.get("peak_memory_bytes"),
         json.dumps(error) if error else None, logs, generations_completed,
         json.dumps(best_fitness) if best_fitness is not None else None,
         json.dumps(mean_fitness) if mean_fitness is not None else None,
         finished if generations_completed is not None else None, stop_reason, stop_criterion,
         json.dumps(sandbox) if sandbox is not None else None, json.dumps(versions) if sandbox is not None else None,
         submission_id, attempt, attempt))
    return cursor.rowcount == 1


# A re-queued run starts again from the beginning: the progress of the attempt that stopped goes.
_NO_PROGRESS = "generations_completed = 0, best_fitness = NULL, mean_fitness = NULL, progress_updated_at = NULL"


def requeue(conn, submission_id, attempt=None):
    """Put a running submission back in the queue (its server is stopping)."""
    cursor = conn.execute(
        "UPDATE submissions SET status = 'queued', started_at = NULL, attempts = attempts - 1,"
        f" owner = NULL, lease_until = NULL, {_NO_PROGRESS}"
        " WHERE id = ? AND status = 'running' AND (? IS NULL OR attempts = ?)",
        (submission_id, attempt, attempt))
    return cursor.rowcount == 1


def recover_orphans(conn, *, dead_owner_like=None):
    """Runs whose owner is gone: their lease expired (or, `dead_owner_like`, their owner is known dead).

    A run with a cancel request ends cancelled; one lost MAX_ATTEMPTS times is failed with
    worker_lost; the rest are re-queued. Returns (requeued, failed, cancelled) ids.
    """
    stamp = now()
    orphan = ("status = 'running' AND (lease_until IS NULL OR lease_until < ?"
              " OR (? IS NOT NULL AND owner LIKE ? ESCAPE '\\'))")
    args = (stamp, dead_owner_like, dead_owner_like)
    cancelled = conn.execute(
        f"UPDATE submissions SET status = 'cancelled', finished_at = ?, owner = NULL, lease_until = NULL"
        f" WHERE {orphan} AND cancel_requested_at IS NOT NULL RETURNING id", (stamp, *args)).fetchall()
    error = json.dumps({"code": "worker_lost", "message": "the process running this was lost twice"})
    failed = conn.execute(
        f"UPDATE submissions SET status = 'failed', finished_at = ?, error = ?, owner = NULL, lease_until = NULL"
        f" WHERE {orphan} AND attempts >= ? RETURNING id", (stamp, error, *args, MAX_ATTEMPTS)).fetchall()
    requeued = conn.execute(
        f"UPDATE submissions SET status = 'queued', started_at = NULL, owner = NULL, lease_until = NULL,"
        f" {_NO_PROGRESS} WHERE {orphan} RETURNING id", args).fetchall()
    return [row["id"] for row in requeued], [row["id"] for row in failed], [row["id"] for row in cancelled]


def account_counts(conn, account_id):
    """How many of the account's submissions are queued and running."""
    rows = conn.execute("SELECT status, count(*) AS n FROM submissions WHERE account_id = ?"
                        " AND status IN ('queued', 'running') GROUP BY status", (account_id,))
    counts = {"queued": 0, "running": 0}
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def queued_entries(conn, account_id, up_to=None):
    """What MAX_QUEUED counts: queued submissions, with all queued runs of one experiment as one.

    With `up_to`, each part is counted no further than that: O(up_to) however long the
    queue is, and still at least `up_to` whenever the whole count is (enough to compare
    with a ceiling).
    """
    limit = -1 if up_to is None else up_to  # LIMIT -1: no limit
    return conn.execute(QUEUED_ENTRIES, (account_id, limit, account_id, limit)).fetchone()[0]


# Both parts read only the partial index submissions_queued_by_account (migration 0006).
QUEUED_ENTRIES = (
    "SELECT (SELECT count(*) FROM (SELECT 1 FROM submissions WHERE account_id = ? AND status = 'queued'"
    "        AND experiment_id IS NULL LIMIT ?))"
    " + (SELECT count(*) FROM (SELECT DISTINCT experiment_id FROM submissions WHERE account_id = ?"
    "    AND status = 'queued' AND experiment_id IS NOT NULL LIMIT ?))")


def set_charge(conn, submission_id, micros):
    conn.execute("UPDATE submissions SET credits_charged_micros = ? WHERE id = ?", (micros, submission_id))


def cancel_queued(conn, submission_id):
    """queued -> cancelled; False if it was no longer queued."""
    cursor = conn.execute("UPDATE submissions SET status = 'cancelled', finished_at = ?"
                          " WHERE id = ? AND status = 'queued'", (now(), submission_id))
    return cursor.rowcount == 1


def active_children(conn, submission_id):
    """Ids of continuations of this submission that are still queued or running."""
    rows = conn.execute("SELECT id FROM submissions WHERE parent_id = ? AND status IN ('queued', 'running')",
                        (submission_id,))
    return [row["id"] for row in rows]


def delete_terminal(conn, account_id, submission_id):
    """Delete a terminal submission (its result goes with it); False if there was none."""
    cursor = conn.execute("DELETE FROM submissions WHERE id = ? AND account_id = ?"
                          " AND status IN ('succeeded', 'failed', 'cancelled')", (submission_id, account_id))
    return cursor.rowcount == 1


def finished_totals(conn):
    """Finished runs and their wall-clock seconds, by status."""
    return conn.execute("SELECT status, count(*) AS runs, sum(wall_seconds) AS wall_seconds FROM submissions"
                        " WHERE status IN ('succeeded', 'failed', 'cancelled') GROUP BY status").fetchall()
