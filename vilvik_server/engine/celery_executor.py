"""The control plane of EXECUTOR=celery: dispatch queued runs to Celery workers, store what they report.

It claims queued rows with the same conditional UPDATE as the local executor (owned by
`celery/queued/<this process>` under a lease), but only while a live worker process is
free, and sends each as a Celery task with a self-contained JSON payload. Three threads:

- the dispatcher (claim, send);
- the report reader: the `vilvik:reports` stream in a consumer group. A worker's start
  makes it the run's owner (`celery/<worker>`); progress is written as the local
  executor writes it; an outcome is checked (wire.py) and stored with the same single
  transaction (result, status, charge, webhook event). An entry is acknowledged only
  after that transaction commits, and storing is conditional on the run's attempt, so
  an entry read twice (after a crash) is stored once;
- housekeeping: reads the workers' heartbeats (which renew their runs' leases), passes
  cancel requests on to the workers, and recovers runs whose lease expired.

This process alone writes the database; workers never see it.
"""
import json
import logging
import threading
import time

from ..clock import rfc3339
from ..store import submissions as submission_store
from ..webhooks import events as webhook_events
from . import broker, job, leases, report, wire
from .executor import Executor

log = logging.getLogger("vilvik.control_plane")
OWNERS = "celery/%"  # every run this mode dispatched, started or not
HOUSEKEEPING_SECONDS = 0.25


