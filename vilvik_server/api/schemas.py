"""Marshmallow schemas for every request body, query string and response of the API.

The bodies a request may send (also what the website's forms are checked against) are
in domain/inputs.py; they are imported here so every view finds its schemas in one place.
"""
from marshmallow import Schema, fields, validate

from ..domain.inputs import ContinueSchema, KeyCreateSchema, RunLimitsSchema, SubmissionCreateSchema  # noqa: F401
from ..domain.statuses import STATUSES
from ..domain.stop_reason import REASONS as STOP_REASONS
from ..store.pages import DEFAULT_LIMIT, MAX_LIMIT


class ListQuerySchema(Schema):
    limit = fields.Integer(load_default=DEFAULT_LIMIT, validate=validate.Range(1, MAX_LIMIT))
    cursor = fields.String(load_default=None, validate=validate.Length(max=200))


class SubmissionListQuerySchema(ListQuerySchema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    created_after = fields.DateTime(load_default=None, format="iso")
    created_before = fields.DateTime(load_default=None, format="iso")
    name = fields.String(load_default=None, validate=validate.Length(min=1, max=200),
                         metadata={"description": "name prefix"})
    experiment_id = fields.String(load_default=None, validate=validate.Length(max=40),
                                  metadata={"description": "only the runs of this experiment"})


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
    credits_reserved = fields.Float(allow_none=True, metadata={
        "description": "the most this run can cost (its CPU-seconds limit times the price), held until it "
                       "ends; it is charged only the CPU time it uses"})
    credits_estimate = fields.Float(allow_none=True, metadata={
        "description": "a continuation: about what it will cost, from its parent's CPU per generation; "
                       "null when there is nothing to estimate from"})
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
    experiment_id = fields.String(allow_none=True, metadata={"description": "the experiment this run belongs to"})
    problem = fields.String(allow_none=True)
    problem_params = fields.Dict(allow_none=True)
    progress = fields.Dict()
    usage = fields.Dict()
    limits = fields.Dict()
    credits_charged = fields.Float(allow_none=True)
    stop_reason = fields.String(allow_none=True, metadata={
        "enum": list(STOP_REASONS),
        "description": "why the run ended (terminal only): all generations ran, a stop criterion was reached, "
                       "cancelled, a limit, or an error"})
    stop_criterion = fields.String(allow_none=True, metadata={
        "description": "with stop_reason stop_criteria: the criterion that fired, e.g. saturate_15"})
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


class _ErrorBodySchema(Schema):
    code = fields.String(required=True, metadata={"description": "machine-readable, e.g. validation_error"})
    message = fields.String(required=True)
    details = fields.Dict(metadata={"description": "e.g. fields: {name: [problems]}"})
    request_id = fields.String(allow_none=True)


class ErrorSchema(Schema):
    """The one shape of every error response."""

    error = fields.Nested(_ErrorBodySchema, required=True)
