"""/results: the outcome of succeeded runs."""
from flask import Response, current_app, g
from flask.views import MethodView

from .. import errors
from ..auth import require_scope
from ..domain import represent
from ..http import public_url
from ..store import results as result_store
from . import responses
from .openapi import Blueprint, operation
from .schemas import ResultGetQuerySchema, ResultListQuerySchema, ResultSchema, list_schema

blp = Blueprint("results", __name__, description="Read the results of finished runs.")
HISTORY_CSV = {"type": "string", "example": "generation,best_fitness,mean_fitness\n0,1.25,0.5\n1,1.75,0.9\n"}


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
        results = [represent.result(row, public_url()) for row in page.rows]
        return responses.as_response(responses.page(page, results))


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
            return history_csv_response(body)
        return responses.as_response(body)


@blp.route("/results/<string:result_id>/history.csv")
class ResultHistoryCsv(MethodView):
    @operation("get_result_csv", errors.NotFound)
    @require_scope("results:read")
    @blp.response(200, HISTORY_CSV, content_type="text/csv",
                  description="one row per generation: generation, best_fitness, mean_fitness")
    def get(self, result_id):
        """The per-generation history of a result as CSV (the same as GET /results/{id}?format=csv)."""
        return history_csv_response(_result(result_id))


def _result(result_id):
    row = result_store.get(current_app.extensions["vilvik"].db.connection(), g.account_id, result_id)
    if row is None:
        raise errors.NotFound(f"no result {result_id}")
    return represent.result(row, public_url())


def history_csv_response(body):
    """A result's per-generation history as a CSV download."""
    return Response(represent.history_csv(body), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{body["id"]}.csv"'})