class CeleryExecutor(Executor):
    def __init__(self, db, settings, owner_prefix=None):
        super().__init__(db, settings, owner_prefix)
        self.dispatch_owner = f"celery/queued/{self.owner}"
        self.redis = None
        self.celery = None
        self._heartbeats = {}  # worker process name -> its last heartbeat
        self._cancels_sent = set()
        self._seen_versions = {}
        self._threads = []

    # -- life cycle -------------------------------------------------------------------------

    def start(self, dispatch=True):
        """Connect to the broker, give the workers' runs a fresh lease (we saw no heartbeat while we
        were away), recover runs whose lease expired, and start the threads."""
        from celery import Celery

        self.redis = broker.connect(self.settings["BROKER_URL"])
        self.celery = Celery("vilvik", set_as_current=False)
        self.celery.conf.update(broker.celery_config(self.settings))
        self._ensure_group()
        with self.db.transaction() as conn:
            submission_store.extend_leases(conn, OWNERS, leases.lease_until(self.settings["LEASE_SECONDS"]))
        leases.recover(self.db, self.settings, dead_owner_like=leases.like_prefix(self.owner_prefix))
        log.info("control plane: jobs go to Celery workers through the broker")
        targets = [("reports", self._report_loop), ("housekeeping", self._housekeeping_loop)]
        if dispatch:
            targets.append(("dispatcher", self._dispatch_loop))
        for name, target in targets:
            thread = threading.Thread(target=self._guarded, args=(target,), name=f"vilvik-{name}", daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self, grace=None):
        """Stop dispatching and reading; runs on workers go on, and a later start stores their outcomes."""
        self._stopping.set()
        self._wake.set()
        for thread in self._threads:
            thread.join()

    @property
    def sandbox(self):
        """The sandboxes the live workers reported: full only when every one of them is."""
        live = self._live()
        if not live:
            return {"mode": "no-workers", "layers": {}, "missing": []}
        modes = {beat["sandbox"]["mode"] for beat in live.values()}
        missing = sorted({m for beat in live.values() for m in beat["sandbox"]["missing"]})
        return {"mode": modes.pop() if len(modes) == 1 else "mixed", "layers": {}, "missing": missing}

    @property
    def sandbox_usable(self):
        return True  # a worker without the whole sandbox takes no tasks; runs wait queued for one that has it

    def describe(self):
        seen = {name: beat for name, beat in self._heartbeats.items()
                if time.time() - beat["seen"] <= broker.SEEN_SECONDS}
        nodes = {}
        for beat in seen.values():
            node = nodes.setdefault(beat["node"], {"name": beat["node"], "processes": 0, "sandbox": set(),
                                                   "accepting": False, "last_seen": 0})
            node["processes"] += 1
            node["sandbox"].add(beat["sandbox"]["mode"])
            node["accepting"] = node["accepting"] or beat["accepting"]
            node["last_seen"] = max(node["last_seen"], beat["seen"])
        listed = [dict(node, sandbox=",".join(sorted(node["sandbox"])),
                       last_seen=rfc3339(time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(node["last_seen"]))))
                  for node in sorted(nodes.values(), key=lambda n: n["name"])]
        return {"mode": "celery", "workers": len(nodes), "nodes": listed}

    def cancel(self, submission_id):
        """Tell the worker running it to stop now (the durable request in the row stands anyway)."""
        row = submission_store.get_any(self.db.connection(), submission_id)
        if row is None or row["status"] != "running" or not (row["owner"] or "").startswith("celery/"):
            return False
        self._send_cancel(submission_id, row["attempts"])
        return True

    # -- dispatching ------------------------------------------------------------------------

    def _dispatch_loop(self):
        while not self._stopping.is_set():
            self._wake.clear()  # before looking, so a wake while we look is not lost
            row = self._claim() if self._free_processes() > 0 else None
            if row is None:
                self._wake.wait(HOUSEKEEPING_SECONDS * 2)
                continue
            try:
                self._dispatch(row)
            except Exception:  # noqa: B902 - the broker away: the row goes back to the queue
                log.exception("submission %s: could not send it to the workers; re-queued", row["id"])
                with self.db.transaction() as conn:
                    submission_store.requeue(conn, row["id"], attempt=row["attempts"])
                self._stopping.wait(1.0)

    def _free_processes(self):
        live = sum(1 for beat in self._live().values() if beat["accepting"])
        if not live:
            return 0
        return live - len(submission_store.running_owned(self.db.connection(), OWNERS))

    def _claim(self):
        with self.db.transaction() as conn:
            row = submission_store.claim_next(conn, self.settings["MAX_ACTIVE"], self.dispatch_owner,
                                              leases.lease_until(self.settings["LEASE_SECONDS"]))
            if row is not None:
                webhook_events.record_submission_event(conn, self.settings, row["id"])
            return row

    def _dispatch(self, row):
        spec = {"params": json.loads(row["params"]), "fitness_func": row["fitness_func"],
                "entry": row["fitness_func_entry"]}
        if row["parent_id"]:
            spec["resume"] = self._resume_point(row["parent_id"])
            if spec["resume"] is None:
                self._store(row, job.Outcome("failed", {
                    "code": "internal_error", "message": "the parent's saved state is gone"}))
                return
        payload = {"id": row["id"], "attempt": row["attempts"], "spec": spec, "limits": json.loads(row["limits"])}
        self.redis.set(broker.attempt_key(row["id"]), row["attempts"], ex=broker.KEY_TTL)
        self.celery.send_task(broker.TASK, args=[payload], queue=broker.QUEUE, serializer="json")
        log.info("submission %s: sent to the workers (attempt %d)", row["id"], row["attempts"])

    # -- reports ----------------------------------------------------------------------------

    def _ensure_group(self):
        import redis

        try:
            self.redis.xgroup_create(broker.REPORTS, broker.GROUP, id="0", mkstream=True)
        except redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    def _report_loop(self):
        next_claim = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() >= next_claim:
                    # Entries a control plane read and never acknowledged (it died): ours now.
                    next_claim = time.monotonic() + 5.0
                    claimed = self.redis.xautoclaim(broker.REPORTS, broker.GROUP, self.owner, min_idle_time=3000,
                                                    start_id="0-0", count=500)
                    for entry_id, fields in claimed[1]:
                        self._handle(entry_id, fields)
                answer = self.redis.xreadgroup(broker.GROUP, self.owner, {broker.REPORTS: ">"}, count=200, block=200)
                for _stream, entries in answer or []:
                    for entry_id, fields in entries:
                        self._handle(entry_id, fields)
            except Exception as exc:  # noqa: B902 - the broker restarting must not stop the reader
                if self._stopping.is_set():
                    return
                log.warning("cannot read the workers' reports: %s", exc)
                self._stopping.wait(1.0)
                try:
                    self._ensure_group()
                except Exception:  # noqa: B902
                    pass

    def _handle(self, entry_id, fields):
        if fields:  # an entry deleted meanwhile comes back empty
            self._store_report((fields or {}).get(b"m"))
        self.redis.xack(broker.REPORTS, broker.GROUP, entry_id)
        self.redis.xdel(broker.REPORTS, entry_id)

    def _store_report(self, raw):
        try:
            message = wire.parse(raw)
        except wire.BadMessage as exc:
            log.error("dropped an invalid report from the broker: %s", exc)
            return
        submission_id, attempt = message["id"], message["attempt"]
        row = submission_store.get_any(self.db.connection(), submission_id)
        if row is None or row["status"] != "running" or row["attempts"] != attempt:
            return  # a report of an attempt that has ended or been replaced
        kind = message["type"]
        if kind == "started":
            with self.db.transaction() as conn:
                submission_store.take_over(conn, submission_id, attempt, f"celery/{message['worker']}",
                                           leases.lease_until(self.settings["LEASE_SECONDS"]))
        elif kind == "progress":
            try:
                generations, best, mean = report.check_progress(message, json.loads(row["params"]))
            except report.MalformedReport as exc:
                log.error("submission %s: dropped invalid progress from %s: %s", submission_id,
                          message["worker"], exc)
                return
            with self.db.transaction() as conn:
                submission_store.record_progress(conn, submission_id, generations, best, mean)
        elif kind == "outcome":
            try:
                outcome = wire.check_outcome(message, json.loads(row["params"]), json.loads(row["limits"]))
                self._seen_versions[submission_id] = wire.check_versions(message.get("versions"))
            except wire.BadMessage as exc:
                log.error("submission %s: the outcome from %s is invalid: %s", submission_id, message["worker"], exc)
                outcome = job.Outcome("failed", {"code": "internal_error", "message": "the worker's report was invalid"})
            self._store(row, outcome)
            self._seen_versions.pop(submission_id, None)
            self._cancels_sent.discard(submission_id)
            self._wake.set()

    def _versions(self, submission_id):
        return self._seen_versions.get(submission_id)

    # -- housekeeping -----------------------------------------------------------------------

    def _housekeeping_loop(self):
        next_beats = next_recovery = 0.0
        while not self._stopping.wait(HOUSEKEEPING_SECONDS):
            try:
                if time.monotonic() >= next_beats:
                    next_beats = time.monotonic() + broker.HEARTBEAT_SECONDS / 2
                    self._read_heartbeats()
                for row in submission_store.cancel_requests(self.db.connection(), OWNERS):
                    if row["id"] not in self._cancels_sent:
                        self._send_cancel(row["id"], row["attempts"])
                if time.monotonic() >= next_recovery:
                    next_recovery = time.monotonic() + self.settings["LEASE_SECONDS"] / 3
                    if any(leases.recover(self.db, self.settings)):
                        self._wake.set()
            except Exception as exc:  # noqa: B902 - a broker or database hiccup must not stop housekeeping
                log.warning("control plane housekeeping: %s", exc)
                self._stopping.wait(1.0)

    def _read_heartbeats(self):
        beats = {}
        for name, raw in self.redis.hgetall(broker.WORKERS).items():
            beat = _heartbeat(raw)
            if beat is None:
                continue
            if time.time() - beat["seen"] > 24 * 3600:
                self.redis.hdel(broker.WORKERS, name)  # a worker gone for a day is forgotten
                continue
            beats[name.decode(errors="replace")[:200]] = beat
        before = len(self._live())
        self._heartbeats = beats
        running = [(name, beat["running"]) for name, beat in self._live().items() if beat["running"]]
        if running:
            until = leases.lease_until(self.settings["LEASE_SECONDS"])
            with self.db.transaction() as conn:
                for name, (submission_id, attempt) in running:
                    submission_store.renew_lease(conn, submission_id, attempt, f"celery/{name}", until)
        if len(self._live()) != before:
            self._wake.set()

    def _live(self):
        now = time.time()
        return {name: beat for name, beat in self._heartbeats.items() if now - beat["seen"] <= broker.LIVE_SECONDS}

    def _send_cancel(self, submission_id, attempt):
        self.redis.set(broker.cancel_key(submission_id), attempt, ex=broker.KEY_TTL)
        self._cancels_sent.add(submission_id)

    def _guarded(self, target):
        try:
            target()
        finally:
            self.db.close()


def _heartbeat(raw):
    """A worker's heartbeat, checked (anyone who can write to the broker can write one), or None."""
    try:
        beat = json.loads(raw)
        running = beat.get("running")
        if running is not None and not (isinstance(running, list) and len(running) == 2
                                        and isinstance(running[0], str) and isinstance(running[1], int)):
            return None
        sandbox = beat["sandbox"]
        return {"node": str(beat["node"])[:200], "seen": float(beat["seen"]), "running": running,
                "accepting": beat.get("accepting") is True,
                "sandbox": {"mode": str(sandbox.get("mode"))[:20],
                            "missing": [str(m)[:40] for m in sandbox.get("missing", [])][:16]}}
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
