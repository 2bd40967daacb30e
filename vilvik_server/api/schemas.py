"""Marshmallow schemas for every request body, query string and response of the API."""
import copy

from marshmallow import INCLUDE, Schema, ValidationError, fields, pre_load, validate, validates, validates_schema

from ..auth import SCOPES
from ..store.pages import DEFAULT_LIMIT, MAX_LIMIT
from ..webhooks import ALL, EVENT_TYPES, SUBMISSION_EVENTS, validate_url
from .ga_params import (CROSSOVER_TYPES, GENE_TYPE_NAMES, MUTATION_TYPES, PARAM_DEFAULTS, PARENT_SELECTION_TYPES,
                        GAParamsSchema)
from .openapi import NULL_SCHEMA, or_null, ref

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
LEDGER_KINDS = ("grant", "reserve", "release", "charge", "refund", "adjustment")
ENTRY_NAME = validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$", error="must be a Python function name")

_NUMBER, _INTEGER, _STRING, _BOOLEAN = {"type": "number"}, {"type": "integer"}, {"type": "string"}, {"type": "boolean"}
_NUMBERS = {"anyOf": [_NUMBER, {"type": "array", "items": _NUMBER}]}

# Named schemas the document shares: enums of closed sets, and the shapes of PyGAD's unions.
COMPONENTS = {
    "SubmissionStatus": {"type": "string", "enum": list(STATUSES)},
    "SubmissionType": {"type": "string", "enum": ["custom", "quick"]},
    "LedgerEntryKind": {"type": "string", "enum": list(LEDGER_KINDS)},
    "DeliveryStatus": {"type": "string", "enum": ["pending", "sending", "succeeded", "failed"]},
    "Scope": {"type": "string", "enum": list(SCOPES)},
    "EventType": {"type": "string", "enum": list(EVENT_TYPES)},
    "ParentSelectionType": {"type": "string", "enum": list(PARENT_SELECTION_TYPES)},
    "CrossoverType": {"type": "string", "enum": list(CROSSOVER_TYPES), "description": '"null" runs no crossover'},
    "MutationType": {"type": "string", "enum": list(MUTATION_TYPES), "description": '"null" runs no mutation'},
    "NonFiniteNumber": {"type": "string", "enum": ["Infinity", "-Infinity", "NaN"],
                        "description": "a fitness that is not a finite number, written as a string so the body "
                                       "stays JSON"},
    "Fitness": {"anyOf": [_NUMBER, ref("NonFiniteNumber"),
                          {"type": "array", "items": {"anyOf": [_NUMBER, ref("NonFiniteNumber")]}}],
                "description": "a number, a list of numbers (one per objective), or a non-finite value as a "
                               "string"},
    "GeneTypeName": {"type": "string", "enum": list(GENE_TYPE_NAMES)},
    "Null": NULL_SCHEMA,
    "RoundedGeneType": {"type": "array", "minItems": 2, "maxItems": 2,
                        "items": or_null({"anyOf": [ref("GeneTypeName"), _INTEGER]}),
                        "description": '[type name, decimal digits or null], e.g. ["float", 3]'},
    "GeneType": {"anyOf": [ref("GeneTypeName"), ref("RoundedGeneType"),
                           {"type": "array", "items": {"anyOf": [ref("GeneTypeName"), ref("RoundedGeneType")]}}],
                 "description": 'a type name, ["float", digits] to round, or one of those per gene'},
    "GeneRange": {"type": "object", "required": ["low", "high"], "additionalProperties": False,
                  "properties": {"low": _NUMBER, "high": _NUMBER, "step": _NUMBER}},
    "GeneSpace": {"anyOf": [ref("GeneRange"),
                            {"type": "array", "items": or_null({"anyOf": [
                                _NUMBER, ref("GeneRange"), {"type": "array", "items": or_null(_NUMBER)}]})}],
                  "description": "values every gene may take (a list, or a range), or one entry per gene (a "
                                 "list, a range, a number or null for any value)"},
    "PyGADDefault": {"type": "string", "enum": ["default"], "description": "PyGAD's own default value"},
    "GeneCategorical": {"anyOf": [_BOOLEAN, {"type": "array", "items": _BOOLEAN}],
                        "description": "true, false, or one bool per gene"},
}

