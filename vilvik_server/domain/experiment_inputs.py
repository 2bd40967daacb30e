"""What POST /experiments may ask for (the API's body, the website's form)."""
from marshmallow import Schema, fields, validate

from .inputs import metadata_field

MAX_SEED = 2**32 - 1  # seeds are PyGAD random_seed values
_SEED = validate.Range(0, MAX_SEED)


class ExperimentCreateSchema(Schema):
    """POST /experiments: a base job, the seeds (or how many), and an optional grid of PyGAD parameters."""

    name = fields.String(load_default="", validate=validate.Length(max=200))
    metadata = metadata_field(load_default=dict, metadata={"description": "up to 16 string keys with string values"})
    base = fields.Dict(required=True, metadata={
        "description": "any body of POST /submissions (custom or quick), without random_seed: what every run runs"})
    seeds = fields.List(fields.Integer(strict=True, validate=_SEED), load_default=None,
                        validate=validate.Length(min=1, max=100_000), metadata={
                            "description": "the seeds every grid cell runs with (distinct); or give repeats"})
    repeats = fields.Integer(strict=True, load_default=None, validate=validate.Range(1, 100_000), metadata={
        "description": "runs per grid cell, with seeds derived from seed; or give seeds"})
    seed = fields.Integer(strict=True, load_default=None, validate=_SEED, metadata={
        "description": "with repeats: the seed the runs' seeds are derived from (default: a random one, "
                       "shown in the response)"})
    grid = fields.Dict(keys=fields.String(), values=fields.List(fields.Raw(allow_none=True)), load_default=dict,
                       metadata={"description": "PyGAD parameter -> list of values; the runs are every "
                                                "combination (grid cell) times every seed"})
