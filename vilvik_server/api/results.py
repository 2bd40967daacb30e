"""/results: the outcome of succeeded runs."""
import csv
import io
import json

from flask import Response, current_app, g
from flask.views import MethodView

from .. import errors
from ..auth import require_scope
from ..store import results as result_store
from . import represent
from .openapi import Blueprint, operation
from .schemas import ResultGetQuerySchema, ResultListQuerySchema, ResultSchema, list_schema

blp = Blueprint("results", __name__, description="Read the results of finished runs.")
HISTORY_CSV = {"type": "string", "example": "generation,best_fitness\n0,1.25\n1,1.75\n"}


@blp.route("/results")
class Results(MethodView):
    @operation("list_results")
    @require_scope("results:read")
    @blp.arguments(ResultListQuerySchema(), location="query")
    @blp.response(200, list_schema(ResultSchema))
    def get(self, query):
        """List your results, newest first; filter with ?submission_id=."""
        conn = current_app.extensions["vilvik"].db.connection()
        page = result_store.list_page(conn, g.account_id, submission_id=query["submission_id"],
                                      cursor=query["cursor"], limit=query["limit"])
        return represent.as_response(represent.page(page, [represent.result(row) for row in page.rows]))


@blp.route("/results/<string:result_id>")
class ResultById(MethodView):
    @operation("get_result", errors.NotFound)
    @require_scope("results:read")
    @blp.arguments(ResultGetQuerySchema(), location="query")
    @blp.response(200, ResultSchema, description="the result; with ?format=csv its per-generation history as CSV "
                                                 "(also at /results/{result_id}/history.csv)")
    @blp.alt_response(200, schema=HISTORY_CSV, content_type="text/csv", success=True,
                      description="the result; with ?format=csv its per-generation history as CSV (also at "
                                  "/results/{result_id}/history.csv)")
    def get(self, query, result_id):
        """Fetch one result; ?format=csv gives the per-generation history as CSV."""
        body = _result(result_id)
        if query["format"] == "csv":
            return _history_csv(body)
        return represent.as_response(body)


@blp.route("/results/<string:result_id>/history.csv")
class ResultHistoryCsv(MethodView):
    @operation("get_result_csv", errors.NotFound)
    @require_scope("results:read")
    @blp.response(200, HISTORY_CSV, content_type="text/csv",
                  description="one row per generation: generation, best_fitness")
    def get(self, result_id):
        """The per-generation history of a result as CSV (the same as GET /results/{id}?format=csv)."""
        return _history_csv(_result(result_id))


def _result(result_id):
    row = result_store.get(current_app.extensions["vilvik"].db.connection(), g.account_id, result_id)
    if row is None:
        raise errors.NotFound(f"no result {result_id}")
    return represent.result(row)


def _history_csv(body):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["generation", "best_fitness"])
    for generation, fitness in enumerate(body["best_fitness_per_generation"]):
        writer.writerow([generation, json.dumps(fitness) if isinstance(fitness, list) else fitness])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{body["id"]}.csv"'})