# The OpenAPI type of each PyGAD parameter where the field alone cannot say it (unions, named enums).
PARAM_TYPES = {
    **{name: _INTEGER for name, field in GAParamsSchema._declared_fields.items() if isinstance(field, fields.Integer)},
    "initial_population": {"type": "array", "items": {"type": "array", "items": _NUMBER}},
    "init_range_low": _NUMBERS, "init_range_high": _NUMBERS,
    "random_mutation_min_val": _NUMBERS, "random_mutation_max_val": _NUMBERS,
    "gene_type": ref("GeneType"), "gene_space": ref("GeneSpace"), "gene_categorical": ref("GeneCategorical"),
    "parent_selection_type": ref("ParentSelectionType"),
    "crossover_type": ref("CrossoverType"), "mutation_type": ref("MutationType"),
    "crossover_probability": _NUMBER, "sbx_crossover_eta": _NUMBER, "polynomial_mutation_eta": _NUMBER,
    "mutation_probability": _NUMBERS,
    "mutation_percent_genes": {"anyOf": [ref("PyGADDefault"), _NUMBER,
                                         {"type": "array", "items": _NUMBER}]},
    "mutation_num_genes": {"anyOf": [_INTEGER, {"type": "array", "items": _INTEGER}]},
    "mutation_by_replacement": _BOOLEAN, "allow_duplicate_genes": _BOOLEAN, "save_best_solutions": _BOOLEAN,
    "save_solutions": _BOOLEAN,
    "stop_criteria": {"anyOf": [_STRING, {"type": "array", "items": _STRING}]},
}
NULLABLE_PARAMS = frozenset(name for name, default in PARAM_DEFAULTS.items() if default is None) - {
    "num_generations", "num_parents_mating", "sol_per_pop", "num_genes"}   # always set in a run's params
# A request may send null for an operator: PyGAD's None, stored as "null".
NULLABLE_IN_REQUESTS = {"crossover_type", "mutation_type"}


def _documented_params():
    """GAParamsSchema's own fields (same rules), documented by PARAM_TYPES."""
    documented = {}
    for name, field in GAParamsSchema._declared_fields.items():
        if name in PARAM_TYPES and not isinstance(field, fields.Integer):
            field = copy.copy(field)
            schema = PARAM_TYPES[name]
            if name in NULLABLE_IN_REQUESTS:
                schema = or_null(schema)
            field.metadata = {**field.metadata, "openapi": schema}
            documented[name] = field
    return type("DocumentedGAParamsSchema", (GAParamsSchema,), documented)


def _param(name, **kwargs):
    """A raw field for one PyGAD parameter of a request, documented by PARAM_TYPES."""
    return fields.Raw(metadata={"openapi": PARAM_TYPES[name]}, **kwargs)


# The overview's first example: what the playground's "Try it out" sends as it stands.
SUBMISSION_EXAMPLE = {"name": "smoke test", "num_generations": 10, "sol_per_pop": 4, "num_genes": 3,
                      "num_parents_mating": 2, "init_range_low": -1, "init_range_high": 1,
                      "fitness_func": "def fitness_func(ga, sol, idx): return sum(sol)\n",
                      "fitness_func_entry": "fitness_func"}
CONTINUE_EXAMPLE = {"num_generations": 10}
KEY_EXAMPLE = {"name": "ci", "scopes": ["submissions:read", "submissions:write", "results:read"]}


class RunLimitsSchema(Schema):
    """Per-run limits a request may lower (never raise) below the server's ceilings."""

    cpu_seconds = fields.Integer(validate=validate.Range(min=1), metadata={"description": "CPU seconds"})
    wall_seconds = fields.Integer(validate=validate.Range(min=1), metadata={"description": "wall-clock seconds"})
    memory_mb = fields.Integer(validate=validate.Range(min=16), metadata={"description": "memory in MiB"})


