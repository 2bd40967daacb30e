"""Durable run ownership: owner names, leases, recovery of lost runs, and the instance lock.

Every `running` row names its owner and holds a lease (`lease_until`) that the owner
renews; a run is re-queued only when its lease has expired, so no process ever takes
over a live run of another. Owners of one instance folder share a prefix: a server that
holds the instance lock knows every earlier owner with that prefix is dead, and
recovers their runs at once instead of waiting for the lease to run out.
"""
import fcntl
import logging
import os
import secrets
import socket
import threading
import time
from datetime import datetime, timedelta, timezone

from .. import billing
from ..experiments import tracking as experiment_tracking
from ..store import submissions as submission_store
from ..webhooks import events as webhook_events

log = logging.getLogger("vilvik.leases")
LOCK_FILE = "server.lock"


class InstanceLocked(Exception):
    """Another live server holds this instance folder."""


def lease_until(seconds):
    """The stored time stamp `seconds` from now."""
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def instance_prefix(instance_path):
    """The owner prefix of every server process of this instance folder (stable across restarts)."""
    path = os.path.join(instance_path, "instance-id")
    if not os.path.exists(path):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(f"{socket.gethostname()[:40]}:{secrets.token_hex(4)}")
    with open(path) as handle:
        return "local:" + handle.read().strip()


def process_owner(prefix):
    """This process's owner name: the instance prefix, the pid and a nonce."""
    return f"{prefix}/{os.getpid()}/{secrets.token_hex(3)}"


def like_exact(text):
    """A LIKE pattern (ESCAPE '\\') matching `text` only."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def like_prefix(prefix):
    """A LIKE pattern matching every owner that starts with `prefix/`."""
    return like_exact(prefix) + "/%"


def acquire_instance_lock(instance_path):
    """Hold the instance's lock for this process's lifetime; InstanceLocked if a live server has it."""
    path = os.path.join(instance_path, LOCK_FILE)
    handle = open(path, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        handle.close()
        raise InstanceLocked(f"another server (pid {holder}) is running on the instance {instance_path}; "
                             "stop it first, or give this one its own VILVIK_INSTANCE_PATH") from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def recover(db, settings, *, dead_owner_like=None):
    """Re-queue, fail or cancel the runs whose owner is gone, with their money and webhook events."""
    with db.transaction() as conn:
        requeued, failed, cancelled = submission_store.recover_orphans(conn, dead_owner_like=dead_owner_like)
        for submission_id in failed:
            billing.settle(conn, submission_store.get_any(conn, submission_id), cpu_seconds=None,
                           error_code="worker_lost", settings=settings)
            webhook_events.record_submission_event(conn, settings, submission_id)
            experiment_tracking.run_ended(conn, settings, submission_id)
        for submission_id in cancelled:
            billing.settle(conn, submission_store.get_any(conn, submission_id), cpu_seconds=None, settings=settings)
            webhook_events.record_submission_event(conn, settings, submission_id)
            experiment_tracking.run_ended(conn, settings, submission_id)
    for submission_id in requeued:
        log.warning("re-queued submission %s: the process running it is gone", submission_id)
    for submission_id in failed:
        log.error("failed submission %s with worker_lost: lost twice", submission_id)
    for submission_id in cancelled:
        log.warning("cancelled submission %s: its cancel was asked for and the process running it is gone",
                    submission_id)
    return requeued, failed, cancelled


class LeaseKeeper:
    """For one owner: renew its leases, pass on cancel requests for its runs, recover expired runs.

    A thread wakes every CANCEL_POLL seconds to look for cancel requests (so a cancel asked
    on any server process reaches the run within about a second), renews the owner's leases
    every third of LEASE_SECONDS and recovers runs whose lease expired as often.
    """
    CANCEL_POLL = 0.25

    def __init__(self, db, settings, owner, on_cancel):
        self.db = db
        self.settings = settings
        self.owner = owner
        self.on_cancel = on_cancel
        self._stopping = threading.Event()
        self._thread = None

    def start(self):
        self._thread = threading.Thread(target=self._loop, name="vilvik-leases", daemon=True)
        self._thread.start()

    def stop(self):
        self._stopping.set()
        if self._thread:
            self._thread.join()

    def _loop(self):
        period = self.settings["LEASE_SECONDS"] / 3
        next_renewal = time.monotonic() + period
        try:
            while not self._stopping.wait(self.CANCEL_POLL):
                try:
                    for row in submission_store.cancel_requests(self.db.connection(), like_exact(self.owner)):
                        self.on_cancel(row["id"])
                    if time.monotonic() >= next_renewal:
                        next_renewal = time.monotonic() + period
                        with self.db.transaction() as conn:
                            submission_store.renew_leases(conn, self.owner, lease_until(self.settings["LEASE_SECONDS"]))
                        recover(self.db, self.settings)
                except Exception:  # noqa: B902 - a locked or failing database must not stop the leases
                    log.exception("could not renew leases")
        finally:
            self.db.close()
