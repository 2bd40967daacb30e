"""API keys: stored as a SHA-256 of the secret, shown once, revocable."""
import hashlib
import secrets

from ..clock import now

from ..ids import new_id
from .pages import fetch_page

SECRET_PREFIX = "vk_"


def hash_secret(secret):
    # Keys are 256-bit random strings, so a fast hash is enough: nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def create(conn, account_id, scopes, name=""):
    """Insert a key; returns (key_id, secret). The secret is not stored."""
    key_id = new_id()
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    conn.execute(
        "INSERT INTO api_keys (id, account_id, name, prefix, secret_hash, scopes, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (key_id, account_id, name, secret[:10], hash_secret(secret), " ".join(sorted(set(scopes))), now()))
    return key_id, secret


def find_active(conn, secret):
    """The unrevoked key with this secret, or None: what a request needs of it (id, account, prefix, scopes, last use).

    Only those columns: every request reads this row, and Python's sqlite3 lets other threads
    run around each column it reads, a hand-over of the interpreter lock per column under load.
    """
    return conn.execute(
        "SELECT id, account_id, prefix, scopes, last_used_at FROM api_keys WHERE secret_hash = ? AND revoked_at IS NULL",
        (hash_secret(secret),)).fetchone()


def touch(conn, key_id):
    """Set the key's last_used_at to now; returns that time."""
    used_at = now()
    conn.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (used_at, key_id))
    return used_at


def list_page(conn, account_id, cursor=None, limit=20):
    """An account's unrevoked keys, newest first."""
    return fetch_page(conn, "SELECT * FROM api_keys WHERE account_id = ? AND revoked_at IS NULL {cursor}",
                      [account_id], cursor, limit)


def revoke(conn, account_id, key_id):
    """Revoke a key at once; False if the account has no such unrevoked key."""
    cursor = conn.execute("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND account_id = ? AND revoked_at IS NULL",
                          (now(), key_id, account_id))
    return cursor.rowcount == 1


def get(conn, key_id):
    return conn.execute("SELECT * FROM api_keys WHERE id = ?", (key_id,)).fetchone()


def find_by_id_or_secret(conn, text):
    """The key whose id is `text`, or whose secret is `text` (a leaked key pasted whole); None if neither."""
    if text.startswith(SECRET_PREFIX):
        return conn.execute("SELECT * FROM api_keys WHERE secret_hash = ?", (hash_secret(text),)).fetchone()
    return get(conn, text)
