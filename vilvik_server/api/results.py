"""/results: the outcome of succeeded runs."""
from flask import Response, current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import errors
from ..auth import require_scope
from ..domain import represent
from ..http import public_url
from ..store import results as result_store
from . import responses
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
        results = [represent.result(row, public_url()) for row in page.rows]
        return responses.as_response(responses.page(page, results))


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
        body = represent.result(row, public_url())
        if query["format"] == "csv":
            return history_csv_response(body)
        return responses.as_response(body)


def history_csv_response(body):
    """A result's per-generation history as a CSV download."""
    return Response(represent.history_csv(body), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{body["id"]}.csv"'})
