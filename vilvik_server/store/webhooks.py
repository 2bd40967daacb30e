"""Webhook endpoints, the outbox of deliveries, and every attempt to send one.

A delivery moves pending -> sending (claimed with a lease and a token) -> succeeded,
failed, or back to pending for a retry. Every move is a conditional UPDATE; the
sender's token must still hold the row, so a sender whose lease ran out and whose
delivery was reclaimed cannot overwrite the newer attempt.
"""
import json

from ..clock import now

from ..ids import new_id
from .pages import fetch_page

ENDPOINT_FIELDS = ("url", "events", "description", "enabled")


# -- endpoints ------------------------------------------------------------------------------

def create_endpoint(conn, account_id, *, url, events, description, enabled, secret):
    """Insert an endpoint; returns its row."""
    stamp = now()
    return conn.execute(
        "INSERT INTO webhook_endpoints (id, account_id, url, events, description, enabled, secret, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (new_id(), account_id, url, json.dumps(events), description, int(enabled), secret, stamp, stamp)).fetchone()


def get_endpoint(conn, account_id, endpoint_id):
    return conn.execute("SELECT * FROM webhook_endpoints WHERE id = ? AND account_id = ?",
                        (endpoint_id, account_id)).fetchone()


def list_endpoints(conn, account_id, cursor=None, limit=20):
    return fetch_page(conn, "SELECT * FROM webhook_endpoints WHERE account_id = ? {cursor}", [account_id],
                      cursor, limit)


def count_endpoints(conn, account_id):
    return conn.execute("SELECT count(*) FROM webhook_endpoints WHERE account_id = ?", (account_id,)).fetchone()[0]


def enabled_endpoints(conn, account_id):
    """The account's enabled endpoints (the caller applies each one's events filter)."""
    return conn.execute("SELECT * FROM webhook_endpoints WHERE account_id = ? AND enabled = 1 ORDER BY seq",
                        (account_id,)).fetchall()


def update_endpoint(conn, account_id, endpoint_id, changes):
    """Change url, events, description or enabled; returns the row, or None if there is none."""
    changes = {name: value for name, value in changes.items() if name in ENDPOINT_FIELDS}
    if "events" in changes:
        changes["events"] = json.dumps(changes["events"])
    if "enabled" in changes:
        changes["enabled"] = int(changes["enabled"])
    assignments = [f"{name} = ?" for name in changes] + ["updated_at = ?"]
    params = list(changes.values()) + [now()]
    if changes.get("enabled") == 1:
        assignments.append("disabled_reason = NULL")
    row = conn.execute(f"UPDATE webhook_endpoints SET {', '.join(assignments)} WHERE id = ? AND account_id = ?"
                       " RETURNING *", params + [endpoint_id, account_id]).fetchone()
    if row is not None and changes.get("enabled") == 0:
        fail_pending(conn, endpoint_id, "the endpoint was disabled")
    return row


def disable_endpoint(conn, endpoint_id, reason):
    """Disable an enabled endpoint and fail what it still had pending; False if it was not enabled."""
    cursor = conn.execute("UPDATE webhook_endpoints SET enabled = 0, disabled_reason = ?, updated_at = ?"
                          " WHERE id = ? AND enabled = 1", (reason, now(), endpoint_id))
    if cursor.rowcount == 1:
        fail_pending(conn, endpoint_id, f"the endpoint was disabled: {reason}")
    return cursor.rowcount == 1


def delete_endpoint(conn, account_id, endpoint_id):
    """Delete an endpoint with its deliveries; False if the account has no such endpoint."""
    cursor = conn.execute("DELETE FROM webhook_endpoints WHERE id = ? AND account_id = ?", (endpoint_id, account_id))
    return cursor.rowcount == 1


def rotate_secret(conn, account_id, endpoint_id, secret, previous_until):
    """Make `secret` the signing secret; the old one still signs until `previous_until`."""
    return conn.execute(
        "UPDATE webhook_endpoints SET previous_secret = secret, previous_secret_expires_at = ?, secret = ?,"
        " updated_at = ? WHERE id = ? AND account_id = ? RETURNING *",
        (previous_until, secret, now(), endpoint_id, account_id)).fetchone()


def count_outcome(conn, endpoint_id, succeeded):
    """Note a delivery's final outcome on its endpoint (failures are counted)."""
    if succeeded:
        conn.execute("UPDATE webhook_endpoints SET last_success_at = ? WHERE id = ?", (now(), endpoint_id))
    else:
        conn.execute("UPDATE webhook_endpoints SET failure_count = failure_count + 1, last_failure_at = ?"
                     " WHERE id = ?", (now(), endpoint_id))


def default_secret(conn, account_id, make_secret):
    """The secret that signs an account's one-off webhook_url deliveries, made on first use."""
    conn.execute("INSERT INTO webhook_default_secrets (account_id, secret, created_at) VALUES (?, ?, ?)"
                 " ON CONFLICT (account_id) DO NOTHING", (account_id, make_secret(), now()))
    return conn.execute("SELECT secret FROM webhook_default_secrets WHERE account_id = ?",
                        (account_id,)).fetchone()["secret"]


# -- deliveries -----------------------------------------------------------------------------

def insert_delivery(conn, account_id, event_id, *, endpoint_id=None, url=None, redelivery_of=None):
    """Queue an event for one endpoint (or a one-off url), due now; returns the row."""
    stamp = now()
    return conn.execute(
        "INSERT INTO webhook_deliveries (id, account_id, event_id, endpoint_id, url, redelivery_of, status,"
        " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?) RETURNING *",
        (new_id(), account_id, event_id, endpoint_id, url, redelivery_of, stamp, stamp)).fetchone()


def _due(table=""):
    """Due: pending and its time has come, or sending by a sender whose lease ran out (it died)."""
    return (f"(({table}status = 'pending' AND {table}next_attempt_at <= :now)"
            f" OR ({table}status = 'sending' AND {table}lease_until < :now))")


def due_deliveries(conn, at, busy_targets=(), limit=20, busy_accounts=()):
    """Deliveries due at `at`, oldest first, skipping targets and accounts already at their concurrency limit."""
    target = "coalesce(d.endpoint_id, 'url:' || d.url)"
    names = {f"busy{i}": busy for i, busy in enumerate(busy_targets)}
    skip = f" AND {target} NOT IN ({', '.join(':' + name for name in names)})" if names else ""
    accounts = {f"account{i}": busy for i, busy in enumerate(busy_accounts)}
    if accounts:
        skip += f" AND d.account_id NOT IN ({', '.join(':' + name for name in accounts)})"
    names.update(accounts)
    return conn.execute(
        f"SELECT d.id, d.account_id, {target} AS target FROM webhook_deliveries d"
        f" LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id"
        f" WHERE {_due('d.')} AND (d.endpoint_id IS NULL OR e.enabled = 1){skip}"
        f" ORDER BY d.next_attempt_at LIMIT :limit", {"now": at, "limit": limit, **names}).fetchall()


def next_due_at(conn):
    """When the earliest pending delivery is due, or None."""
    return conn.execute("SELECT min(next_attempt_at) FROM webhook_deliveries WHERE status = 'pending'").fetchone()[0]


def claim_delivery(conn, delivery_id, at, lease_until, claim):
    """pending (due) or abandoned sending -> sending under `claim`; returns the row, or None if taken."""
    return conn.execute(
        f"UPDATE webhook_deliveries SET status = 'sending', lease_until = :lease, claim = :claim,"
        f" attempts = attempts + 1 WHERE id = :id AND {_due()} RETURNING *",
        {"lease": lease_until, "claim": claim, "id": delivery_id, "now": at}).fetchone()


def sending_context(conn, delivery_id):
    """A claimed delivery with what sending it needs: the event body, the target url, the secrets."""
    return conn.execute(
        "SELECT d.*, ev.body, ev.type AS event_type, coalesce(e.url, d.url) AS target_url, e.secret,"
        " e.previous_secret, e.previous_secret_expires_at, e.enabled"
        " FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id"
        " LEFT JOIN webhook_endpoints e ON e.id = d.endpoint_id WHERE d.id = ?", (delivery_id,)).fetchone()


def record_attempt(conn, delivery_id, claim, *, number, url, started_at, status_code, latency_ms, error,
                   response_excerpt, next_attempt_at, final_status=None, final_error=None):
    """Store one attempt and move the delivery on (pending again, or final); False if the claim was lost."""
    if final_status is None:
        cursor = conn.execute(
            "UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = ?, lease_until = NULL,"
            " claim = NULL WHERE id = ? AND status = 'sending' AND claim = ?", (next_attempt_at, delivery_id, claim))
    else:
        cursor = conn.execute(
            "UPDATE webhook_deliveries SET status = ?, error = ?, next_attempt_at = NULL, lease_until = NULL,"
            " claim = NULL, finished_at = ? WHERE id = ? AND status = 'sending' AND claim = ?",
            (final_status, final_error, now(), delivery_id, claim))
    if cursor.rowcount != 1:
        return False
    conn.execute(
        "INSERT INTO webhook_attempts (delivery_id, number, url, created_at, status_code, latency_ms, error,"
        " response_excerpt, next_retry_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (delivery_id, number, url, started_at, status_code, latency_ms, error, response_excerpt,
         next_attempt_at if final_status is None else None))
    return True


