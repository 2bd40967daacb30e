"""/submissions: create, list, fetch, cancel, continue and delete jobs, and follow their progress."""
import json

from flask import current_app, g, jsonify, request
from flask.views import MethodView

from .. import billing, errors, lifecycle, progress_stream, submitting
from ..auth import require_scope
from ..clock import parse_time
from ..domain import represent
from ..domain.statuses import Status
from ..http import public_url
from ..idempotency import idempotent
from ..money import micros_to_credits
from ..store import submissions as submission_store
from . import responses, waiting
from .openapi import Blueprint, operation
from .schemas import (CONTINUE_EXAMPLE, SUBMISSION_EXAMPLE, AcceptedSchema, ContinueSchema, SubmissionCreateSchema,
                      SubmissionGetQuerySchema, SubmissionListQuerySchema, SubmissionSchema, list_schema)

blp = Blueprint("submissions", __name__, description="Submit PyGAD jobs and follow them.")


@blp.route("/submissions")
class Submissions(MethodView):
    @operation("create_submission", errors.InsufficientCredits, errors.QuotaExceeded, errors.ConcurrencyLimit,
               errors.Unavailable, headers=("Location", "Preference-Applied"), parameters=("Prefer",))
    @require_scope("submissions:write")
    @idempotent
    @blp.arguments(SubmissionCreateSchema(), example=SUBMISSION_EXAMPLE)
    @blp.response(202, AcceptedSchema)
    @blp.alt_response(200, schema=SubmissionSchema, description="with `Prefer: wait=N`, when the run ended in time")
    def post(self, data):
        """Submit a job; answers 202 at once with its id and URLs to poll (or waits, with Prefer: wait=N)."""
        services = current_app.extensions["vilvik"]
        row, reserved = submitting.accept(services, g.account_id, data)
        return _accepted(services, row, reserved, generated=True)

    @operation("list_submissions")
    @require_scope("submissions:read")
    @blp.arguments(SubmissionListQuerySchema(), location="query")
    @blp.response(200, list_schema(SubmissionSchema))
    def get(self, query):
        """List your submissions, newest first (cursor-paginated)."""
        conn = current_app.extensions["vilvik"].db.connection()
        page = submission_store.list_page(
            conn, g.account_id, status=query["status"], name=query["name"],
            created_after=parse_time(query["created_after"].isoformat()) if query["created_after"] else None,
            created_before=parse_time(query["created_before"].isoformat()) if query["created_before"] else None,
            experiment_id=query["experiment_id"], cursor=query["cursor"], limit=query["limit"])
        submissions = [represent.submission(row, public_url()) for row in page.rows]
        return responses.as_response(responses.page(page, submissions))


@blp.route("/submissions/<string:submission_id>")
class SubmissionById(MethodView):
    @operation("get_submission", errors.NotFound)
    @require_scope("submissions:read")
    @blp.arguments(SubmissionGetQuerySchema(), location="query")
    @blp.response(200, SubmissionSchema)
    def get(self, query, submission_id):
        """Fetch one submission: status, progress, usage, error; its code with ?include=fitness_func."""
        conn = current_app.extensions["vilvik"].db.connection()
        row = submission_store.get(conn, g.account_id, submission_id)
        if row is None:
            raise errors.NotFound(f"no submission {submission_id}")
        include_fitness_func = query["include"] == "fitness_func"
        return responses.as_response(represent.submission(row, public_url(), include_fitness_func))

    @operation("delete_submission", errors.NotFound, errors.Conflict)
    @require_scope("submissions:write")
    @blp.response(204)
    def delete(self, submission_id):
        """Delete a finished submission with its result and code (the credit ledger keeps its rows)."""
        lifecycle.delete(current_app.extensions["vilvik"], g.account_id, submission_id)
        return "", 204


@blp.route("/submissions/<string:submission_id>/cancel")
class SubmissionCancel(MethodView):
    @operation("cancel_submission", errors.NotFound, errors.Conflict)
    @require_scope("submissions:write")
    @idempotent
    @blp.response(200, SubmissionSchema)
    @blp.alt_response(202, schema=SubmissionSchema, success=True,
                      description="the cancel is recorded but the run has not stopped yet; it will end cancelled")
    def post(self, submission_id):
        """Cancel: a queued run never starts and costs nothing; a running one stops within a second."""
        row = lifecycle.cancel(current_app.extensions["vilvik"], g.account_id, submission_id)
        if row["status"] == Status.RUNNING:
            return represent.submission(row, public_url()), 202
        return represent.submission(row, public_url())


@blp.route("/submissions/<string:submission_id>/continue")
class SubmissionContinue(MethodView):
    @operation("continue_submission", errors.NotFound, errors.Conflict, errors.InsufficientCredits,
               errors.QuotaExceeded, errors.ConcurrencyLimit, errors.Unavailable,
               headers=("Location", "Preference-Applied"), parameters=("Prefer",))
    @require_scope("submissions:write")
    @idempotent
    @blp.arguments(ContinueSchema(), example=CONTINUE_EXAMPLE)
    @blp.response(202, AcceptedSchema)
    @blp.alt_response(200, schema=SubmissionSchema, description="with `Prefer: wait=N`, when the run ended in time")
    def post(self, data, submission_id):
        """Run N more generations from where a finished run stopped (a new submission with parent_id)."""
        services = current_app.extensions["vilvik"]
        row, reserved = lifecycle.continue_(services, g.account_id, submission_id, data)
        return _accepted(services, row, reserved)


@blp.route("/submissions/<string:submission_id>/events")
class SubmissionEvents(MethodView):
    @operation("stream_submission_events", errors.NotFound, errors.Unavailable)
    @require_scope("submissions:read")
    @blp.response(200, {"type": "string"}, content_type="text/event-stream",
                  description="a text/event-stream of `progress` events and one final `status` event")
    def get(self, submission_id):
        """Follow a run live as Server-Sent Events; the stream ends when the run does."""
        return progress_stream.stream(current_app.extensions["vilvik"], g.account_id, submission_id)


def _accepted(services, row, reserved, generated=False):
    body = represent.accepted(row, reserved, public_url(), generated)
    if row["parent_id"]:
        parent = submission_store.get(services.db.connection(), row["account_id"], row["parent_id"])
        estimate = billing.estimate_micros(parent, json.loads(row["params"])["num_generations"],
                                           services.settings, reserved)
        body["credits_estimate"] = micros_to_credits(estimate)
    headers = {"Location": body["status_url"]}
    wait = waiting.preferred_wait(request.headers.get("Prefer"))
    waited, final = waiting.wait_for_end(services, row, wait)
    if waited:
        headers["Preference-Applied"] = f"wait={wait}"
    body, ended = waiting.answer_after(body, final, public_url())
    if ended:
        # A Response passes flask-smorest's 202 schema untouched.
        response = jsonify(body)
        response.headers.update(headers)
        return response
    return body, 202, headers
