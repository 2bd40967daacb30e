"""/health and /account: the server's and the caller's state (the OpenAPI tag keeps its name, "service")."""
from flask import current_app, g
from flask.views import MethodView

from .. import __version__, ratelimit, runs_jobs
from ..auth import authenticate
from ..clock import rfc3339
from ..money import micros_to_credits
from ..store import accounts as account_store
from ..store import submissions as submission_store
from .openapi import Blueprint, operation
from .schemas import AccountSchema, HealthSchema

blp = Blueprint("service", __name__, description="Health and account.")


@blp.route("/health")
class Health(MethodView):
    @operation("get_health", public=True)
    @blp.response(200, HealthSchema)
    def get(self):
        """Is the server up; how long is the queue; which sandbox runs jobs (no auth)."""
        services = current_app.extensions["vilvik"]
        counts = submission_store.queue_counts(services.db.connection())
        sandbox = services.executor.sandbox if runs_jobs(services.settings) else {"mode": "accept-only"}
        return {"status": "ok", "version": __version__, "queue": counts, "executor": services.executor.describe(),
                "sandbox": {"mode": sandbox.get("mode"), "layers": sandbox.get("layers", {}),
                            "missing": sandbox.get("missing", [])}}


@blp.route("/account")
class Account(MethodView):
    @operation("get_account")
    @blp.response(200, AccountSchema)
    def get(self):
        """Your account: credits, and each limit with what is used of it."""
        authenticate()
        services = current_app.extensions["vilvik"]
        settings = services.settings
        conn = services.db.connection()
        account = account_store.get(conn, g.account_id)
        counts = submission_store.account_counts(conn, g.account_id)
        windows = ratelimit.current_windows()
        return {
            "id": account["id"],
            "object": "account",
            "email": account["email"],
            "created_at": rfc3339(account["created_at"]),
            "credits": {
                "balance": micros_to_credits(account["available_micros"] + account["reserved_micros"]),
                "reserved": micros_to_credits(account["reserved_micros"]),
                "available": micros_to_credits(account["available_micros"]),
            },
            "limits": {
                "rate_limit": _window(settings["RATE_LIMIT"], windows["key"]),
                "account_rate_limit": _window(settings["ACCOUNT_RATE_LIMIT"], windows["account"]),
                "max_active": {"limit": settings["MAX_ACTIVE"], "used": counts["running"]},
                "max_queued": {"limit": settings["MAX_QUEUED"],
                               "used": submission_store.queued_entries(conn, g.account_id)},
                "cpu_seconds_per_run": settings["MAX_CPU_SECONDS"],
                "wall_seconds_per_run": settings["MAX_WALL_SECONDS"],
                "memory_mb_per_run": settings["MAX_MEMORY_MB"],
                "sol_per_pop": settings["MAX_SOL_PER_POP"],
                "num_genes": settings["MAX_NUM_GENES"],
                "evaluations_per_run": settings["MAX_EVALUATIONS"],
                "fitness_func_bytes": settings["MAX_FITNESS_SOURCE_BYTES"],
                "runs_per_experiment": settings["MAX_EXPERIMENT_RUNS"],
                "body_bytes": settings["MAX_BODY_BYTES"],
            },
            "price": {"credits_per_cpu_second": settings["CREDITS_PER_CPU_SECOND"],
                      "min_charge": settings["MIN_CHARGE"]},
        }


def _window(rate, window):
    return {"limit": rate, "remaining": window.remaining if window else None,
            "reset": int(window.reset_at) if window else None}
