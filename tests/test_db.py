"""Numbered migrations, WAL, and refusing a database newer than the code."""
import sqlite3
import threading
import time

import pytest

from vilvik_server import db


def migrated_database(tmp_path):
    """A Database on a new, migrated file in `tmp_path`."""
    path = str(tmp_path / "v.sqlite3")
    db.migrate(path)
    return db.Database(path)


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
    conn = migrated_database(tmp_path).connection()
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_connections_read_the_database_file_through_a_memory_map(tmp_path):
    # Each thread's connection drops its page cache whenever another one wrote; a mapped file
    # is read again without a system call per page.
    assert migrated_database(tmp_path).connection().execute("PRAGMA mmap_size").fetchone()[0] == db.MMAP_BYTES > 0


def test_a_failed_transaction_leaves_nothing_behind(tmp_path):
    database = migrated_database(tmp_path)
    with pytest.raises(sqlite3.IntegrityError):
        with database.transaction() as conn:
            conn.execute("INSERT INTO accounts (id, email, created_at) VALUES ('a', 'a@x', 'now')")
            conn.execute("INSERT INTO accounts (id, email, created_at) VALUES ('b', 'a@x', 'now')")
    assert database.connection().execute("SELECT count(*) FROM accounts").fetchone()[0] == 0


def test_release_keeps_an_idle_connection_and_closes_one_left_in_a_transaction(tmp_path):
    database = migrated_database(tmp_path)
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


def test_every_write_goes_through_one_connection_and_reads_inside_it_see_it(tmp_path):
    database = migrated_database(tmp_path)
    reader = database.connection()
    reader.execute("CREATE TABLE t (x INTEGER)")
    writers = []

    def write(value):
        with database.transaction() as conn:
            writers.append(conn)
            conn.execute("INSERT INTO t VALUES (?)", (value,))
            # Inside the transaction this thread's connection is the writer: it sees the row.
            assert database.connection() is conn
            assert database.connection().execute("SELECT count(*) FROM t WHERE x = ?", (value,)).fetchone()[0] == 1
            with database.transaction() as nested:  # a nested transaction joins the outer one
                assert nested is conn

    threads = [threading.Thread(target=write, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    write(99)
    assert len(writers) == 5 and all(conn is writers[0] for conn in writers)
    assert writers[0] is not reader and database.connection() is reader  # reads outside use the thread's own
    assert reader.execute("SELECT count(*) FROM t").fetchone()[0] == 5


def test_writers_of_many_threads_take_turns_and_lose_no_update(tmp_path):
    database = migrated_database(tmp_path)
    database.connection().execute("CREATE TABLE counter (n INTEGER)")
    database.connection().execute("INSERT INTO counter VALUES (0)")

    def add_one_fifty_times():
        for _ in range(50):
            with database.transaction() as conn:  # read, then write what was read plus one
                n = conn.execute("SELECT n FROM counter").fetchone()[0]
                conn.execute("UPDATE counter SET n = ?", (n + 1,))

    threads = [threading.Thread(target=add_one_fifty_times) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert database.connection().execute("SELECT n FROM counter").fetchone()[0] == 400


def test_a_writer_waits_as_long_as_the_busy_timeout_then_fails_as_sqlite_would(tmp_path, monkeypatch):
    monkeypatch.setattr(db, "BUSY_TIMEOUT_MS", 200)
    database = migrated_database(tmp_path)
    holding, done = threading.Event(), threading.Event()

    def hold_the_write_lock():
        with database.transaction():
            holding.set()
            done.wait(5)

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    holding.wait(5)
    started = time.monotonic()
    with pytest.raises(sqlite3.OperationalError, match="database is locked"):
        with database.transaction():
            pass
    assert 0.15 < time.monotonic() - started < 3
    done.set()
    holder.join()
    with database.transaction() as conn:  # free again once the holder committed
        conn.execute("INSERT INTO accounts (id, email, created_at) VALUES ('a', 'a@x', 'now')")


def test_a_commit_that_fails_leaves_the_writer_clean_for_the_next_transaction(tmp_path):
    database = migrated_database(tmp_path)
    database.connection().execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    database.connection().execute(
        "CREATE TABLE child (parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(sqlite3.IntegrityError):
        with database.transaction() as conn:  # a deferred foreign key fails only at COMMIT
            conn.execute("INSERT INTO child VALUES (7)")
    with database.transaction() as conn:
        assert not conn.execute("SELECT count(*) FROM child").fetchone()[0]
        conn.execute("INSERT INTO parent VALUES (7)")
        conn.execute("INSERT INTO child VALUES (7)")
    assert database.connection().execute("SELECT count(*) FROM child").fetchone()[0] == 1


def test_a_stored_submission_is_returned_as_the_row_holds_it(tmp_path):
    from vilvik_server.store import accounts
    from vilvik_server.store import submissions

    database = migrated_database(tmp_path)
    with database.transaction() as conn:
        account_id = accounts.create(conn, "a@x")
        returned = submissions.insert(
            conn, account_id, name="n", type="custom", params={"num_generations": 3}, fitness_func="def f(a, b, c): 1",
            fitness_func_entry="f", metadata={"k": "v"}, limits={"cpu_seconds": 5}, problem_params={"n": 1},
            webhook_events=["*"], reserved_micros=7)
    stored = database.connection().execute("SELECT * FROM submissions WHERE id = ?", (returned["id"],)).fetchone()
    assert returned == {column: stored[column] for column in returned}
    assert set(returned) >= {"id", "account_id", "status", "params", "parent_id", "created_at", "reserved_micros"}
    assert returned["status"] == "queued" and returned["params"] == '{"num_generations": 3}'
