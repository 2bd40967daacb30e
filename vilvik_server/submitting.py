"""The accept phase: turn a validated request into a queued, paid-for submission."""
from . import billing, errors, fitness_source
from .domain.ga_params import GAParamsSchema, effective_params
from .domain.words import plural
from .store import submissions as submission_store

GA_PARAM_NAMES = frozenset(GAParamsSchema().fields)
CONCURRENCY_RETRY_AFTER = "10"  # seconds: about how long a queued run takes to start


def accept(services, account_id, data, parent_id=None, still_valid=None):
    """Check quotas, compile the code, reserve credits, store and enqueue; returns (row, reserved).

    `still_valid(conn)`, if given, runs first in the write transaction and raises if the request
    no longer holds (a continuation's parent deleted since it was checked)."""
    settings, executor = services.settings, services.executor
    params = effective_params({k: v for k, v in data.items() if k in GA_PARAM_NAMES})
    check_size_quotas(settings, params, data["fitness_func"])
    fitness_source.check(data["fitness_func"], data["fitness_func_entry"])
    limits = run_limits(settings, data["limits"])
    check_accepting(services)
    with services.db.transaction() as conn:
        if still_valid is not None:
            still_valid(conn)
        check_queue_room(conn, settings, account_id)
        # The row carries its reservation from the start; the transaction ends here if it cannot be held.
        row = submission_store.insert(
            conn, account_id, name=data["name"], type=data["type"], params=params,
            fitness_func=data["fitness_func"], fitness_func_entry=data["fitness_func_entry"],
            metadata=data["metadata"], limits=limits, parent_id=parent_id, problem=data.get("problem"),
            problem_params=data.get("problem_params"), webhook_url=data.get("webhook_url"),
            webhook_events=data.get("webhook_events"),
            reserved_micros=billing.run_cost_micros(limits["cpu_seconds"], settings))
        reserved = billing.reserve(conn, account_id, row["id"], limits["cpu_seconds"], settings)
    executor.wake()
    return row, reserved


def check_accepting(services):
    """Refuse new work with 503 when this server cannot run it (no sandbox) or is shutting down."""
    if services.settings["WORKERS"] > 0 and not services.executor.sandbox_usable:
        raise errors.Unavailable("the sandbox is unavailable on this server, so it cannot run jobs",
                                 headers={"Retry-After": "60"})
    if services.executor.stopping:
        raise errors.Unavailable("the server is shutting down", headers={"Retry-After": "5"})


def check_queue_room(conn, settings, account_id):
    """429 when the account already waits on MAX_QUEUED entries (an experiment's queued runs count once)."""
    queued = submission_store.queued_entries(conn, account_id, up_to=settings["MAX_QUEUED"])
    if queued >= settings["MAX_QUEUED"]:
        raise errors.ConcurrencyLimit(
            f"this account has {plural(queued, 'queued submission')}, the most it may have (MAX_QUEUED)",
            details={"queued": queued, "max_queued": settings["MAX_QUEUED"]},
            headers={"Retry-After": CONCURRENCY_RETRY_AFTER})


def check_size_quotas(settings, params, source):
    """Refuse a run larger than this server's ceilings with 422 quota_exceeded naming the ceiling."""
    checks = [
        ("sol_per_pop", params["sol_per_pop"], settings["MAX_SOL_PER_POP"], "MAX_SOL_PER_POP"),
        ("num_genes", params["num_genes"], settings["MAX_NUM_GENES"], "MAX_NUM_GENES"),
        ("num_generations", params["num_generations"] * params["sol_per_pop"], settings["MAX_EVALUATIONS"],
         "MAX_EVALUATIONS"),
        ("fitness_func", len(source.encode()), settings["MAX_FITNESS_SOURCE_BYTES"], "MAX_FITNESS_SOURCE_BYTES"),
    ]
    for field, value, ceiling, quota in checks:
        if value > ceiling:
            what = "num_generations x sol_per_pop" if quota == "MAX_EVALUATIONS" else field
            unit = " bytes" if field == "fitness_func" else ""
            raise errors.QuotaExceeded(
                f"{what} is {value}{unit}; this server allows at most {ceiling}{unit} ({quota})",
                details={"fields": {field: [f"{what} must be <= {ceiling}"]}, "quota": quota,
                         "limit": ceiling, "requested": value})


def run_limits(settings, asked):
    """The run's limits: the request's, else the defaults (DEFAULT_CPU_SECONDS, the other ceilings); above a ceiling is a 422."""
    ceilings = {"cpu_seconds": settings["MAX_CPU_SECONDS"], "wall_seconds": settings["MAX_WALL_SECONDS"],
                "memory_mb": settings["MAX_MEMORY_MB"]}
    over = {name: [f"must be <= {ceilings[name]}, this server's ceiling"]
            for name, value in asked.items() if value > ceilings[name]}
    if over:
        name = next(iter(over))
        raise errors.QuotaExceeded(f"limits.{name} asks for more than this server allows ({ceilings[name]})",
                                   details={"fields": {"limits": over}, "quota": f"limits.{name}",
                                            "limit": ceilings[name], "requested": asked[name]})
    defaults = dict(ceilings, cpu_seconds=min(settings["DEFAULT_CPU_SECONDS"], ceilings["cpu_seconds"]))
    return {**defaults, **asked}
