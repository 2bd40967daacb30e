"""The Vilvik server: a REST API that runs PyGAD jobs in a sandbox.

create_app() wires the parts in order: settings -> database -> request handling and
the API -> error shape -> executor. Nothing runs at import time.
"""
import logging
import os
import time
from dataclasses import dataclass

__version__ = "0.1.0"


@dataclass
class Services:
    """What views and commands reach through `current_app.extensions["vilvik"]`."""
    settings: dict
    db: object
    executor: object
    limiter: object = None
    deliveries: object = None  # the webhook delivery loop (webhooks/delivery.py)
    instance_lock: object = None  # held by a server that runs work (engine/leases.py)
    waits: object = None  # Prefer: wait requests held open (capacity.Fence)
    streams: object = None  # open progress event streams (capacity.Fence)
    keys: object = None  # API keys looked up in the last second (key_cache.KeyCache)


def create_app(test_config=None, *, start_executor=False):
    """Build the Flask app; `start_executor` also starts the zygote and the dispatcher."""
    from flask import Flask

    from . import api, capacity, config, db, errors, http, key_cache, metrics, public_url, ratelimit, web
    from .api import plain_accept, status_read
    from .engine import leases
    from .engine.executor import Executor
    from .webhooks.delivery import Deliverer

    instance_path = os.path.abspath(os.environ.get("VILVIK_INSTANCE_PATH") or "instance")
    app = Flask(__name__, instance_path=instance_path, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    settings = config.load_settings(app.instance_path, overrides=test_config)
    # A server that runs work holds its instance: a second one stops here, before touching a row.
    lock = leases.acquire_instance_lock(app.instance_path) if start_executor else None
    _configure_logging(settings["LOG_LEVEL"])
    public_url.settle_default(app, settings)
    app.config.update(SECRET_KEY=settings["SECRET_KEY"], MAX_CONTENT_LENGTH=settings["MAX_BODY_BYTES"],
                      VILVIK=settings)
    db.migrate(settings["DATABASE"])
    database = db.Database(settings["DATABASE"])
    if settings["EXECUTOR"] == "celery":
        from .engine.celery_executor import CeleryExecutor as Executor
    executor = Executor(database, settings, owner_prefix=leases.instance_prefix(app.instance_path))
    app.extensions["vilvik"] = Services(settings, database, executor, deliveries=Deliverer(database, settings),
                                        instance_lock=lock,
                                        waits=capacity.Fence(settings["MAX_WAITS"], settings["MAX_WAITS_PER_ACCOUNT"]),
                                        streams=capacity.Fence(settings["MAX_EVENT_STREAMS"],
                                                               settings["MAX_EVENT_STREAMS_PER_ACCOUNT"]),
                                        keys=key_cache.KeyCache(database))
    http.init_app(app)
    app.extensions["vilvik"].limiter = ratelimit.init_app(app, settings)
    http.init_body_checks(app)
    api.init_app(app)
    web.init_app(app)
    errors.init_app(app)
    metrics.init_app(app, settings)
    plain_accept.init_app(app)  # these two last: they wrap the whole Flask app
    status_read.init_app(app)
    if start_executor and runs_jobs(settings):
        executor.start()
    if start_executor and settings["WEBHOOK_DELIVERY"]:
        app.extensions["vilvik"].deliveries.start()
    return app


def runs_jobs(settings):
    """Does a serving process run an executor: local with WORKERS > 0, or a celery control plane."""
    return settings["EXECUTOR"] == "celery" or settings["WORKERS"] > 0


def _configure_logging(level):
    root = logging.getLogger("vilvik")
    if not root.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(_LogFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        root.addHandler(handler)
    root.setLevel(level.upper())


class _LogFormatter(logging.Formatter):
    """logging.Formatter with the same lines; the date and time part of `asctime` is formatted
    once a second, not once a line (the milliseconds still come from each record)."""

    _second = (None, "")  # (whole second, its formatted date and time)

    def formatTime(self, record, datefmt=None):
        if datefmt is not None:
            return super().formatTime(record, datefmt)
        whole = int(record.created)
        second = self._second
        if second[0] != whole:
            second = self._second = (whole, time.strftime(self.default_time_format, self.converter(record.created)))
        return self.default_msec_format % (second[1], record.msecs)
