"""/submissions: create, list and fetch jobs."""
from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import errors, submitting
from ..auth import require_scope
from ..ids import micros_to_credits, parse_time, rfc3339
from ..store import submissions as submission_store
from . import represent
from .schemas import (AcceptedSchema, SubmissionCreateSchema, SubmissionGetQuerySchema,
                      SubmissionListQuerySchema, SubmissionSchema, list_schema)

blp = Blueprint("submissions", __name__, description="Submit PyGAD jobs and follow them.")


@blp.route("/submissions")
class Submissions(MethodView):
    @require_scope("submissions:write")
    @blp.arguments(SubmissionCreateSchema)
    @blp.response(202, AcceptedSchema)
    def post(self, data):
        """Submit a job; answers 202 at once with its id and URLs to poll."""
        services = current_app.extensions["vilvik"]
        row, reserved = submitting.accept(services, g.account_id, data)
        body = {"id": row["id"], "status": row["status"], "status_url": represent.status_url(row["id"]),
                "result_url": represent.result_url(row["id"]), "created_at": rfc3339(row["created_at"]),
                "credits_reserved": micros_to_credits(reserved)}
        return body, 202, {"Location": body["status_url"]}

    @require_scope("submissions:read")
    @blp.arguments(SubmissionListQuerySchema, location="query")
    @blp.response(200, list_schema(SubmissionSchema))
    def get(self, query):
        """List your submissions, newest first (cursor-paginated)."""
        conn = current_app.extensions["vilvik"].db.connection()
        page = submission_store.list_page(
            conn, g.account_id, status=query["status"], name=query["name"],
            created_after=parse_time(query["created_after"].isoformat()) if query["created_after"] else None,
            created_before=parse_time(query["created_before"].isoformat()) if query["created_before"] else None,
            cursor=query["cursor"], limit=query["limit"])
        return represent.page(page, [represent.submission(row) for row in page.rows])


@blp.route("/submissions/<string:submission_id>")
class SubmissionById(MethodView):
    @require_scope("submissions:read")
    @blp.arguments(SubmissionGetQuerySchema, location="query")
    @blp.response(200, SubmissionSchema)
    def get(self, query, submission_id):
        """Fetch one submission: status, progress, usage, error; its code with ?include=fitness_func."""
        conn = current_app.extensions["vilvik"].db.connection()
        row = submission_store.get(conn, g.account_id, submission_id)
        if row is None:
            raise errors.NotFound(f"no submission {submission_id}")
        return represent.submission(row, include_fitness_func=query["include"] == "fitness_func")
