"""Marshmallow schemas for every request body, query string and response of the API, and the
named schemas of the OpenAPI document (conventions: openapi.py).

The bodies a request may send (also what the website's forms are checked against) are
in domain/inputs.py; here they are documented for the OpenAPI document (the unions and
named enums of their PyGAD fields) without changing what they accept.
"""
import copy
from datetime import timezone

from marshmallow import INCLUDE, Schema, ValidationError, fields, post_dump, validate

from ..domain import inputs
from ..domain.ga_fields import CROSSOVER_TYPES, MUTATION_TYPES, PARENT_SELECTION_TYPES
from ..domain.ga_params import PARAM_DEFAULTS, GAParamsSchema
from ..domain.ga_types import GENE_TYPE_NAMES
from ..domain.inputs import RunLimitsSchema
from ..domain.scopes import SCOPES
from ..domain.statuses import STATUSES
from ..domain.stop_reason import REASONS as STOP_REASONS
from ..store.pages import DEFAULT_LIMIT, MAX_LIMIT
from ..webhooks import EVENT_TYPES
from .openapi import NULL_SCHEMA, or_null, ref

LEDGER_KINDS = ("grant", "reserve", "release", "charge", "refund", "adjustment")
_NUMBER, _INTEGER, _STRING, _BOOLEAN = {"type": "number"}, {"type": "integer"}, {"type": "string"}, {"type": "boolean"}
_NUMBERS = {"anyOf": [_NUMBER, {"type": "array", "items": _NUMBER}]}

# Named schemas the document shares: enums of closed sets, and the shapes of PyGAD's unions.
COMPONENTS = {
    "SubmissionStatus": {"type": "string", "enum": list(STATUSES)},
    "SubmissionType": {"type": "string", "enum": ["custom", "quick"]},
    "StopReason": {"type": "string", "enum": list(STOP_REASONS)},
    "ExperimentStatus": {"type": "string", "enum": ["queued", "running", "finished", "cancelled"]},
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


def _documented(base, schemas):
    """`base` with the OpenAPI schemas given for some of its fields (same fields, same rules)."""
    documented = {}
    for name, schema in schemas.items():
        field = copy.copy(base._declared_fields[name])
        field.metadata = {**field.metadata, "openapi": schema}
        documented[name] = field
    return type(base.__name__, (base,), {"__doc__": base.__doc__, **documented})


SubmissionCreateSchema = _documented(inputs.SubmissionCreateSchema, {
    name: or_null(schema) if name in NULLABLE_IN_REQUESTS else schema for name, schema in PARAM_TYPES.items()
    if not isinstance(GAParamsSchema._declared_fields[name], fields.Integer)})
ContinueSchema = _documented(inputs.ContinueSchema, {
    name: PARAM_TYPES[name] for name in ("stop_criteria", "mutation_probability", "mutation_percent_genes",
                                         "mutation_num_genes", "crossover_probability",
                                         "random_mutation_min_val", "random_mutation_max_val")})
KeyCreateSchema = _documented(inputs.KeyCreateSchema, {"scopes": {"type": "array", "items": ref("Scope"),
                                                                  "minItems": 1}})


# The overview's first example: what the playground's "Try it out" sends as it stands.
SUBMISSION_EXAMPLE = {"name": "smoke test", "num_generations": 10, "sol_per_pop": 4, "num_genes": 3,
                      "num_parents_mating": 2, "init_range_low": -1, "init_range_high": 1,
                      "fitness_func": "def fitness_func(ga, sol, idx): return sum(sol)\n",
                      "fitness_func_entry": "fitness_func"}
CONTINUE_EXAMPLE = {"num_generations": 10}
KEY_EXAMPLE = {"name": "ci", "scopes": ["submissions:read", "submissions:write", "results:read"]}



class ListQuerySchema(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = fields.String(load_default=None, allow_none=False, validate=validate.Length(max=200))


def _in_utc_range(value):
    """A time whose UTC form exists: 0001-01-01T00:00:00+14:00 is before year 1 in UTC."""
    try:
        (value if value.tzinfo else value.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    except OverflowError:
        raise ValidationError("is out of range in UTC (years 1 to 9999)") from None


class SubmissionListQuerySchema(ListQuerySchema):
    status = fields.String(load_default=None, allow_none=False, validate=validate.OneOf(STATUSES),
                           metadata={"openapi": ref("SubmissionStatus")})
    created_after = fields.DateTime(load_default=None, allow_none=False, format="iso", validate=_in_utc_range)
    created_before = fields.DateTime(load_default=None, allow_none=False, format="iso", validate=_in_utc_range)
    name = fields.String(load_default=None, allow_none=False, validate=validate.Length(min=1, max=200),
                         metadata={"description": "name prefix"})
    experiment_id = fields.String(load_default=None, allow_none=False, validate=validate.Length(max=40),
                                  metadata={"description": "only the runs of this experiment"})


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

    @post_dump(pass_original=True)
    def _keep_fields_the_schema_does_not_name(self, data, original, **_):
        """Dumping never drops a field a view sends that the schema does not list yet (additive v1)."""
        if isinstance(original, dict):
            return {**{k: v for k, v in original.items() if k not in data}, **data}
        return data


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
    credits_reserved = fields.Float(required=True, allow_none=True, metadata={
        "description": "the most this run can cost (its CPU-seconds limit times the price), held until it "
                       "ends; it is charged only the CPU time it uses"})
    credits_estimate = fields.Float(required=True, allow_none=True, metadata={
        "description": "a continuation: about what it will cost, from its parent's CPU per generation; "
                       "null when there is nothing to estimate from"})
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
    experiment_id = fields.String(required=True, allow_none=True, metadata={
        "description": "the experiment this run belongs to"})
    problem = fields.String(required=True, allow_none=True)
    problem_params = fields.Dict(required=True, allow_none=True)
    progress = fields.Nested(ProgressSchema, required=True)
    usage = fields.Nested(UsageSchema, required=True)
    limits = fields.Nested(RunLimitsSchema, required=True, metadata={"description": "the run's limits"})
    credits_charged = fields.Float(required=True, allow_none=True)
    stop_reason = _raw(ref("StopReason"), nullable=True, description=(
        "why the run ended (terminal only): all generations ran, a stop criterion was reached, cancelled, a "
        "limit, or an error"))
    stop_criterion = fields.String(required=True, allow_none=True, metadata={
        "description": "with stop_reason stop_criteria: the criterion that fired, e.g. saturate_15"})
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
    executor = fields.Dict(required=True, metadata={
        "description": "mode (local or celery), workers (celery: seen in the last 30 s), and for celery each "
                       "worker node with its sandbox"})


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
    rate_limit = fields.Nested(RateLimitSchema, required=True, metadata={"description": "per key"})
    account_rate_limit = fields.Nested(RateLimitSchema, required=True, metadata={
        "description": "per account, over all its keys"})
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
