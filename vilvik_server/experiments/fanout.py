"""Accepting an experiment: check it whole, then store one queued run per grid cell and seed.

Every run is validated (the base alone, each grid value as its parameter, each cell as a
whole POST /submissions body) before anything is stored; then the experiment, its runs and
the reservation of every run's maximum cost go in one transaction with batched inserts.
"""
import itertools
import json
import math
import secrets
from dataclasses import dataclass

import numpy
from marshmallow import ValidationError

from .. import billing, errors, fitness_source, submitting
from ..domain.experiment_inputs import MAX_SEED
from ..domain.ga_params import GAParamsSchema, effective_params
from ..domain.inputs import SubmissionCreateSchema
from ..domain.words import plural
from ..store import experiments as experiment_store

GRID_PARAMS = tuple(name for name in GAParamsSchema._declared_fields if name != "random_seed")
GA_PARAM_NAMES = frozenset(GAParamsSchema._declared_fields)
MAX_NAME = 200


@dataclass
class Plan:
    """A checked experiment: its cells, seeds, and every run ready to insert."""
    cells: list
    seeds: list
    seed: int | None
    runs: list
    cpu_seconds: int


def derive_seeds(seed, repeats):
    """`repeats` distinct seeds derived from `seed` (numpy's SeedSequence); a prefix of a longer list."""
    drawn = numpy.random.SeedSequence(seed).generate_state(2 * repeats + 8, dtype=numpy.uint32)
    return list(dict.fromkeys(int(value) for value in drawn))[:repeats]


def base_of(submission):
    """The POST /submissions body that runs a stored submission's job again (without its seed)."""
    params = json.loads(submission["params"])
    params.pop("random_seed", None)
    body = {"name": submission["name"], "metadata": json.loads(submission["metadata"]),
            "limits": json.loads(submission["limits"]), **params}
    if submission["type"] == "quick":
        body.update(type="quick", problem=submission["problem"],
                    problem_params=json.loads(submission["problem_params"]) if submission["problem_params"] else None)
    else:
        body.update(fitness_func=submission["fitness_func"], fitness_func_entry=submission["fitness_func_entry"])
    return body


def plan(settings, body):
    """Check an experiment body (ExperimentCreateSchema-loaded) and build its runs; raises VilvikError."""
    base, grid = body["base"], body.get("grid") or {}
    seeds, seed = _seeds(body)
    for name in ("random_seed",):
        if name in base:
            raise errors.ValidationFailed.for_fields(
                {"base": {name: ["is set for every run from seeds or repeats; leave it out of base"]}})
    _check_grid_names(grid)
    cells_count = math.prod(len(values) for values in grid.values())
    runs_total = cells_count * len(seeds)
    limit = settings["MAX_EXPERIMENT_RUNS"]
    if runs_total > limit:
        raise errors.QuotaExceeded(
            f"this experiment has {plural(runs_total, 'run')} ({plural(cells_count, 'grid cell')} x "
            f"{plural(len(seeds), 'seed')}); this server "
            f"allows at most {limit} (MAX_EXPERIMENT_RUNS)",
            details={"quota": "MAX_EXPERIMENT_RUNS", "limit": limit, "requested": runs_total})
    try:
        loaded_base = _load_submission(base)
    except ValidationError as exc:
        raise errors.ValidationFailed.for_fields({"base": exc.messages}) from None
    _check_grid_values(grid)
    cells = [dict(zip(grid, combination)) for combination in itertools.product(*grid.values())]
    runs, compiled, cpu_seconds = [], set(), None
    for index, cell in enumerate(cells):
        loaded = _load_cell(base, cell) if cell else loaded_base
        params = effective_params({k: v for k, v in loaded.items() if k in GA_PARAM_NAMES})
        submitting.check_size_quotas(settings, params, loaded["fitness_func"])
        code = (loaded["fitness_func"], loaded["fitness_func_entry"])
        if code not in compiled:
            fitness_source.check(*code)
            compiled.add(code)
        limits = submitting.run_limits(settings, loaded["limits"])
        cpu_seconds = limits["cpu_seconds"]
        for run_seed in seeds:
            runs.append({
                "name": _run_name(body.get("name") or loaded["name"], cell, run_seed),
                "type": loaded["type"], "params": dict(params, random_seed=run_seed),
                "fitness_func": loaded["fitness_func"], "fitness_func_entry": loaded["fitness_func_entry"],
                "metadata": loaded["metadata"], "limits": limits, "problem": loaded.get("problem"),
                "problem_params": loaded.get("problem_params"), "webhook_url": loaded.get("webhook_url"),
                "webhook_events": loaded.get("webhook_events"), "cell": index, "seed": run_seed})
    return Plan(cells, seeds, seed, runs, cpu_seconds)


