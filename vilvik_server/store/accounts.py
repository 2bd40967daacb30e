"""Accounts, their credits, and the append-only ledger that explains every change.

available_micros always equals the sum of the account's ledger rows: a grant or
refund adds, a charge subtracts, a reserve moves credits into reserved_micros and
a release moves them back. Every function here runs inside the caller's write
transaction, so money moves together with the state it pays for.
"""
from ..clock import now
from ..ids import new_id
from .pages import fetch_page


def create(conn, email, password_hash=None):
    """Insert an account; returns its id."""
    account_id = new_id()
    conn.execute("INSERT INTO accounts (id, email, password_hash, created_at) VALUES (?, ?, ?, ?)",
                 (account_id, email, password_hash, now()))
    return account_id


def get(conn, account_id):
    return conn.execute("SELECT * FROM accounts WHERE id = ?", (account_id,)).fetchone()


def get_by_email(conn, email):
    return conn.execute("SELECT * FROM accounts WHERE email = ?", (email,)).fetchone()


def add_to_balance(conn, account_id, micros, kind, submission_id=None, note=""):
    """Grant, charge or adjust: move available credits by `micros`; returns the new available balance.

    The CHECK on available_micros refuses to go below zero, aborting the transaction.
    """
    row = conn.execute(
        "UPDATE accounts SET available_micros = available_micros + ? WHERE id = ? RETURNING available_micros",
        (micros, account_id)).fetchone()
    _record(conn, account_id, kind, micros, row["available_micros"], submission_id, note)
    return row["available_micros"]


def reserve(conn, account_id, micros, submission_id):
    """Hold `micros` for a submission if the available balance covers it; False if it does not."""
    row = conn.execute(
        "UPDATE accounts SET available_micros = available_micros - ?, reserved_micros = reserved_micros + ?"
        " WHERE id = ? AND available_micros >= ? RETURNING available_micros",
        (micros, micros, account_id, micros)).fetchone()
    if row is None:
        return False
    _record(conn, account_id, "reserve", -micros, row["available_micros"], submission_id, "")
    return True


def reserve_many(conn, account_id, micros_each, submission_ids):
    """Hold `micros_each` for every submission at once if the available balance covers them all.

    One conditional UPDATE and one batched insert of ledger rows (one `reserve` row per
    submission, as if reserved one after another); False, holding nothing, if they do not fit.
    """
    total = micros_each * len(submission_ids)
    row = conn.execute(
        "UPDATE accounts SET available_micros = available_micros - ?, reserved_micros = reserved_micros + ?"
        " WHERE id = ? AND available_micros >= ? RETURNING available_micros",
        (total, total, account_id, total)).fetchone()
    if row is None:
        return False
    start, created_at = row["available_micros"] + total, now()
    conn.executemany(
        "INSERT INTO credit_ledger (id, account_id, created_at, kind, amount_micros, balance_after_micros,"
        " submission_id, note) VALUES (?, ?, ?, 'reserve', ?, ?, ?, '')",
        [(new_id(), account_id, created_at, -micros_each, start - (i + 1) * micros_each, submission_id)
         for i, submission_id in enumerate(submission_ids)])
    return True


def release(conn, account_id, micros, submission_id, kind="release", note=""):
    """Return a submission's held credits to the available balance (kind release or refund)."""
    row = conn.execute(
        "UPDATE accounts SET available_micros = available_micros + ?, reserved_micros = reserved_micros - ?"
        " WHERE id = ? RETURNING available_micros", (micros, micros, account_id)).fetchone()
    _record(conn, account_id, kind, micros, row["available_micros"], submission_id, note)


def ledger_page(conn, account_id, cursor=None, limit=20):
    return fetch_page(conn, "SELECT * FROM credit_ledger WHERE account_id = ? {cursor}", [account_id], cursor, limit)


def _record(conn, account_id, kind, micros, available_after, submission_id, note):
    conn.execute(
        "INSERT INTO credit_ledger (id, account_id, created_at, kind, amount_micros, balance_after_micros,"
        " submission_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (new_id(), account_id, now(), kind, micros, available_after, submission_id, note))


def set_password_hash(conn, account_id, password_hash):
    """Give an account a new website password (a werkzeug.security hash); False if there is no account."""
    cursor = conn.execute("UPDATE accounts SET password_hash = ? WHERE id = ?", (password_hash, account_id))
    return cursor.rowcount == 1


def list_all(conn):
    """Every account with its count of unrevoked keys, oldest first (for the operator's list-accounts)."""
    return conn.execute(
        "SELECT a.*, (SELECT count(*) FROM api_keys k WHERE k.account_id = a.id AND k.revoked_at IS NULL)"
        " AS active_keys FROM accounts a ORDER BY a.created_at, a.email").fetchall()