def fail_unsendable(conn, delivery_id, claim, error):
    """End a claimed delivery that cannot be sent at all (its endpoint was disabled meanwhile)."""
    cursor = conn.execute(
        "UPDATE webhook_deliveries SET status = 'failed', error = ?, attempts = attempts - 1, lease_until = NULL,"
        " claim = NULL, next_attempt_at = NULL, finished_at = ? WHERE id = ? AND status = 'sending' AND claim = ?",
        (error, now(), delivery_id, claim))
    return cursor.rowcount == 1


def fail_pending(conn, endpoint_id, error):
    """Fail an endpoint's deliveries that are waiting for a retry (it was disabled)."""
    conn.execute("UPDATE webhook_deliveries SET status = 'failed', error = ?, next_attempt_at = NULL,"
                 " finished_at = ? WHERE endpoint_id = ? AND status = 'pending'", (error, now(), endpoint_id))


def get_delivery(conn, account_id, endpoint_id, delivery_id):
    return conn.execute(
        "SELECT d.*, ev.type AS event_type FROM webhook_deliveries d JOIN events ev ON ev.id = d.event_id"
        " WHERE d.id = ? AND d.endpoint_id = ? AND d.account_id = ?",
        (delivery_id, endpoint_id, account_id)).fetchone()


def list_deliveries(conn, account_id, endpoint_id, cursor=None, limit=20):
    """One page of an endpoint's deliveries, newest first."""
    # Wrapped, so the pager's `seq` means the delivery's and not the event's.
    return fetch_page(
        conn, "SELECT * FROM (SELECT d.*, ev.type AS event_type FROM webhook_deliveries d"
              " JOIN events ev ON ev.id = d.event_id WHERE d.endpoint_id = ? AND d.account_id = ?) WHERE 1 {cursor}",
        [endpoint_id, account_id], cursor, limit)


def attempts_of(conn, delivery_ids):
    """{delivery id: [attempt rows, first to last]}."""
    found = {delivery_id: [] for delivery_id in delivery_ids}
    if not found:
        return found
    marks = ", ".join("?" for _ in found)
    for row in conn.execute(f"SELECT * FROM webhook_attempts WHERE delivery_id IN ({marks}) ORDER BY seq",
                            list(found)):
        found[row["delivery_id"]].append(row)
    return found
