"""Numbered migrations, WAL, and refusing a database newer than the code."""
import sqlite3

import pytest

from vilvik_server import db


def test_it_migrates_a_new_database_to_the_latest_version(tmp_path):
    path = str(tmp_path / "v.sqlite3")
    assert db.migrate(path) == len(db.migrations())
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"accounts", "api_keys", "credit_ledger", "submissions", "results"} <= tables


def test_migrating_twice_changes_nothing(tmp_path):
    path = str(tmp_path / "v.sqlite3")
    db.migrate(path)
    assert db.migrate(path) == len(db.migrations())


def test_it_refuses_a_database_newer_than_the_code(tmp_path):
    path = str(tmp_path / "v.sqlite3")
    db.migrate(path)
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {len(db.migrations()) + 1}")
    conn.close()
    with pytest.raises(db.DatabaseTooNew):
        db.migrate(path)


def test_connections_enforce_foreign_keys_and_wait_when_busy(tmp_path):
    path = str(tmp_path / "v.sqlite3")
    db.migrate(path)
    conn = db.Database(path).connection()
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_connections_read_the_database_file_through_a_memory_map(tmp_path):
    # Each thread's connection drops its page cache whenever another one wrote; a mapped file
    # is read again without a system call per page.
    path = str(tmp_path / "v.sqlite3")
    db.migrate(path)
    assert db.Database(path).connection().execute("PRAGMA mmap_size").fetchone()[0] == db.MMAP_BYTES > 0


def test_a_failed_transaction_leaves_nothing_behind(tmp_path):
    path = str(tmp_path / "v.sqlite3")
    db.migrate(path)
    database = db.Database(path)
    with pytest.raises(sqlite3.IntegrityError):
        with database.transaction() as conn:
            conn.execute("INSERT INTO accounts (id, email, created_at) VALUES ('a', 'a@x', 'now')")
            conn.execute("INSERT INTO accounts (id, email, created_at) VALUES ('b', 'a@x', 'now')")
    assert database.connection().execute("SELECT count(*) FROM accounts").fetchone()[0] == 0


def test_release_keeps_an_idle_connection_and_closes_one_left_in_a_transaction(tmp_path):
    path = str(tmp_path / "v.sqlite3")
    db.migrate(path)
    database = db.Database(path)
    conn = database.connection()
    conn.execute("CREATE TABLE t (x INTEGER)")
    database.release()
    assert database.connection() is conn  # kept for the thread's next piece of work

    conn.execute("BEGIN IMMEDIATE")
    conn.execute("INSERT INTO t VALUES (1)")
    database.release()  # left inside a transaction: closed, so the next work cannot join it
    fresh = database.connection()
    assert fresh is not conn and not fresh.in_transaction
    assert fresh.execute("SELECT count(*) FROM t").fetchone()[0] == 0
    with database.transaction() as writing:  # and the write lock was given back
        writing.execute("INSERT INTO t VALUES (2)")
    assert [tuple(row) for row in fresh.execute("SELECT x FROM t")] == [(2,)]
