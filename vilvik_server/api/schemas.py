"""Marshmallow schemas for every request body, query string and response of the API."""
from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates, validates_schema

from ..auth import SCOPES
from ..store.pages import DEFAULT_LIMIT, MAX_LIMIT
from ..webhooks import ALL, SUBMISSION_EVENTS, validate_url
from .ga_params import GAParamsSchema

STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")
ENTRY_NAME = validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$", error="must be a Python function name")


class RunLimitsSchema(Schema):
    """Per-run limits a request may lower (never raise) below the server's ceilings."""

    cpu_seconds = fields.Integer(validate=validate.Range(min=1), metadata={"description": "CPU seconds"})
    wall_seconds = fields.Integer(validate=validate.Range(min=1), metadata={"description": "wall-clock seconds"})
    memory_mb = fields.Integer(validate=validate.Range(min=16), metadata={"description": "memory in MiB"})


class SubmissionCreateSchema(GAParamsSchema):
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
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


class SubmissionListQuerySchema(ListQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    created_after = fields.DateTime(load_default=None, format="iso")
    created_before = fields.DateTime(load_default=None, format="iso")
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                         metadata={"description": "name prefix"})


class SubmissionGetQuerySchema(Schema):
    include = fields.String(load_default=None, validate=validate.OneOf(["fitness_func"]))


class ResultListQuerySchema(ListQuerySchema):
    submission_id = fields.String(load_default=None, validate=validate.Length(max=40))


class ResultGetQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


class AcceptedSchema(Schema):
    id = fields.String()
    status = fields.String()
    status_url = fields.String()
    result_url = fields.String()
    created_at = fields.String()
    credits_reserved = fields.Float(allow_none=True)
    generated = fields.Dict(metadata={"description": "quick submissions: the parameters and fitness source "
                                                     "the builder made, exactly what will run"})


class SubmissionSchema(Schema):
    id = fields.String()
    object = fields.String()
    name = fields.String()
    type = fields.String()
    status = fields.String(metadata={"enum": list(STATUSES)})
    created_at = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)
    params = fields.Dict(metadata={"description": "the full effective PyGAD parameters"})
    fitness_func_entry = fields.String()
    fitness_func = fields.String(metadata={"description": "only with ?include=fitness_func"})
    parent_id = fields.String(allow_none=True)
    problem = fields.String(allow_none=True)
    problem_params = fields.Dict(allow_none=True)
    progress = fields.Dict()
    usage = fields.Dict()
    limits = fields.Dict()
    credits_charged = fields.Float(allow_none=True)
    error = fields.Dict(allow_none=True, metadata={"description": "code, message, traceback (failed only)"})
    sandbox = fields.List(fields.String(), allow_none=True, metadata={"description": "layers the run ran under"})
    versions = fields.Dict(allow_none=True)
    logs = fields.String(allow_none=True, metadata={"description": "the last 64 KiB the run printed"})
    metadata = fields.Dict()
    webhook_url = fields.String(allow_none=True)
    webhook_events = fields.List(fields.String(), allow_none=True)
    status_url = fields.String()
    result_url = fields.String()


class ResultSchema(Schema):
    id = fields.String()
    object = fields.String()
    submission_id = fields.String()
    created_at = fields.String()
    best_solution = fields.List(fields.Raw())
    best_solution_fitness = fields.Raw()
    best_solution_idx = fields.Integer()
    best_solution_generation = fields.Integer()
    generations_completed = fields.Integer()
    best_fitness_per_generation = fields.List(fields.Raw())
    mean_fitness_per_generation = fields.List(fields.Raw(allow_none=True), metadata={
        "description": "the population's mean fitness in each generation (null for multi-objective runs)"})
    last_generation_fitness = fields.List(fields.Raw())
    population = fields.List(fields.List(fields.Raw()))
    pareto_front = fields.List(fields.List(fields.Raw()))
    interpretation = fields.Dict(allow_none=True, metadata={"description": "quick problems: the answer, readable"})
    usage = fields.Dict()
    credits_charged = fields.Float(allow_none=True)
    submission_url = fields.String()


def list_schema(item_schema):
    """The schema of a cursor-paginated list of `item_schema`."""
    return type(f"{item_schema.__name__[:-6]}ListSchema", (Schema,), {
        "object": fields.String(),
        "data": fields.List(fields.Nested(item_schema)),
        "has_more": fields.Boolean(),
        "next_cursor": fields.String(allow_none=True),
        "next_url": fields.String(allow_none=True),
    })


class HealthSchema(Schema):
    status = fields.String()
    version = fields.String()
    queue = fields.Dict()
    sandbox = fields.Dict()
    executor = fields.Dict(metadata={"description": "mode (local or celery), workers (celery: seen in the last "
                                                    "30 s), and for celery each worker node with its sandbox"})


class AccountSchema(Schema):
    id = fields.String()
    object = fields.String()
    email = fields.String()
    created_at = fields.String()
    credits = fields.Dict(metadata={"description": "balance = available + reserved"})
    limits = fields.Dict(metadata={"description": "each limit, with what is used of it where it is counted"})
    price = fields.Dict()


class KeyCreateSchema(Schema):
    name = fields.String(load_default="", validate=validate.Length(max=100))
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)), load_default=None,
                         validate=validate.Length(min=1),
                         metadata={"description": "default: every scope the calling key has"})


class KeySchema(Schema):
    id = fields.String()
    object = fields.String()
    name = fields.String()
    prefix = fields.String()
    scopes = fields.List(fields.String())
    created_at = fields.String()
    last_used_at = fields.String(allow_none=True)
    secret = fields.String(metadata={"description": "only in the response that created the key"})


class LedgerEntrySchema(Schema):
    id = fields.String()
    object = fields.String()
    created_at = fields.String()
    kind = fields.String(metadata={"enum": ["grant", "reserve", "release", "charge", "refund", "adjustment"]})
    amount = fields.Float()
    balance_after = fields.Float(metadata={"description": "the available balance after this entry"})
    submission_id = fields.String(allow_none=True)
    note = fields.String()


class ContinueSchema(Schema):
    """POST /submissions/{id}/continue: how many more generations, and a few overrides."""

    num_generations = fields.Integer(required=True, validate=validate.Range(min=1),
                                     metadata={"description": "how many more generations to run"})
    name = fields.String(validate=validate.Length(max=200))
    metadata = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=40)),
                           values=fields.String(validate=validate.Length(max=500)))
    limits = fields.Nested(RunLimitsSchema)
    stop_criteria = fields.Raw(allow_none=True)
    mutation_probability = fields.Raw(allow_none=True)
    mutation_percent_genes = fields.Raw()
    mutation_num_genes = fields.Raw(allow_none=True)
    crossover_probability = fields.Raw(allow_none=True)
    keep_elitism = fields.Integer()
    keep_parents = fields.Integer()
    K_tournament = fields.Integer()
    random_mutation_min_val = fields.Float()
    random_mutation_max_val = fields.Float()


class _ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "machine-readable, e.g. validation_error"})
    message = fields.String(required=True)
    details = fields.Dict(metadata={"description": "e.g. fields: {name: [problems]}"})
    request_id = fields.String(allow_none=True)


class ErrorSchema(Schema):
    """The one shape of every error response."""

    error = fields.Nested(_ErrorBodySchema, required=True)
