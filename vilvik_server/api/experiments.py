"""/experiments: one job run over many seeds and a grid of parameters, with statistics.

The schemas of these bodies live here rather than in schemas.py, beside the only views that use them.
"""
import json

from flask import Response, current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates

from ..auth import require_scope
from ..experiments import control, fanout
from ..experiments import represent as experiment_represent
from ..idempotency import idempotent
from ..ids import micros_to_credits, rfc3339
from ..store import experiments as experiment_store
from . import represent
from .schemas import ListQuerySchema, SubmissionCreateSchema, list_schema

blp = Blueprint("experiments", __name__,
                description="Run one job over many seeds and a grid of parameters, and compare the results.")
_SEED = validate.Range(0, fanout.MAX_SEED)
EXAMPLE = {
    "name": "which mutation rate?",
    "base": {"num_generations": 50, "sol_per_pop": 20, "num_genes": 5, "num_parents_mating": 4,
             "fitness_func": "def fitness_func(ga, sol, idx):\n    return -float(sum(x * x for x in sol))\n"},
    "repeats": 10,
    "seed": 1,
    "grid": {"mutation_probability": [0.05, 0.1, 0.2]},
}


class ExperimentCreateSchema(Schema):
    """POST /experiments: a base job, the seeds (or how many), and an optional grid of PyGAD parameters."""

    name = fields.String(load_default="", validate=validate.Length(max=200))
    metadata = fields.Dict(keys=fields.String(validate=validate.Length(min=1, max=40)),
                           values=fields.String(validate=validate.Length(max=500)), load_default=dict,
                           metadata={"description": "up to 16 string keys with string values"})
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

    @validates("metadata")
    def _at_most_16_keys(self, value, **_):
        if len(value) > 16:
            raise ValidationError("at most 16 keys")


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


def _load_submission(body):
    return SubmissionCreateSchema().load(body)


@blp.route("/experiments")
class Experiments(MethodView):
    @require_scope("submissions:write")
    @idempotent
    @blp.arguments(ExperimentCreateSchema(), example=EXAMPLE)
    @blp.response(202, ExperimentAcceptedSchema)
    @blp.doc(operationId="create_experiment")
    def post(self, data):
        """Start an experiment: every grid cell x seed is a run; accepted or refused whole."""
        services = current_app.extensions["vilvik"]
        row, reserved = fanout.accept(services, g.account_id, data, _load_submission)
        public_url = services.settings["PUBLIC_URL"]
        body = {"id": row["id"], "object": "experiment", "status": "queued", "runs_total": row["runs_total"],
                "seeds": json.loads(row["seeds"]), "seed": row["seed"],
                "status_url": experiment_represent.url(public_url, f"/experiments/{row['id']}"),
                "runs_url": experiment_represent.url(public_url, f"/submissions?experiment_id={row['id']}"),
                "created_at": rfc3339(row["created_at"]), "credits_reserved": micros_to_credits(reserved)}
        return body, 202, {"Location": body["status_url"]}

    @require_scope("submissions:read")
    @blp.arguments(ExperimentListQuerySchema(), location="query")
    @blp.response(200, list_schema(ExperimentSchema))
    @blp.doc(operationId="list_experiments")
    def get(self, query):
        """List your experiments, newest first (cursor-paginated)."""
        services = current_app.extensions["vilvik"]
        conn = services.db.connection()
        page = experiment_store.list_page(conn, g.account_id, cursor=query["cursor"], limit=query["limit"])
        counts = experiment_store.counts(conn, [row["id"] for row in page.rows])
        items = [experiment_represent.experiment(conn, row, services.settings["PUBLIC_URL"], counts[row["id"]])
                 for row in page.rows]
        return represent.as_response(represent.page(page, items))


@blp.route("/experiments/<string:experiment_id>")
class ExperimentById(MethodView):
    @require_scope("submissions:read")
    @blp.response(200, ExperimentSchema)
    @blp.doc(operationId="get_experiment")
    def get(self, experiment_id):
        """Fetch an experiment: status, run counts, and (once a run ended) ranked cells and the best run."""
        services = current_app.extensions["vilvik"]
        conn = services.db.connection()
        row = control.get(conn, g.account_id, experiment_id)
        return represent.as_response(experiment_represent.experiment(conn, row, services.settings["PUBLIC_URL"]))

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
        return represent.as_response(experiment_represent.experiment(
            services.db.connection(), row, services.settings["PUBLIC_URL"]))


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
        services = current_app.extensions["vilvik"]
        conn = services.db.connection()
        row = control.get(conn, g.account_id, experiment_id)
        body = experiment_represent.history(conn, row)
        if query["format"] == "csv":
            text = experiment_represent.history_csv(body, list(json.loads(row["grid"])))
            return Response(text, mimetype="text/csv",
                            headers={"Content-Disposition": f'attachment; filename="{row["id"]}-history.csv"'})
        return represent.as_response(body)
