"""Idempotency keys: who sent which key with which request, and the response it got."""
import json
from datetime import datetime, timedelta, timezone

from ..clock import now


def claim(conn, account_id, key, request_hash):
    """Take the key for this request; returns None if it was free, else the stored row."""
    inserted = conn.execute(
        "INSERT INTO idempotency_keys (account_id, key, request_hash, created_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (account_id, key) DO NOTHING", (account_id, key, request_hash, now()))
    if inserted.rowcount == 1:
        return None
    return conn.execute("SELECT * FROM idempotency_keys WHERE account_id = ? AND key = ?",
                        (account_id, key)).fetchone()


def complete(conn, account_id, key, status_code, body, headers):
    conn.execute("UPDATE idempotency_keys SET status_code = ?, response_body = ?, response_headers = ?"
                 " WHERE account_id = ? AND key = ?", (status_code, body, json.dumps(headers), account_id, key))


def release(conn, account_id, key):
    conn.execute("DELETE FROM idempotency_keys WHERE account_id = ? AND key = ?", (account_id, key))


def forget_expired(conn, ttl_seconds, abandoned_seconds):
    """Drop keys past their time, and claims whose request died before it answered."""
    conn.execute("DELETE FROM idempotency_keys WHERE created_at < ? OR (status_code IS NULL AND created_at < ?)",
                 (_ago(ttl_seconds), _ago(abandoned_seconds)))


def _ago(seconds):
    return (datetime.now(timezone.utc) - timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
