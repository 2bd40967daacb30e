"""The accept phase: turn a validated request into a queued submission."""
from . import errors, fitness_source
from .api.ga_params import GAParamsSchema, effective_params
from .ids import credits_to_micros
from .store import accounts as account_store
from .store import submissions as submission_store

GA_PARAM_NAMES = frozenset(GAParamsSchema().fields)


def accept(services, account_id, data):
    """Check, store and enqueue one submission; returns its row."""
    settings, executor = services.settings, services.executor
    fitness_source.check(data["fitness_func"], data["fitness_func_entry"])
    if settings["WORKERS"] > 0 and not executor.sandbox_usable:
        raise errors.Unavailable("the sandbox is unavailable on this server, so it cannot run jobs",
                                 headers={"Retry-After": "60"})
    params = effective_params({k: v for k, v in data.items() if k in GA_PARAM_NAMES})
    limits = run_limits(settings, data["limits"])
    with services.db.transaction() as conn:
        account = account_store.get(conn, account_id)
        minimum = credits_to_micros(settings["MIN_CHARGE"])
        if account["balance_micros"] < max(minimum, 1):
            raise errors.InsufficientCredits(details={"available": account["balance_micros"] / 1e6,
                                                      "required": max(minimum, 1) / 1e6})
        row = submission_store.insert(
            conn, account_id, name=data["name"], type=data["type"], params=params,
            fitness_func=data["fitness_func"], fitness_func_entry=data["fitness_func_entry"],
            metadata=data["metadata"], limits=limits)
    executor.wake()
    return row


def run_limits(settings, asked):
    """The run's limits: the server's ceilings, lowered where the request asks; raising one is a 422."""
    ceilings = {"cpu_seconds": settings["MAX_CPU_SECONDS"], "wall_seconds": settings["MAX_WALL_SECONDS"],
                "memory_mb": settings["MAX_MEMORY_MB"]}
    over = {name: [f"must be <= {ceilings[name]}, this server's ceiling"]
            for name, value in asked.items() if value > ceilings[name]}
    if over:
        name = next(iter(over))
        raise errors.QuotaExceeded(f"limits.{name} asks for more than this server allows ({ceilings[name]})",
                                   details={"fields": {"limits": over}, "quota": f"limits.{name}"})
    return {**ceilings, **asked}
