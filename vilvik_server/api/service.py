"""/health and /account: the server's and the caller's state."""
from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import __version__
from ..auth import authenticate
from ..ids import micros_to_credits, rfc3339
from ..store import accounts as account_store
from ..store import submissions as submission_store
from .schemas import AccountSchema, HealthSchema

blp = Blueprint("service", __name__, description="Health and account.")


@blp.route("/health")
class Health(MethodView):
    @blp.doc(security=[])
    @blp.response(200, HealthSchema)
    def get(self):
        """Is the server up; how long is the queue; which sandbox runs jobs (no auth)."""
        services = current_app.extensions["vilvik"]
        counts = submission_store.queue_counts(services.db.connection())
        sandbox = services.executor.sandbox if services.settings["WORKERS"] > 0 else {"mode": "accept-only"}
        return {"status": "ok", "version": __version__, "queue": counts,
                "sandbox": {"mode": sandbox.get("mode"), "layers": sandbox.get("layers", {}),
                            "missing": sandbox.get("missing", [])}}


@blp.route("/account")
class Account(MethodView):
    @blp.response(200, AccountSchema)
    def get(self):
        """Your account: credits and limits."""
        authenticate()
        services = current_app.extensions["vilvik"]
        settings = services.settings
        account = account_store.get(services.db.connection(), g.account_id)
        return {
            "id": account["id"],
            "object": "account",
            "email": account["email"],
            "created_at": rfc3339(account["created_at"]),
            "credits": {"balance": micros_to_credits(account["balance_micros"]),
                        "reserved": micros_to_credits(account["reserved_micros"]),
                        "available": micros_to_credits(account["balance_micros"] - account["reserved_micros"])},
            "limits": {"max_cpu_seconds": settings["MAX_CPU_SECONDS"],
                       "max_wall_seconds": settings["MAX_WALL_SECONDS"],
                       "max_memory_mb": settings["MAX_MEMORY_MB"], "max_body_bytes": settings["MAX_BODY_BYTES"]},
            "usage": {},
        }