class SubmissionCreateSchema(_documented_params()):
    """POST /submissions: PyGAD parameters by PyGAD's names, plus the job's own fields."""

    type = fields.String(load_default="custom", validate=validate.OneOf(["custom", "quick"]), metadata={
        "description": "custom: your own fitness function; quick: a problem from GET /quick/problems"})
    problem = fields.String(load_default=None, metadata={"description": "type quick: the problem's name"})
    problem_params = fields.Dict(load_default=None, metadata={"description": "type quick: the problem's data"})
    name = fields.String(load_default="", validate=validate.Length(max=200))
    metadata = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=40)),
                           values=fields.String(validate=validate.Length(max=500)), load_default=dict,
                           metadata={"description": "up to 16 string keys with string values"})
    fitness_func = fields.String(required=True, metadata={
        "description": "Python source defining the fitness function (at most 64 KiB)"})
    fitness_func_entry = fields.String(load_default="fitness_func", validate=ENTRY_NAME, metadata={
        "description": "the name of the function in fitness_func that PyGAD calls"})
    limits = fields.Nested(RunLimitsSchema, load_default=dict, metadata={
        "description": "lower this run's CPU, wall-clock or memory limit (defaults: the server's ceilings)"})
    webhook_url = fields.String(load_default=None, allow_none=True, validate=validate_url, metadata={
        "description": "a one-off webhook for this submission's events, besides your registered endpoints"})
    webhook_events = fields.List(fields.String(validate=validate.OneOf((ALL,) + SUBMISSION_EVENTS)),
                                 load_default=None, allow_none=True, validate=validate.Length(min=1), metadata={
                                     "description": "which events webhook_url gets (default: all)"})

    @validates("metadata")
    def _at_most_16_keys(self, value, **_):
        if len(value) > 16:
            raise ValidationError("at most 16 keys")

    @pre_load
    def _build_quick_submission(self, data, **_):
        """type quick: the builder writes the fitness source and PyGAD defaults; given PyGAD fields win."""
        if not isinstance(data, dict) or data.get("type") != "quick":
            return data
        from .. import quick

        written = {name: ["not allowed with type quick: the builder writes it"]
                   for name in ("fitness_func", "fitness_func_entry") if name in data}
        if written:
            raise ValidationError(written)
        problem = data.get("problem")
        if problem not in quick.PROBLEMS:
            raise ValidationError({"problem": [f"must be one of {', '.join(sorted(quick.PROBLEMS))} "
                                               "(see GET /quick/problems)"]})
        try:
            ga_params, source, entry = quick.build(problem, data.get("problem_params") or {})
        except ValidationError as exc:
            raise ValidationError({"problem_params": exc.messages}) from None
        return {**ga_params, **data, "fitness_func": source, "fitness_func_entry": entry}

    @validates_schema
    def _problem_only_for_quick(self, data, **_):
        if data.get("type") == "custom" and (data.get("problem") or data.get("problem_params")):
            raise ValidationError({"problem": ["only with type quick"]})


