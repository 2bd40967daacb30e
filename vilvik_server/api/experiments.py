"""/experiments: one job run over many seeds and a grid of parameters, with statistics.

The response schemas live here rather than in schemas.py, beside the only views that use them; what a
request may ask for is domain/experiment_inputs.py, the fan-out and statistics are experiments/.
"""
import json

from flask import Response, current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from ..auth import require_scope
from ..domain import represent_experiments
from ..domain.experiment_inputs import ExperimentCreateSchema
from ..experiments import control, fanout, reading
from ..http import public_url
from ..idempotency import idempotent
from ..store import experiments as experiment_store
from . import responses
from .schemas import ListQuerySchema, list_schema

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


class ExperimentAcceptedSchema(Schema):
    id = fields.String()
    object = fields.String(metadata={"enum": ["experiment"]})
    status = fields.String(metadata={"enum": ["queued"]})
    runs_total = fields.Integer()
    seeds = fields.List(fields.Integer())
    seed = fields.Integer(allow_none=True, metadata={"description": "with repeats: what the seeds came from"})
    status_url = fields.String()
    runs_url = fields.String()
    created_at = fields.String()
    credits_reserved = fields.Float()


class _Distribution(Schema):
    mean = fields.Raw()
    std = fields.Raw(allow_none=True, metadata={"description": "sample standard deviation (n - 1); null for one run"})
    min = fields.Raw()
    p10 = fields.Raw()
    p50 = fields.Raw()
    p90 = fields.Raw()
    max = fields.Raw()


class _Generations(Schema):
    mean = fields.Float()
    p50 = fields.Float()


class CellSchema(Schema):
    params = fields.Dict(metadata={"description": "this cell's grid values"})
    runs = fields.Integer()
    succeeded = fields.Integer()
    best_fitness = fields.Nested(_Distribution, allow_none=True, metadata={
        "description": "over the succeeded runs' best_solution_fitness (first objective if several)"})
    generations_completed = fields.Nested(_Generations, allow_none=True)
    rank = fields.Integer(allow_none=True, metadata={"description": "1 = highest median best fitness"})
    p_value = fields.Float(allow_none=True, metadata={
        "description": "two-sided Mann-Whitney U test against the top-ranked cell (only with two or more cells; "
                       "null for the top cell)"})


class _Best(Schema):
    submission_id = fields.String()
    params = fields.Dict()
    seed = fields.Integer()
    best_solution = fields.List(fields.Raw())
    best_solution_fitness = fields.Raw()
    submission_url = fields.String()


class _Counts(Schema):
    queued = fields.Integer()
    running = fields.Integer()
    succeeded = fields.Integer()
    failed = fields.Integer()
    cancelled = fields.Integer()


class ExperimentSchema(Schema):
    id = fields.String()
    object = fields.String(metadata={"enum": ["experiment"]})
    name = fields.String()
    status = fields.String(metadata={"enum": ["queued", "running", "finished", "cancelled"]})
    created_at = fields.String()
    cancelled_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True, metadata={"description": "when the last run ended"})
    runs_total = fields.Integer()
    counts = fields.Nested(_Counts, metadata={"description": "runs by status"})
    seeds = fields.List(fields.Integer())
    seed = fields.Integer(allow_none=True)
    grid = fields.Dict()
    base = fields.Dict(metadata={"description": "the base body, without fitness_func"})
    metadata = fields.Dict()
    credits_reserved = fields.Float(metadata={"description": "reserved for every run at accept"})
    credits_charged = fields.Float(allow_none=True, metadata={"description": "charged so far, all runs"})
    cells = fields.List(fields.Nested(CellSchema), allow_none=True, metadata={
        "description": "one per grid cell, from the first ended run on"})
    best = fields.Nested(_Best, allow_none=True, metadata={"description": "the best succeeded run overall"})
    status_url = fields.String()
    runs_url = fields.String()
    history_url = fields.String()


class _Point(Schema):
    generation = fields.Integer()
    mean = fields.Raw()
    p10 = fields.Raw()
    p50 = fields.Raw()
    p90 = fields.Raw()


class _CellHistory(Schema):
    params = fields.Dict()
    runs = fields.Integer(metadata={"description": "succeeded runs in this cell"})
    generations = fields.List(fields.Nested(_Point))


class HistorySchema(Schema):
    object = fields.String(metadata={"enum": ["experiment_history"]})
    experiment_id = fields.String()
    cells = fields.List(fields.Nested(_CellHistory))


@blp.route("/experiments")
class Experiments(MethodView):
    @require_scope("submissions:write")
    @idempotent
    @blp.arguments(ExperimentCreateSchema(), example=EXAMPLE)
    @blp.response(202, ExperimentAcceptedSchema)
    @blp.doc(operationId="create_experiment")
    def post(self, data):
        """Start an experiment: every grid cell x seed is a run; accepted or refused whole."""
        row, _ = fanout.accept(current_app.extensions["vilvik"], g.account_id, data)
        body = represent_experiments.accepted(row, public_url())
        return body, 202, {"Location": body["status_url"]}

    @require_scope("submissions:read")
    @blp.arguments(ExperimentListQuerySchema(), location="query")
    @blp.response(200, list_schema(ExperimentSchema))
    @blp.doc(operationId="list_experiments")
    def get(self, query):
        """List your experiments, newest first (cursor-paginated)."""
        conn = current_app.extensions["vilvik"].db.connection()
        page = experiment_store.list_page(conn, g.account_id, cursor=query["cursor"], limit=query["limit"])
        counts = experiment_store.counts(conn, [row["id"] for row in page.rows])
        items = [reading.experiment(conn, row, public_url(), counts[row["id"]]) for row in page.rows]
        return responses.as_response(responses.page(page, items))


@blp.route("/experiments/<string:experiment_id>")
class ExperimentById(MethodView):
    @require_scope("submissions:read")
    @blp.response(200, ExperimentSchema)
    @blp.doc(operationId="get_experiment")
    def get(self, experiment_id):
        """Fetch an experiment: status, run counts, and (once a run ended) ranked cells and the best run."""
        conn = current_app.extensions["vilvik"].db.connection()
        row = control.get(conn, g.account_id, experiment_id)
        return responses.as_response(reading.experiment(conn, row, public_url()))

    @require_scope("submissions:write")
    @blp.response(204)
    @blp.doc(operationId="delete_experiment")
    def delete(self, experiment_id):
        """Delete a finished or cancelled experiment, its runs and their results (the ledger keeps its rows)."""
        control.delete(current_app.extensions["vilvik"], g.account_id, experiment_id)
        return "", 204


@blp.route("/experiments/<string:experiment_id>/cancel")
class ExperimentCancel(MethodView):
    @require_scope("submissions:write")
    @idempotent
    @blp.response(200, ExperimentSchema)
    @blp.doc(operationId="cancel_experiment")
    def post(self, experiment_id):
        """Cancel: queued runs never start and cost nothing; running ones stop within a second."""
        services = current_app.extensions["vilvik"]
        row = control.cancel(services, g.account_id, experiment_id)
        return responses.as_response(reading.experiment(services.db.connection(), row, public_url()))


@blp.route("/experiments/<string:experiment_id>/history")
class ExperimentHistory(MethodView):
    @require_scope("submissions:read")
    @blp.arguments(HistoryQuerySchema(), location="query")
    @blp.response(200, HistorySchema)
    @blp.alt_response(200, description="?format=csv: one line per cell and generation", content_type="text/csv",
                      success=True)
    @blp.doc(operationId="get_experiment_history")
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
