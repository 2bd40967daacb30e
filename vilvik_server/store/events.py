"""Events: what happened to an account's submissions, kept as the exact JSON webhooks send."""
from ..clock import now
from .pages import fetch_page


def insert(conn, event_id, account_id, type, body, created_at, submission_id=None):
    """Insert an event (inside the caller's transaction, beside the change that caused it)."""
    conn.execute("INSERT INTO events (id, account_id, type, submission_id, created_at, body)"
                 " VALUES (?, ?, ?, ?, ?, ?)", (event_id, account_id, type, submission_id, created_at, body))


def get(conn, account_id, event_id):
    return conn.execute("SELECT * FROM events WHERE id = ? AND account_id = ?", (event_id, account_id)).fetchone()


def list_page(conn, account_id, *, type=None, undelivered=False, cursor=None, limit=20):
    """One page of an account's events, newest first; `undelivered`: no receiver has taken them yet."""
    conditions, params = ["account_id = ?"], [account_id]
    if type:
        conditions.append("type = ?")
        params.append(type)
    if undelivered:
        conditions.append("delivered_at IS NULL")
    sql = "SELECT * FROM events WHERE " + " AND ".join(conditions) + " {cursor}"
    return fetch_page(conn, sql, params, cursor, limit)


def mark_delivered(conn, event_id):
    """Record the first successful delivery of an event (later ones keep the first time)."""
    conn.execute("UPDATE events SET delivered_at = ? WHERE id = ? AND delivered_at IS NULL", (now(), event_id))