class ListQuerySchema(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = fields.String(load_default=None, allow_none=False, validate=validate.Length(max=200))


class SubmissionListQuerySchema(ListQuerySchema):
    status = fields.String(load_default=None, allow_none=False, validate=validate.OneOf(STATUSES),
                           metadata={"openapi": ref("SubmissionStatus")})
    created_after = fields.DateTime(load_default=None, allow_none=False, format="iso")
    created_before = fields.DateTime(load_default=None, allow_none=False, format="iso")
    name = fields.String(load_default=None, allow_none=False, validate=validate.Length(min=1, max=200),
                         metadata={"description": "name prefix"})


class SubmissionGetQuerySchema(Schema):
    include = fields.String(load_default=None, allow_none=False, validate=validate.OneOf(["fitness_func"]))


class ResultListQuerySchema(ListQuerySchema):
    submission_id = fields.String(load_default=None, allow_none=False, validate=validate.Length(max=40))


class ResultGetQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class ResponseSchema(Schema):
    """A response object: it may gain fields (v1 grows additively), so clients must allow more."""

    class Meta:
        unknown = INCLUDE


def _str(**kwargs):
    return fields.String(required=True, **kwargs)


def _time(nullable=False, **metadata):
    return fields.String(required=True, allow_none=nullable, metadata={"format": "date-time", **metadata})


def _raw(schema, nullable=False, required=True, description=None):
    """A field documented by a raw OpenAPI schema (a named component or a union of types)."""
    metadata = {"openapi": schema, **({"description": description} if description else {})}
    return fields.Raw(required=required, allow_none=nullable, metadata=metadata)


class AcceptedSchema(ResponseSchema):
    id = _str()
    status = _raw(ref("SubmissionStatus"))
    status_url = _str(metadata={"format": "uri"})
    result_url = _str(metadata={"format": "uri"})
    created_at = _time()
    credits_reserved = fields.Float(required=True, allow_none=True)
    generated = fields.Nested(lambda: GeneratedSchema(), metadata={
        "description": "quick submissions: the parameters and fitness source the builder made, exactly what will run"})


class ProgressSchema(ResponseSchema):
    generations_completed = fields.Integer(required=True)
    num_generations = fields.Integer(required=True)
    best_fitness = _raw(ref("Fitness"), nullable=True)
    mean_fitness = _raw(ref("Fitness"), nullable=True)
    updated_at = _time(nullable=True)


class UsageSchema(ResponseSchema):
    cpu_seconds = fields.Float(required=True, allow_none=True)
    wall_seconds = fields.Float(required=True, allow_none=True)
    peak_memory_bytes = fields.Integer(required=True, allow_none=True)


class ResultUsageSchema(ResponseSchema):
    cpu_seconds = fields.Float(allow_none=True, metadata={"description": "missing when the sandbox could not "
                                                                         "report it"})
    wall_seconds = fields.Float(required=True)
    peak_memory_bytes = fields.Integer(allow_none=True)


class RunErrorSchema(ResponseSchema):
    code = _str(metadata={"description": "fitness_error, invalid_fitness, timeout, memory_limit, sandbox_violation, "
                                         "invalid_report, worker_lost, internal_error (more may come)"})
    message = _str()
    traceback = fields.String(metadata={"description": "for fitness_error: the traceback, trimmed to your code"})


class VersionsSchema(ResponseSchema):
    pygad = _str()
    numpy = _str()
    python = _str()


class GeneratedSchema(ResponseSchema):
    params = fields.Nested(lambda: ParamsSchema(), required=True)
    fitness_func = _str()
    fitness_func_entry = _str()


ParamsSchema = type("ParamsSchema", (ResponseSchema,), {
    "__doc__": "The full effective PyGAD parameters of a run.",
    **{name: _raw(schema, nullable=name in NULLABLE_PARAMS, description=GAParamsSchema._declared_fields[name]
                  .metadata.get("description")) for name, schema in PARAM_TYPES.items()}})


class SubmissionSchema(ResponseSchema):
    id = _str()
    object = _str(metadata={"example": "submission"})
    name = _str()
    type = _raw(ref("SubmissionType"))
    status = _raw(ref("SubmissionStatus"))
    created_at = _time()
    started_at = _time(nullable=True)
    finished_at = _time(nullable=True)
    params = fields.Nested(ParamsSchema, required=True)
    fitness_func_entry = _str()
    fitness_func = fields.String(metadata={"description": "only with ?include=fitness_func"})
    parent_id = fields.String(required=True, allow_none=True)
    problem = fields.String(required=True, allow_none=True)
    problem_params = fields.Dict(required=True, allow_none=True)
    progress = fields.Nested(ProgressSchema, required=True)
    usage = fields.Nested(UsageSchema, required=True)
    limits = fields.Nested(RunLimitsSchema, required=True, metadata={"description": "the run's limits"})
    credits_charged = fields.Float(required=True, allow_none=True)
    error = fields.Nested(RunErrorSchema, required=True, allow_none=True, metadata={"description": "failed runs only"})
    sandbox = fields.List(fields.String(), required=True, allow_none=True,
                          metadata={"description": "layers the run ran under"})
    versions = fields.Nested(VersionsSchema, required=True, allow_none=True)
    logs = fields.String(required=True, allow_none=True, metadata={"description": "the last 64 KiB the run printed"})
    metadata = fields.Dict(keys=fields.String(), values=fields.String(), required=True)
    webhook_url = fields.String(required=True, allow_none=True)
    webhook_events = fields.List(fields.String(), required=True, allow_none=True)
    status_url = _str(metadata={"format": "uri"})
    result_url = _str(metadata={"format": "uri"})


class ResultSchema(ResponseSchema):
    id = _str()
    object = _str(metadata={"example": "result"})
    submission_id = _str()
    created_at = _time()
    best_solution = fields.List(fields.Float(), required=True)
    best_solution_fitness = _raw(ref("Fitness"))
    best_solution_idx = fields.Integer(required=True)
    best_solution_generation = fields.Integer(required=True)
    generations_completed = fields.Integer(required=True)
    best_fitness_per_generation = fields.List(_raw(ref("Fitness")), required=True)
    mean_fitness_per_generation = fields.List(_raw(ref("Fitness"), nullable=True), metadata={
        "description": "the population's mean fitness in each generation (null for multi-objective runs)"})
    last_generation_fitness = fields.List(_raw(ref("Fitness")), required=True)
    population = fields.List(fields.List(fields.Float()), required=True)
    pareto_front = fields.List(fields.List(_raw(ref("Fitness"))), metadata={
        "description": "multi-objective runs: the fitness of each solution on the first front"})
    interpretation = fields.Dict(allow_none=True, metadata={"description": "quick problems: the answer, readable"})
    usage = fields.Nested(ResultUsageSchema, required=True)
    credits_charged = fields.Float(required=True, allow_none=True)
    submission_url = _str(metadata={"format": "uri"})


def list_schema(item_schema):
    """The schema of a cursor-paginated list of `item_schema`."""
    return type(f"{item_schema.__name__[:-6]}ListSchema", (ResponseSchema,), {
        "object": _str(metadata={"example": "list"}),
        "data": fields.List(fields.Nested(item_schema), required=True),
        "has_more": fields.Boolean(required=True),
        "next_cursor": fields.String(required=True, allow_none=True),
        "next_url": fields.String(required=True, allow_none=True, metadata={"format": "uri"}),
    })


class QuickProblemSchema(ResponseSchema):
    name = _str()
    title = _str()
    description = _str()
    params_schema = fields.Dict(required=True, metadata={"description": "a JSON Schema of its problem_params"})
    defaults = fields.Dict(required=True, metadata={"description": "the PyGAD parameters the builder writes for the "
                                                                   "example"})
    example = fields.Dict(required=True, metadata={"description": "problem_params that work as they stand"})
    fitness_func_entry = _str()


QuickProblemListSchema = list_schema(QuickProblemSchema)


class QueueSchema(ResponseSchema):
    queued = fields.Integer(required=True)
    running = fields.Integer(required=True)


class SandboxSchema(ResponseSchema):
    mode = fields.String(required=True, allow_none=True, metadata={"description": "full, degraded, stopped or "
                                                                                  "accept-only"})
    layers = fields.Dict(keys=fields.String(), values=fields.Boolean(), required=True)
    missing = fields.List(fields.String(), required=True)


class HealthSchema(ResponseSchema):
    status = _str(metadata={"example": "ok"})
    version = _str()
    queue = fields.Nested(QueueSchema, required=True)
    sandbox = fields.Nested(SandboxSchema, required=True)


class CreditsSchema(ResponseSchema):
    balance = fields.Float(required=True, metadata={"description": "available + reserved"})
    reserved = fields.Float(required=True, metadata={"description": "held back for queued and running runs"})
    available = fields.Float(required=True)


class CountedLimitSchema(ResponseSchema):
    limit = fields.Integer(required=True)
    used = fields.Integer(required=True)


class RateLimitSchema(ResponseSchema):
    limit = _str(metadata={"description": "e.g. 600/minute"})
    remaining = fields.Integer(required=True, allow_none=True)
    reset = fields.Integer(required=True, allow_none=True, metadata={"description": "epoch seconds"})


class AccountLimitsSchema(ResponseSchema):
    rate_limit = fields.Nested(RateLimitSchema, required=True)
    max_active = fields.Nested(CountedLimitSchema, required=True)
    max_queued = fields.Nested(CountedLimitSchema, required=True)
    cpu_seconds_per_run = fields.Integer(required=True)
    wall_seconds_per_run = fields.Integer(required=True)
    memory_mb_per_run = fields.Integer(required=True)
    sol_per_pop = fields.Integer(required=True)
    num_genes = fields.Integer(required=True)
    evaluations_per_run = fields.Integer(required=True)
    fitness_func_bytes = fields.Integer(required=True)
    body_bytes = fields.Integer(required=True)


class PriceSchema(ResponseSchema):
    credits_per_cpu_second = fields.Float(required=True)
    min_charge = fields.Float(required=True)


class AccountSchema(ResponseSchema):
    id = _str()
    object = _str(metadata={"example": "account"})
    email = _str()
    created_at = _time()
    credits = fields.Nested(CreditsSchema, required=True)
    limits = fields.Nested(AccountLimitsSchema, required=True,
                           metadata={"description": "each limit, with what is used of it where it is counted"})
    price = fields.Nested(PriceSchema, required=True)


class KeyCreateSchema(Schema):
    name = fields.String(load_default="", validate=validate.Length(max=100))
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES), metadata={"openapi": ref("Scope")}),
                         load_default=None,
                         validate=validate.Length(min=1),
                         metadata={"description": "default: every scope the calling key has"})


