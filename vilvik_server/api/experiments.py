"""/experiments: one job run over many seeds and a grid of parameters, with statistics.

The response schemas live here rather than in schemas.py, beside the only views that use them; what a
request may ask for is domain/experiment_inputs.py, the fan-out and statistics are experiments/.
"""
import json

from flask import Response, current_app, g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from ..auth import require_scope
from ..domain import represent_experiments
from ..domain.experiment_inputs import ExperimentCreateSchema
from ..experiments import control, fanout, reading
from ..http import public_url
from ..idempotency import idempotent
from ..store import experiments as experiment_store
from .. import errors
from . import responses
from .openapi import Blueprint, operation, ref
from .schemas import ListQuerySchema, ResponseSchema, list_schema

blp = Blueprint("experiments", __name__,
                description="Run one job over many seeds and a grid of parameters, and compare the results.")
EXAMPLE = {
    "name": "which mutation rate?",
    "base": {"num_generations": 50, "sol_per_pop": 20, "num_genes": 5, "num_parents_mating": 4,
             "fitness_func": "def fitness_func(ga, sol, idx):\n    return -float(sum(x * x for x in sol))\n"},
    "repeats": 10,
    "seed": 1,
    "grid": {"mutation_probability": [0.05, 0.1, 0.2]},
}


class ExperimentListQuerySchema(ListQuerySchema):
    pass


class HistoryQuerySchema(Schema):
    format = fields.String(load_default="json", validate=validate.OneOf(["json", "csv"]))


def _req(field_class, *args, **kwargs):
    return field_class(*args, required=True, **kwargs)


def _time(nullable=False, **metadata):
    return fields.String(required=True, allow_none=nullable, metadata={"format": "date-time", **metadata})


_STAT = {"openapi": ref("Fitness")}   # a statistic of fitness values: a number, or a non-finite string


class ExperimentAcceptedSchema(ResponseSchema):
    id = _req(fields.String)
    object = _req(fields.String, metadata={"example": "experiment"})
    status = _req(fields.String, metadata={"openapi": ref("ExperimentStatus")})
    runs_total = _req(fields.Integer)
    seeds = _req(fields.List, fields.Integer())
    seed = _req(fields.Integer, allow_none=True, metadata={"description": "with repeats: what the seeds came from"})
    status_url = _req(fields.String, metadata={"format": "uri"})
    runs_url = _req(fields.String, metadata={"format": "uri"})
    created_at = _time()
    credits_reserved = _req(fields.Float)


class FitnessDistributionSchema(ResponseSchema):
    mean = _req(fields.Raw, metadata=_STAT)
    std = _req(fields.Raw, allow_none=True, metadata={
        **_STAT, "description": "sample standard deviation (n - 1); null for one run"})
    min = _req(fields.Raw, metadata=_STAT)
    p10 = _req(fields.Raw, metadata=_STAT)
    p50 = _req(fields.Raw, metadata=_STAT)
    p90 = _req(fields.Raw, metadata=_STAT)
    max = _req(fields.Raw, metadata=_STAT)


class GenerationStatsSchema(ResponseSchema):
    mean = _req(fields.Float)
    p50 = _req(fields.Float)


class CellSchema(ResponseSchema):
    params = _req(fields.Dict, metadata={"description": "this cell's grid values"})
    runs = _req(fields.Integer)
    succeeded = _req(fields.Integer)
    best_fitness = _req(fields.Nested, FitnessDistributionSchema, allow_none=True, metadata={
        "description": "over the succeeded runs' best_solution_fitness (first objective if several)"})
    generations_completed = _req(fields.Nested, GenerationStatsSchema, allow_none=True)
    rank = _req(fields.Integer, allow_none=True, metadata={"description": "1 = highest median best fitness"})
    p_value = fields.Float(allow_none=True, metadata={
        "description": "two-sided Mann-Whitney U test against the top-ranked cell (only with two or more cells; "
                       "null for the top cell)"})


class BestRunSchema(ResponseSchema):
    submission_id = _req(fields.String)
    params = _req(fields.Dict)
    seed = _req(fields.Integer)
    best_solution = _req(fields.List, fields.Float(), allow_none=True)
    best_solution_fitness = _req(fields.Raw, allow_none=True, metadata=_STAT)
    submission_url = _req(fields.String, metadata={"format": "uri"})


class RunCountsSchema(ResponseSchema):
    queued = _req(fields.Integer)
    running = _req(fields.Integer)
    succeeded = _req(fields.Integer)
    failed = _req(fields.Integer)
    cancelled = _req(fields.Integer)


class ExperimentSchema(ResponseSchema):
    id = _req(fields.String)
    object = _req(fields.String, metadata={"example": "experiment"})
    name = _req(fields.String)
    status = _req(fields.String, metadata={"openapi": ref("ExperimentStatus")})
    created_at = _time()
    cancelled_at = _time(nullable=True)
    finished_at = _time(nullable=True, description="when the last run ended")
    runs_total = _req(fields.Integer)
    counts = _req(fields.Nested, RunCountsSchema, metadata={"description": "runs by status"})
    seeds = _req(fields.List, fields.Integer())
    seed = _req(fields.Integer, allow_none=True)
    grid = _req(fields.Dict)
    base = _req(fields.Dict, metadata={"description": "the base body, without fitness_func"})
    metadata = _req(fields.Dict)
    credits_reserved = _req(fields.Float, metadata={"description": "reserved for every run at accept"})
    credits_charged = _req(fields.Float, allow_none=True, metadata={"description": "charged so far, all runs"})
    cells = _req(fields.List, fields.Nested(CellSchema), allow_none=True, metadata={
        "description": "one per grid cell, from the first ended run on"})
    best = _req(fields.Nested, BestRunSchema, allow_none=True, metadata={
        "description": "the best succeeded run overall"})
    status_url = _req(fields.String, metadata={"format": "uri"})
    runs_url = _req(fields.String, metadata={"format": "uri"})
    history_url = _req(fields.String, metadata={"format": "uri"})


