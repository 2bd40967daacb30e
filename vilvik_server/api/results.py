"""/results: the outcome of succeeded runs."""
import csv
import io
import json

from flask import Response, current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import errors
from ..auth import require_scope
from ..store import results as result_store
from . import represent
from .schemas import ResultGetQuerySchema, ResultListQuerySchema, ResultSchema, list_schema

blp = Blueprint("results", __name__, description="Read the results of finished runs.")


@blp.route("/results")
class Results(MethodView):
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
    @require_scope("results:read")
    @blp.arguments(ResultGetQuerySchema(), location="query")
    @blp.response(200, ResultSchema)
    @blp.alt_response(200, description="?format=csv: the per-generation history as CSV",
                      content_type="text/csv", success=True)
    def get(self, query, result_id):
        """Fetch one result; ?format=csv gives the per-generation history as CSV."""
        conn = current_app.extensions["vilvik"].db.connection()
        row = result_store.get(conn, g.account_id, result_id)
        if row is None:
            raise errors.NotFound(f"no result {result_id}")
        body = represent.result(row)
        if query["format"] == "csv":
            return _history_csv(body)
        return represent.as_response(body)


def _history_csv(body):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["generation", "best_fitness"])
    for generation, fitness in enumerate(body["best_fitness_per_generation"]):
        writer.writerow([generation, json.dumps(fitness) if isinstance(fitness, list) else fitness])
    return Response(out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{body["id"]}.csv"'})