class KeySchema(ResponseSchema):
    id = _str()
    object = _str(metadata={"example": "api_key"})
    name = _str()
    prefix = _str()
    scopes = fields.List(_raw(ref("Scope")), required=True)
    created_at = _time()
    last_used_at = _time(nullable=True)
    secret = fields.String(metadata={"description": "only in the response that created the key"})


class LedgerEntrySchema(ResponseSchema):
    id = _str()
    object = _str(metadata={"example": "ledger_entry"})
    created_at = _time()
    kind = _raw(ref("LedgerEntryKind"))
    amount = fields.Float(required=True)
    balance_after = fields.Float(required=True, metadata={"description": "the available balance after this entry"})
    submission_id = fields.String(required=True, allow_none=True)
    note = _str()


class ContinueSchema(Schema):
    """POST /submissions/{id}/continue: how many more generations, and a few overrides."""

    num_generations = fields.Integer(required=True, validate=validate.Range(min=1),
                                     metadata={"description": "how many more generations to run"})
    name = fields.String(validate=validate.Length(max=200))
    metadata = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=40)),
                           values=fields.String(validate=validate.Length(max=500)))
    limits = fields.Nested(RunLimitsSchema)
    stop_criteria = _param("stop_criteria", allow_none=True)
    mutation_probability = _param("mutation_probability", allow_none=True)
    mutation_percent_genes = _param("mutation_percent_genes")
    mutation_num_genes = _param("mutation_num_genes", allow_none=True)
    crossover_probability = _param("crossover_probability", allow_none=True)
    keep_elitism = fields.Integer()
    keep_parents = fields.Integer()
    K_tournament = fields.Integer()
    random_mutation_min_val = fields.Float()
    random_mutation_max_val = fields.Float()


class ErrorSchema(ResponseSchema):
    """What went wrong; see /docs/errors."""

    code = _str(metadata={"description": "machine-readable, e.g. validation_error: branch on it (more may come)"})
    message = _str(metadata={"description": "for people; its wording may change"})
    param = fields.String(required=True, allow_none=True, metadata={
        "description": "the first offending field as a dotted path (limits.cpu_seconds, webhook_events.0), or null"})
    details = fields.Dict(metadata={"description": "more, by code: fields {name: [problems]}, quota, "
                                                   "required_scope, status, available/required, ..."})
    doc_url = _str(metadata={"format": "uri", "description": "this server's documentation of the code"})
    request_id = fields.String(required=True, allow_none=True)


class ErrorResponseSchema(ResponseSchema):
    """The one shape of every error response."""

    error = fields.Nested(ErrorSchema, required=True)