class HistoryPointSchema(ResponseSchema):
    generation = _req(fields.Integer)
    mean = _req(fields.Raw, metadata=_STAT)
    p10 = _req(fields.Raw, metadata=_STAT)
    p50 = _req(fields.Raw, metadata=_STAT)
    p90 = _req(fields.Raw, metadata=_STAT)


class CellHistorySchema(ResponseSchema):
    params = _req(fields.Dict)
    runs = _req(fields.Integer, metadata={"description": "succeeded runs in this cell"})
    generations = _req(fields.List, fields.Nested(HistoryPointSchema))


class ExperimentHistorySchema(ResponseSchema):
    object = _req(fields.String, metadata={"example": "experiment_history"})
    experiment_id = _req(fields.String)
    cells = _req(fields.List, fields.Nested(CellHistorySchema))


@blp.route("/experiments")
class Experiments(MethodView):
    @operation("create_experiment", errors.InsufficientCredits, errors.QuotaExceeded, errors.ConcurrencyLimit,
               errors.Unavailable, headers=("Location",))
    @require_scope("submissions:write")
    @idempotent
    @blp.arguments(ExperimentCreateSchema(), example=EXAMPLE)
    @blp.response(202, ExperimentAcceptedSchema)
    def post(self, data):
        """Start an experiment: every grid cell x seed is a run; accepted or refused whole."""
        row, _ = fanout.accept(current_app.extensions["vilvik"], g.account_id, data)
        body = represent_experiments.accepted(row, public_url())
        return body, 202, {"Location": body["status_url"]}

    @operation("list_experiments")
    @require_scope("submissions:read")
    @blp.arguments(ExperimentListQuerySchema(), location="query")
    @blp.response(200, list_schema(ExperimentSchema))
    def get(self, query):
        """List your experiments, newest first (cursor-paginated)."""
        conn = current_app.extensions["vilvik"].db.connection()
        page = experiment_store.list_page(conn, g.account_id, cursor=query["cursor"], limit=query["limit"])
        counts = experiment_store.counts(conn, [row["id"] for row in page.rows])
        items = [reading.experiment(conn, row, public_url(), counts[row["id"]]) for row in page.rows]
        return responses.as_response(responses.page(page, items))


@blp.route("/experiments/<string:experiment_id>")
class ExperimentById(MethodView):
    @operation("get_experiment", errors.NotFound)
    @require_scope("submissions:read")
    @blp.response(200, ExperimentSchema)
    def get(self, experiment_id):
        """Fetch an experiment: status, run counts, and (once a run ended) ranked cells and the best run."""
        conn = current_app.extensions["vilvik"].db.connection()
        row = control.get(conn, g.account_id, experiment_id)
        return responses.as_response(reading.experiment(conn, row, public_url()))

    @operation("delete_experiment", errors.NotFound, errors.Conflict)
    @require_scope("submissions:write")
    @blp.response(204)
    def delete(self, experiment_id):
        """Delete a finished or cancelled experiment, its runs and their results (the ledger keeps its rows)."""
        control.delete(current_app.extensions["vilvik"], g.account_id, experiment_id)
        return "", 204


@blp.route("/experiments/<string:experiment_id>/cancel")
class ExperimentCancel(MethodView):
    @operation("cancel_experiment", errors.NotFound, errors.Conflict)
    @require_scope("submissions:write")
    @idempotent
    @blp.response(200, ExperimentSchema)
    def post(self, experiment_id):
        """Cancel: queued runs never start and cost nothing; running ones stop within a second."""
        services = current_app.extensions["vilvik"]
        row = control.cancel(services, g.account_id, experiment_id)
        return responses.as_response(reading.experiment(services.db.connection(), row, public_url()))


@blp.route("/experiments/<string:experiment_id>/history")
class ExperimentHistory(MethodView):
    @operation("get_experiment_history", errors.NotFound)
    @require_scope("submissions:read")
    @blp.arguments(HistoryQuerySchema(), location="query")
    @blp.response(200, ExperimentHistorySchema)
    @blp.alt_response(200, schema={"type": "string"}, description="?format=csv: one line per cell and generation",
                      content_type="text/csv", success=True)
    def get(self, query, experiment_id):
        """Per cell, per generation: mean, p10, p50, p90 of the succeeded runs' best fitness so far."""
        conn = current_app.extensions["vilvik"].db.connection()
        row = control.get(conn, g.account_id, experiment_id)
        body = reading.history(conn, row)
        if query["format"] == "csv":
            text = represent_experiments.history_csv(body, list(json.loads(row["grid"])))
            return Response(text, mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{row["id"]}-history.csv"'})
        return responses.as_response(body)
