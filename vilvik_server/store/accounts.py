"""Accounts and their credit balance, with the append-only ledger beside it."""
from ..ids import new_id, now


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
    """Move the balance by `micros` and record it in the ledger; returns the new balance.

    Must run inside a write transaction; the CHECK on balance_micros refuses to go
    below zero, which aborts the caller's transaction.
    """
    row = conn.execute(
        "UPDATE accounts SET balance_micros = balance_micros + ? WHERE id = ? RETURNING balance_micros",
        (micros, account_id)).fetchone()
    conn.execute(
        "INSERT INTO credit_ledger (id, account_id, created_at, kind, amount_micros, balance_after_micros,"
        " submission_id, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        ("led_" + new_id(), account_id, now(), kind, micros, row["balance_micros"], submission_id, note))
    return row["balance_micros"]
