"""One worker process: its zygote, its sandbox slot, its heartbeat and its cancel watch.

Each Celery pool process starts its own zygote (probed and fail-closed as the server's),
holds one sandbox slot (a jail uid) chosen with an flock so two workers on one machine
never share one, and runs a thread that every HEARTBEAT_SECONDS writes a heartbeat (its
sandbox, the run it has, which renews that run's lease) and five times a second looks
for a cancel request for that run.
"""
import fcntl
import json
import logging
import os
import tempfile
import threading
import time

from vilvik_sandbox.privileges import MAX_SLOTS, UID_BASE

from ..engine import broker
from ..engine.zygote import Zygote

log = logging.getLogger("vilvik.worker")
CANCEL_POLL = 0.2


class WorkerProcess:
    def __init__(self, settings, node):
        self.settings = settings
        self.node = node
        self.name = f"{node}/{os.getpid()}"
        self.redis = broker.connect(settings["BROKER_URL"])
        self.zygote = Zygote()
        self.slot = None
        self.current = None  # (submission id, attempt, job.Stop) while a run is on
        self._slot_lock = None
        self._stopping = threading.Event()
        self._thread = None
        self._last_warning = -60.0

    def start(self):
        """Claim a slot, start the zygote (from this process's main thread) and the heartbeat."""
        self.slot = self._claim_slot()
        self.zygote.start()
        self._thread = threading.Thread(target=self._loop, name="vilvik-heartbeat", daemon=True)
        self._thread.start()

    @property
    def sandbox(self):
        return self.zygote.ready["sandbox"] if self.zygote.ready else {"mode": "stopped"}

    @property
    def sandbox_usable(self):
        if getattr(self, "slot_tainted", False):  # a job's end was never heard: its uid may still run
            return False
        return self.sandbox.get("mode") == "full" or self.settings["SANDBOX_ALLOW_DEGRADED"]

    def stop(self):
        self._stopping.set()
        try:
            self.redis.hdel(broker.WORKERS, self.name)
        except Exception:  # noqa: B902 - the broker may be gone; the heartbeat then just ages out
            pass
        self.zygote.close()

    def heartbeat(self):
        running = [self.current[0], self.current[1]] if self.current else None
        sandbox = self.sandbox
        self.redis.hset(broker.WORKERS, self.name, json.dumps({
            "node": self.node, "pid": os.getpid(), "seen": time.time(), "running": running,
            "accepting": self.sandbox_usable, "sandbox": {"mode": sandbox.get("mode"),
                                                          "missing": sandbox.get("missing", [])}}))

    def _loop(self):
        next_beat = 0.0
        while not self._stopping.wait(CANCEL_POLL):
            try:
                current = self.current
                if current and current[2].reason is None:
                    asked = self.redis.get(broker.cancel_key(current[0]))
                    if asked is not None and int(asked) == current[1]:
                        current[2].reason = "cancel"
                if time.monotonic() >= next_beat:
                    next_beat = time.monotonic() + broker.HEARTBEAT_SECONDS
                    self.heartbeat()
            except Exception as exc:  # noqa: B902 - the broker restarting must not stop the heartbeat
                if time.monotonic() - self._last_warning > 30:
                    self._last_warning = time.monotonic()
                    log.warning("worker %s: cannot reach the broker: %s", self.name, exc)
                time.sleep(1.0)

    def _claim_slot(self):
        first = self.settings["SANDBOX_UID_BASE"] - UID_BASE
        for slot in range(first, MAX_SLOTS):
            handle = open(os.path.join(tempfile.gettempdir(), f"vilvik-slot-{UID_BASE + slot}.lock"), "a")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self._slot_lock = handle  # held (and the slot ours) while this process lives
            return slot
        raise RuntimeError("no free sandbox slot on this machine")
