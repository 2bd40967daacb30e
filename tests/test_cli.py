"""The operator commands print one JSON line each and agree with the database."""
import json
import subprocess
import sys

import pytest


def run(tmp_path, *args, check=True):
    env = {"VILVIK_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([sys.executable, "-m", "vilvik_server", *args], env=env, capture_output=True, text=True,
                          timeout=60)
    if check:
        assert done.returncode == 0, done.stderr
    return done


def test_create_account_prints_an_account_and_a_working_key(tmp_path):
    created = json.loads(run(tmp_path, "create-account", "ada@example.com", "--credits", "12.5").stdout)
    assert set(created) == {"account_id", "api_key"}
    from vilvik_server import db
    conn = db.Database(str(tmp_path / "vilvik.sqlite3")).connection()
    account = conn.execute("SELECT * FROM accounts WHERE id = ?", (created["account_id"],)).fetchone()
    assert account["available_micros"] == 12_500_000
    ledger = conn.execute("SELECT kind, amount_micros, balance_after_micros FROM credit_ledger").fetchall()
    assert [tuple(r) for r in ledger] == [("grant", 12_500_000, 12_500_000)]
    key = conn.execute("SELECT scopes FROM api_keys WHERE account_id = ?", (created["account_id"],)).fetchone()
    assert "submissions:write" in key["scopes"].split() and "keys:write" in key["scopes"].split()


def test_create_account_refuses_a_second_account_for_one_email(tmp_path):
    run(tmp_path, "create-account", "ada@example.com")
    done = run(tmp_path, "create-account", "ADA@example.com", check=False)
    assert done.returncode == 2 and "exists already" in done.stderr


@pytest.mark.parametrize("email", ["not-an-email", "a b@example.com", "@example.com", "ada@", "a@b@c"])
def test_create_account_refuses_what_is_not_an_email_address(tmp_path, email):
    done = run(tmp_path, "create-account", email, check=False)
    assert done.returncode == 2 and "not an email address" in done.stderr
    assert "not an email address" not in run(tmp_path, "create-account", "dev@localhost").stderr


def test_create_key_limits_scopes_and_refuses_unknown_ones(tmp_path):
    run(tmp_path, "create-account", "ada@example.com")
    created = json.loads(run(tmp_path, "create-key", "ada@example.com", "--scopes", "results:read",
                             "--name", "ci").stdout)
    assert set(created) == {"key_id", "api_key"}
    done = run(tmp_path, "create-key", "ada@example.com", "--scopes", "root:all", check=False)
    assert done.returncode == 2 and "root:all" in done.stderr


def test_grant_credits_adds_a_ledger_row_and_prints_the_balance(tmp_path):
    run(tmp_path, "create-account", "ada@example.com", "--credits", "1")
    granted = json.loads(run(tmp_path, "grant-credits", "ada@example.com", "2.25", "--note", "promo").stdout)
    assert granted["balance"] == 3.25


@pytest.mark.parametrize("amount", ["-1", "lots", "0"])
def test_grant_credits_refuses_a_bad_amount(tmp_path, amount):
    run(tmp_path, "create-account", "ada@example.com")
    done = run(tmp_path, "grant-credits", "ada@example.com", amount, check=False)
    assert done.returncode == 2


def test_credits_stop_at_a_ceiling_instead_of_overflowing_the_database(tmp_path):
    done = run(tmp_path, "create-account", "ada@example.com", "--credits", "1e20", check=False)
    assert done.returncode == 2 and "at most 1000000000000 credits" in done.stderr and "Traceback" not in done.stderr
    run(tmp_path, "create-account", "ada@example.com", "--credits", "600000000000")
    done = run(tmp_path, "grant-credits", "ada@example.com", "1e20", check=False)
    assert done.returncode == 2 and "at most 1000000000000 credits" in done.stderr and "Traceback" not in done.stderr
    done = run(tmp_path, "grant-credits", "ada@example.com", "600000000000", check=False)
    assert done.returncode == 2 and "holds 600000000000.0 already" in done.stderr
    granted = json.loads(run(tmp_path, "grant-credits", "ada@example.com", "400000000000").stdout)
    assert granted["balance"] == 1e12


def test_commands_name_a_missing_account(tmp_path):
    done = run(tmp_path, "grant-credits", "nobody@example.com", "5", check=False)
    assert done.returncode == 2 and "nobody@example.com" in done.stderr


def test_backup_copies_the_live_database(tmp_path):
    created = json.loads(run(tmp_path, "create-account", "ada@example.com", "--credits", "3").stdout)
    target = tmp_path / "copy.sqlite3"
    done = json.loads(run(tmp_path, "backup", str(target)).stdout)
    assert done["pages"] > 0
    import sqlite3
    copy = sqlite3.connect(target)
    assert copy.execute("SELECT available_micros FROM accounts WHERE id = ?",
                        (created["account_id"],)).fetchone()[0] == 3_000_000
    again = run(tmp_path, "backup", str(target), check=False)
    assert again.returncode == 2 and "exists already" in again.stderr