def accept(services, account_id, body):
    """Check, store and enqueue an experiment with every run's credits reserved; returns (row, reserved)."""
    settings = services.settings
    checked = plan(settings, body)
    submitting.check_accepting(services)
    with services.db.transaction() as conn:
        submitting.check_queue_room(conn, settings, account_id)
        row = experiment_store.insert(
            conn, account_id, name=body.get("name") or "", metadata=body.get("metadata") or {},
            base=body["base"], grid=body.get("grid") or {}, cells=checked.cells, seeds=checked.seeds,
            seed=checked.seed, runs_total=len(checked.runs), webhook_url=body["base"].get("webhook_url"),
            webhook_events=body["base"].get("webhook_events"))
        each = billing.run_cost_micros(checked.cpu_seconds, settings)
        ids = experiment_store.insert_runs(conn, row, [dict(run, reserved_micros=each) for run in checked.runs])
        reserved = billing.reserve_runs(conn, account_id, ids, checked.cpu_seconds, settings,
                                        what=f"this experiment's {plural(len(ids), 'run')}")
        experiment_store.set_reserved(conn, row["id"], reserved)
    services.executor.wake()
    return experiment_store.get(services.db.connection(), account_id, row["id"]), reserved


def _seeds(body):
    seeds, repeats, seed = body.get("seeds"), body.get("repeats"), body.get("seed")
    if (seeds is None) == (repeats is None):
        raise errors.ValidationFailed.for_fields({"seeds": ["give exactly one of seeds (a list of integers) or "
                                                            "repeats (a number of runs per grid cell)"]})
    if seeds is not None:
        if seed is not None:
            raise errors.ValidationFailed.for_fields({"seed": ["only with repeats (seeds are listed already)"]})
        duplicates = sorted({s for s in seeds if seeds.count(s) > 1})
        if duplicates:
            raise errors.ValidationFailed.for_fields(
                {"seeds": [f"must be distinct (repeated: {', '.join(map(str, duplicates[:5]))})"]})
        return list(seeds), None
    if seed is None:
        seed = secrets.randbelow(MAX_SEED + 1)
    return derive_seeds(seed, repeats), seed


def _check_grid_names(grid):
    unknown = [name for name in grid if name not in GRID_PARAMS]
    if unknown:
        name = unknown[0]
        if name == "random_seed":
            why = "is set for every run from seeds or repeats"
        else:
            why = "is not a PyGAD parameter a grid can vary" + errors.did_you_mean(name, GRID_PARAMS)
        raise errors.ValidationFailed.for_fields({"grid": {name: [why]}})
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise errors.ValidationFailed.for_fields({"grid": {name: ["must be a non-empty list of values"]}})


def _check_grid_values(grid):
    """Each grid value must be a valid value of its parameter on its own."""
    fields = GAParamsSchema().fields
    for name, values in grid.items():
        for index, value in enumerate(values):
            try:
                fields[name].deserialize(value)
            except ValidationError as exc:
                problems = exc.messages if isinstance(exc.messages, list) else [str(exc.messages)]
                raise errors.ValidationFailed.for_fields({"grid": {name: {index: problems}}}) from None
        if len({repr(v) for v in values}) != len(values):
            raise errors.ValidationFailed.for_fields({"grid": {name: ["values must be distinct"]}})


def _load_submission(body):
    return SubmissionCreateSchema().load(body)


def _load_cell(base, cell):
    try:
        return _load_submission({**base, **cell})
    except ValidationError as exc:
        where = ", ".join(f"{name}={value!r}" for name, value in cell.items())
        fields = {}
        for field, problems in exc.messages.items():
            problems = problems if isinstance(problems, list) else [str(problems)]
            fields[field] = [f"{problem} (in the grid cell {where})" for problem in problems]
        raise errors.ValidationFailed.for_fields({"grid": fields}) from None


def _run_name(name, cell, seed):
    label = ", ".join(f"{key}={value}" for key, value in cell.items())
    suffix = f" [{label + ', ' if label else ''}seed {seed}]"
    return (name[:MAX_NAME - len(suffix)] + suffix) if len(suffix) < MAX_NAME else name[:MAX_NAME]
