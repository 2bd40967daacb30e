"""`vilvik-server worker`: check this machine's sandbox, then run a Celery worker.

A worker whose machine cannot build the whole sandbox (and SANDBOX_ALLOW_DEGRADED is off)
takes no tasks: it says which layer is missing and why, and exits.
"""
import logging
import socket
import sys

from .. import config
from ..domain.words import plural
from ..engine.zygote import Zygote, ZygoteUnavailable

log = logging.getLogger("vilvik.worker")
EXIT_NO_SANDBOX = 3


def main(args):
    settings = config.load_settings(None)
    if not settings["BROKER_URL"]:
        raise config.ConfigError("a worker needs BROKER_URL (e.g. VILVIK_BROKER_URL=redis://127.0.0.1:6379/0)")
    concurrency = args.concurrency or settings["WORKERS"] or 1
    node = args.name or f"vilvik@{socket.gethostname()}"
    refusal = sandbox_refusal(settings)
    if refusal:
        print(f"vilvik-server worker: {refusal}; this worker takes no tasks", file=sys.stderr, flush=True)
        return EXIT_NO_SANDBOX
    from .app import make_app

    logging.getLogger("vilvik").propagate = False  # Celery's root handler would print each line twice
    app = make_app(settings, node)
    print(f"worker {node} taking tasks ({plural(concurrency, 'process', 'processes')})", flush=True)
    app.worker_main(["worker", "--pool", "prefork", "--concurrency", str(concurrency), "--hostname", node,
                     "--queues", "vilvik", "--without-gossip", "--without-mingle", "--without-heartbeat",
                     "--loglevel", settings["LOG_LEVEL"].upper()])
    return 0


def sandbox_refusal(settings):
    """Why this machine may not run jobs (None when it may): the zygote's own probe, as the server does."""
    zygote = Zygote()
    try:
        sandbox = zygote.start()["sandbox"]
    except ZygoteUnavailable as exc:
        return f"the sandbox cannot start: {exc}"
    finally:
        zygote.close()
    if sandbox.get("mode") == "full":
        return None
    reasons = sandbox.get("reasons", {})
    missing = "; ".join(f"{layer}: {reasons.get(layer, 'no reason given')}" for layer in sandbox.get("missing", []))
    if settings["SANDBOX_ALLOW_DEGRADED"]:
        log.warning("SANDBOX DEGRADED (%s) and SANDBOX_ALLOW_DEGRADED is on", missing)
        return None
    return f"the sandbox is not whole on this machine ({missing or sandbox.get('mode')})"
