"""What a request may ask for: the bodies of POST /submissions, /continue, /keys and /webhooks.

Both the API and the website's forms load their input through these schemas, so a
field means the same thing and fails the same way wherever it is sent.
"""
import json

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from ..webhooks import ALL, ENDPOINT_EVENTS, SUBMISSION_EVENTS, validate_url
from .ga_params import GAParamsSchema
from .scopes import SCOPES

MISSING = fields.Field.default_error_messages["required"]  # marshmallow's "Missing data ..."

ENTRY_NAME = validate.Regexp(r"^[A-Za-z_][A-Za-z0-9_]{0,99}$", error="must be a Python function name")


class StrictBoolean(fields.Boolean):
    """true or false only: marshmallow's Boolean would also take 1, "yes" or "on"."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def _at_most_16_keys(value):
    if len(value) > 16:
        raise ValidationError("at most 16 keys")


class _Metadata(fields.Dict):
    """A Dict whose problems name the key they concern (`metadata.team`), not marshmallow's
    `{"team": {"value": [...]}}`; a key that is itself wrong is a problem of the whole field."""

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return super()._deserialize(value, attr, data, **kwargs)
        except ValidationError as exc:
            if not isinstance(exc.messages, dict):
                raise
            whole, by_key = [], {}
            for key, problems in exc.messages.items():
                if not isinstance(problems, dict):
                    whole.extend(problems)
                    continue
                whole.extend(f"key {key!r}: {problem[0].lower()}{problem[1:]}" for problem in problems.get("key", ()))
                if problems.get("value"):
                    by_key[key] = problems["value"]
            raise ValidationError(whole or by_key) from None


def metadata_field(**kwargs):
    """`metadata` wherever a body takes it: at most 16 keys of 1-40 characters, string values of at most 500."""
    return _Metadata(keys=fields.String(validate=validate.Length(min=1, max=40)),
                     values=fields.String(validate=validate.Length(max=500)), validate=_at_most_16_keys, **kwargs)


class RunLimitsSchema(Schema):
    """Per-run limits a request may lower (never raise) below the server's ceilings."""

    cpu_seconds = fields.Integer(strict=True, validate=validate.Range(min=1), metadata={"description": "CPU seconds"})
    wall_seconds = fields.Integer(strict=True, validate=validate.Range(min=1),
                                  metadata={"description": "wall-clock seconds"})
    memory_mb = fields.Integer(strict=True, validate=validate.Range(min=16), metadata={"description": "memory in MiB"})


class SubmissionCreateSchema(GAParamsSchema):
    """POST /submissions: PyGAD parameters by PyGAD's names, plus the job's own fields."""

    type = fields.String(load_default="custom", validate=validate.OneOf(["custom", "quick"]), metadata={
        "description": "custom: your own fitness function; quick: a problem from GET /quick/problems"})
    problem = fields.String(load_default=None, metadata={"description": "type quick: the problem's name"})
    problem_params = fields.Dict(load_default=None, metadata={"description": "type quick: the problem's data"})
    name = fields.String(load_default="", validate=validate.Length(max=200))
    metadata = metadata_field(load_default=dict, metadata={"description": "up to 16 string keys with string values"})
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
            messages = exc.messages
            if "problem_params" not in data and isinstance(messages, dict):
                # No parameters at all: say where a working set is rather than only what is missing.
                hint = (f"required: {problem} has no default for it; its example problem_params are "
                        f"{json.dumps(quick.PROBLEMS[problem].example)} (GET /quick/problems)")
                messages = {name: [hint] if problems == [MISSING] else problems
                            for name, problems in messages.items()}
            raise ValidationError({"problem_params": messages}) from None
        return {**ga_params, **data, "fitness_func": source, "fitness_func_entry": entry}

    @validates_schema
    def _problem_only_for_quick(self, data, **_):
        if data.get("type") == "custom" and (data.get("problem") or data.get("problem_params")):
            raise ValidationError({"problem": ["only with type quick"]})


class ContinueSchema(Schema):
    """POST /submissions/{id}/continue: how many more generations, and a few overrides."""

    num_generations = fields.Integer(strict=True, required=True, validate=validate.Range(min=1),
                                     metadata={"description": "how many more generations to run"})
    name = fields.String(validate=validate.Length(max=200))
    metadata = metadata_field()
    limits = fields.Nested(RunLimitsSchema)
    stop_criteria = fields.Raw(allow_none=True)
    mutation_probability = fields.Raw(allow_none=True)
    mutation_percent_genes = fields.Raw()
    mutation_num_genes = fields.Raw(allow_none=True)
    crossover_probability = fields.Raw(allow_none=True)
    keep_elitism = fields.Integer(strict=True)
    keep_parents = fields.Integer(strict=True)
    K_tournament = fields.Integer(strict=True)
    # A number or one per gene: checked with the parent's parameters by GAParamsSchema, as for a new submission.
    random_mutation_min_val = fields.Raw()
    random_mutation_max_val = fields.Raw()


# What a continuation may change of its parent's PyGAD parameters (num_generations is its own count).
PARAM_OVERRIDES = tuple(name for name in ContinueSchema._declared_fields
                        if name in GAParamsSchema._declared_fields and name != "num_generations")


class KeyCreateSchema(Schema):
    name = fields.String(load_default="", validate=validate.Length(max=100))
    scopes = fields.List(fields.String(validate=validate.OneOf(SCOPES)), load_default=None,
                         validate=validate.Length(min=1),
                         metadata={"description": "default: every scope the calling key has"})


def event_filter(**kwargs):
    """An events filter field: event types, or ["*"] for all."""
    return fields.List(fields.String(validate=validate.OneOf((ALL,) + ENDPOINT_EVENTS)),
                       validate=validate.Length(min=1, max=10), metadata={
                           "description": f"event types to send ({', '.join(ENDPOINT_EVENTS)}), or [\"*\"]"
                                          " for all"}, **kwargs)


class EndpointCreateSchema(Schema):
    url = fields.String(required=True, validate=validate_url, metadata={"description": "an http(s) URL"})
    events = event_filter(load_default=lambda: [ALL])
    description = fields.String(load_default="", validate=validate.Length(max=500))
    enabled = StrictBoolean(load_default=True)
