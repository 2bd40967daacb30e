"""What the control plane and the Celery workers share through the broker (Redis).

Jobs go to workers as Celery tasks (JSON only, never pickle) on the QUEUE queue. Everything
else is plain Redis, named here so both sides agree:

- `vilvik:reports`, a stream: what workers report (started, progress, outcome). The control
  plane reads it in a consumer group and acknowledges an entry only after the database
  transaction that stores it has committed, so a control plane killed mid-way reads it
  again on restart; storing is idempotent (conditional UPDATEs on the run's attempt).
- `vilvik:workers`, a hash: one heartbeat per worker process (its sandbox, the run it has).
- `vilvik:attempt:<id>`: the attempt the control plane last dispatched; a redelivered task of
  an older attempt is dropped. `vilvik:cancel:<id>`: a cancel request for that attempt.
- `vilvik:deliveries:<id>:<attempt>`: how often an attempt was delivered to a worker.

Needs only the `redis` package (installed with the `celery` extra).
"""
import json

QUEUE = "vilvik"
TASK = "vilvik.run"
REPORTS = "vilvik:reports"
GROUP = "control-plane"
WORKERS = "vilvik:workers"
HEARTBEAT_SECONDS = 2.0
SEEN_SECONDS = 30  # a worker seen within this long counts as one of the workers
LIVE_SECONDS = 3 * HEARTBEAT_SECONDS  # a worker process heard from within this long can take a task
MAX_DELIVERIES = 2  # an attempt delivered a third time (its worker was lost twice) fails with worker_lost
KEY_TTL = 7 * 24 * 3600


def attempt_key(submission_id):
    return f"vilvik:attempt:{submission_id}"


def cancel_key(submission_id):
    return f"vilvik:cancel:{submission_id}"


def deliveries_key(submission_id, attempt):
    return f"vilvik:deliveries:{submission_id}:{attempt}"


def connect(url):
    """A Redis client for the broker URL (redis:// or rediss:// for TLS)."""
    import redis

    return redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5, health_check_interval=15)


def celery_config(settings):
    """The Celery settings both sides use: JSON only, late acks, one task per worker process at a time."""
    return {
        "broker_url": settings["BROKER_URL"],
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "result_backend": None,
        "task_ignore_result": True,
        # A task is acknowledged when it ends, and given back when its worker process dies,
        # so a lost worker's run is delivered again (MAX_DELIVERIES bounds how often).
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "task_default_queue": QUEUE,
        "task_create_missing_queues": True,
        # A task taken by a worker that vanished whole is given to another after this long;
        # it must outlast the longest run, or a live run would be delivered twice.
        "broker_transport_options": {"visibility_timeout": visibility_timeout(settings)},
        "broker_connection_retry_on_startup": True,
        "worker_send_task_events": False,
        "worker_hijack_root_logger": False,
        "worker_cancel_long_running_tasks_on_connection_loss": False,
    }


def visibility_timeout(settings):
    return int(settings["MAX_WALL_SECONDS"] + 2 * settings["LEASE_SECONDS"] + 60)


def pack(message):
    """A report as a stream entry."""
    return {"m": json.dumps(message, separators=(",", ":"), allow_nan=False)}
