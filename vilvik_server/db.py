"""SQLite connections, transactions and numbered migrations.

One connection per thread for reads (kept in a thread-local) and one for every write of
the process (taken in turn under a lock), the file read through a memory map, WAL so
readers never wait for the writer, a busy timeout so writers queue instead of failing, and
every write in a short `BEGIN IMMEDIATE` transaction. Migrations are `migrations/NNNN_*.sql`,
applied in order and recorded in `PRAGMA user_version`.
"""
import contextlib
import os
import re
import sqlite3
import threading
from importlib import resources

BUSY_TIMEOUT_MS = 10_000
# Read the database file through a memory map: a connection drops its page cache whenever
# another connection (another request thread) has written, so without one every request
# after a write reads its pages again with a system call each (about 200 for an accept).
MMAP_BYTES = 256 * 1024 * 1024


class DatabaseTooNew(Exception):
    """The database was migrated by a newer version of the server."""


class Database:
    def __init__(self, path):
        self.path = path
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._writer = None

    def _open(self):
        conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                               timeout=BUSY_TIMEOUT_MS / 1000)
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute(f"PRAGMA mmap_size = {MMAP_BYTES}")
        return conn

    def connection(self):
        """This thread's connection, opened on first use (the writer's while this thread writes)."""
        local = self._local
        writing = local.__dict__.get("writing")
        if writing is not None:  # inside this thread's transaction: read what it wrote
            return writing
        conn = local.__dict__.get("conn")
        if conn is None:
            conn = local.conn = self._open()
        return conn

    @contextlib.contextmanager
    def transaction(self):
        """A write transaction that takes the write lock at once (BEGIN IMMEDIATE), on the writer.

        Every write of this process goes through one connection, taken in turn under a lock:
        its page cache stays valid from one write to the next (a connection drops it whenever
        another one has written), and a thread waiting to write sleeps on the lock until it is
        free rather than in SQLite's busy handler, which polls in sleeps of up to 100 ms. The
        lock waits as long as the busy timeout and then fails as SQLite would. Other processes
        (the command line, a worker) still queue on SQLite's own lock.
        """
        local = self._local
        if local.__dict__.get("writing") is not None:  # nested: join the outer transaction
            yield local.writing
            return
        if not self._write_lock.acquire(timeout=BUSY_TIMEOUT_MS / 1000):
            raise sqlite3.OperationalError("database is locked")
        try:
            conn = self._writer
            if conn is None:
                conn = self._writer = self._open()
            conn.execute("BEGIN IMMEDIATE")
            local.writing = conn
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                local.writing = None
            conn.execute("COMMIT")
        finally:
            if self._writer is not None and self._writer.in_transaction:
                # A failed COMMIT or ROLLBACK: closing rolls back, so the next writer starts clean.
                self._writer.close()
                self._writer = None
            self._write_lock.release()

    def release(self):
        """The end of one piece of work on a long-lived thread: keep this thread's connection for
        the next (opening one costs a connect, its pragmas and a schema parse), unless it was left
        inside a transaction; then close it, which rolls that back."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and conn.in_transaction:
            self.close()

    def close(self):
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None


def migrations():
    """The numbered migrations shipped with this version: [(number, name, sql)]."""
    found = []
    for entry in resources.files("vilvik_server.migrations").iterdir():
        match = re.fullmatch(r"(\d{4})_\w+\.sql", entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text()))
    found.sort()
    numbers = [number for number, _, _ in found]
    if numbers != list(range(1, len(numbers) + 1)):
        raise RuntimeError(f"migrations are not numbered 1..n: {numbers}")
    return found


def schema_version(conn):
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(path):
    """Create or upgrade the database at `path`; returns the version it is now at."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("BEGIN IMMEDIATE")
        try:
            current = schema_version(conn)
            known = migrations()
            if current > len(known):
                raise DatabaseTooNew(
                    f"database {path} is at schema version {current}, this server knows {len(known)}: "
                    "upgrade the server")
            for number, _name, sql in known[current:]:
                for statement in _statements(sql):
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {number}")
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        return schema_version(conn)
    finally:
        conn.close()


def backup(path, target):
    """Copy the database at `path` to `target` while it is in use; returns the pages copied."""
    source = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000)
    destination = sqlite3.connect(target)
    try:
        source.backup(destination, pages=1024)  # in steps, so writers are not held up for long
        return destination.execute("PRAGMA page_count").fetchone()[0]
    finally:
        destination.close()
        source.close()


def _statements(sql):
    # executescript() would commit our transaction; split on statement ends instead.
    buffer = ""
    for line in sql.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer
            buffer = ""
    if buffer.strip():
        yield buffer
