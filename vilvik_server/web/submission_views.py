"""Submissions: the list, the new-submission form (quick and custom), one submission's page and its actions."""
import json

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from .. import billing, errors, lifecycle, progress_stream, submitting
from ..domain import replay, represent
from ..domain.inputs import ContinueSchema, SubmissionCreateSchema
from ..domain.statuses import STATUSES
from ..domain.words import plural
from ..http import public_url
from ..money import micros_to_credits
from ..store import results as result_store
from ..store import submissions as submission_store
from . import chart, forms
from .session import login_required

blp = Blueprint("web_submissions", __name__, template_folder="templates")
SUBMISSION_CREATE = SubmissionCreateSchema()
CONTINUE = ContinueSchema()
PAGE_ROWS = 25
REFUSED = object()
EXAMPLE_FITNESS = '''def fitness_func(ga_instance, solution, solution_idx):
    # Higher is better: here, the closer the genes' sum is to 10, the fitter.
    return -abs(sum(solution) - 10)
'''


@blp.route("/submissions")
@login_required
def index():
    """The account's submissions, newest first, filtered by status."""
    status = request.args.get("status") or None
    if status not in (None, *STATUSES):
        raise errors.ValidationFailed.for_fields({"status": [f"must be one of: {', '.join(STATUSES)}"]})
    conn = current_app.extensions["vilvik"].db.connection()
    page = submission_store.list_page(conn, g.account_id, status=status, cursor=request.args.get("cursor"),
                                      limit=PAGE_ROWS)
    submissions = [represent.submission(r, public_url()) for r in page.rows]
    return render_template("web/submissions.html", submissions=submissions,
                           page=page, status=status, statuses=STATUSES)


@blp.route("/submissions/new", methods=["GET", "POST"])
@login_required
def new():
    """Two tabs: a quick problem from the catalogue, or PyGAD parameters and your own fitness function."""
    catalogue = _catalogue()
    tab = request.values.get("type") or ("quick" if catalogue else "custom")
    if tab not in ("quick", "custom") or (tab == "quick" and not catalogue):
        tab = "custom"
    source = _source(request.args.get("from")) if request.method == "GET" else None
    if source is not None:  # edit and resubmit: the form holds that run's job
        body = replay.create_body(source)
        tab = "quick" if body.get("type") == "quick" and catalogue else "custom"
        if tab == "custom" and body.get("type") == "quick":
            body = dict(body, fitness_func=source.get("fitness_func", ""))
    problem = _problem(catalogue, source["problem"] if source and tab == "quick" else request.values.get("problem")) \
        if tab == "quick" else None
    form = request.form if request.method == "POST" else (forms.form_from(body) if source is not None else {})
    context = {"tab": tab, "catalogue": catalogue, "problem": problem, "form": form, "errors": {},
               "message": None, "param_groups": forms.param_fields(), "example_fitness": EXAMPLE_FITNESS,
               "limit_names": forms.LIMITS, "quick_fields": forms.quick_fields, "source": source,
               "price": current_app.extensions["vilvik"].settings["CREDITS_PER_CPU_SECOND"]}
    if request.method == "GET":
        return render_template("web/new_submission.html", **context)
    if tab == "quick" and problem is None:
        context.update(errors={"problem": ["choose a problem"]}, message="Choose a problem.")
        return render_template("web/new_submission.html", **context), 422
    body = forms.quick_body(form, problem) if tab == "quick" else forms.custom_body(form)
    services = current_app.extensions["vilvik"]
    try:
        row, reserved = submitting.accept(services, g.account_id, SUBMISSION_CREATE.load(body))
    except ValidationError as exc:
        field_errors, message = forms.field_errors(exc.messages)
        context.update(errors=field_errors, message=message)
        return render_template("web/new_submission.html", **context), 422
    except errors.VilvikError as exc:
        if exc.status >= 500 and not isinstance(exc, errors.Unavailable):
            raise
        fields = (exc.details or {}).get("fields") if isinstance(exc.details, dict) else None
        context.update(errors=forms.field_errors(fields)[0] if fields else {}, message=exc.message)
        return render_template("web/new_submission.html", **context), exc.status
    flash(f"Submitted: {row['id']} is queued. It may cost up to {plural(_credits(reserved), 'credit')} (held until it ends); "
          "it is charged only the CPU time it uses.")
    return redirect(url_for("web_submissions.show", submission_id=row["id"]))


@blp.route("/submissions/<submission_id>")
@login_required
def show(submission_id):
    """Status, live progress, the chart, the result, the parameters and the code."""
    details = _details(submission_id)
    return render_template("web/submission.html", again=_again(details["s"]), **details)


@blp.route("/submissions/<submission_id>/panel")
@login_required
def panel(submission_id):
    """The live part of the submission page, for the page's script to swap in when the run ends."""
    return render_template("web/_submission_panel.html", **_details(submission_id))


@blp.route("/submissions/<submission_id>/events")
@login_required
def events(submission_id):
    """The run's progress as Server-Sent Events (the API's stream, with the page's session)."""
    return progress_stream.stream(current_app.extensions["vilvik"], g.account_id, submission_id)


@blp.route("/submissions/<submission_id>/cancel", methods=["POST"])
@login_required
def cancel(submission_id):
    row = _act(lifecycle.cancel, submission_id)
    if row is not REFUSED:
        flash(f"The submission is {row['status']}.")
    return _back(submission_id)


@blp.route("/submissions/<submission_id>/continue", methods=["POST"])
@login_required
def continue_(submission_id):
    try:
        data = CONTINUE.load({"num_generations": forms.integer(request.form.get("num_generations", "").strip())})
    except ValidationError as exc:
        flash("Not continued: " + forms.field_errors(exc.messages)[1], "error")
        return _back(submission_id)
    accepted = _act(lambda services, account_id, sid: lifecycle.continue_(services, account_id, sid, data),
                    submission_id)
    if accepted is REFUSED:
        return _back(submission_id)
    row, reserved = accepted
    flash(f"Continuing with {plural(data['num_generations'], 'more generation')} as {row['id']}; "
          f"it may cost up to {plural(_credits(reserved), 'credit')}, held until it ends.")
    return redirect(url_for("web_submissions.show", submission_id=row["id"]))


@blp.route("/submissions/<submission_id>/delete", methods=["POST"])
@login_required
def delete(submission_id):
    if _act(lifecycle.delete, submission_id) is REFUSED:
        return _back(submission_id)
    flash(f"Submission {submission_id} is deleted, with its result and code.")
    return redirect(url_for("web_submissions.index"))


@blp.route("/submissions/<submission_id>/result.json")
@login_required
def result_json(submission_id):
    result = _result(submission_id)
    return Response(json.dumps(result, indent=2), mimetype="application/json",
                    headers={"Content-Disposition": f'attachment; filename="{submission_id}-result.json"'})


@blp.route("/submissions/<submission_id>/result.csv")
@login_required
def result_csv(submission_id):
    return Response(represent.history_csv(_result(submission_id)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{submission_id}-history.csv"'})


def _details(submission_id):
    conn = current_app.extensions["vilvik"].db.connection()
    row = submission_store.get(conn, g.account_id, submission_id)
    if row is None:
        raise errors.NotFound(f"no submission {submission_id}")
    submission = represent.submission(row, public_url(), include_fitness_func=True)
    saved = result_store.get_by_submission(conn, submission_id)
    result = represent.result(saved, public_url()) if saved is not None else None
    series = chart.history_series(result) if result else []
    terminal = row["status"] in submission_store.TERMINAL
    return {"s": submission, "result": result, "series": series,
            "chart": chart.render(series) if result else None,
            "legend": chart.legend(series), "can_continue": bool(saved and saved["resume_state"]),
            "terminal": terminal,
            "reserved": micros_to_credits(row["reserved_micros"]),
            "estimate": None if terminal or not row["parent_id"] else micros_to_credits(billing.estimate_micros(
                submission_store.get(conn, g.account_id, row["parent_id"]), submission["params"]["num_generations"],
                current_app.extensions["vilvik"].settings, row["reserved_micros"])),
            "live_chart": None if result or terminal else chart.render(
                [("best fitness", "best", []), ("mean fitness", "mean", [])], chart_id="live-chart")}


def _source(submission_id):
    """The account's submission to pre-fill the form from (with its fitness source), or None."""
    if not submission_id:
        return None
    row = submission_store.get(current_app.extensions["vilvik"].db.connection(), g.account_id, submission_id)
    return represent.submission(row, public_url(), include_fitness_func=True) if row is not None else None


def _again(submission):
    """The copy-as-curl and copy-as-Python texts that run this submission again."""
    path, body = replay.request_for(submission)
    api = public_url() + "/api/v1"
    return {"curl": replay.as_curl(api, path, body), "python": replay.as_python(api, path, body)}


def _result(submission_id):
    conn = current_app.extensions["vilvik"].db.connection()
    if submission_store.get(conn, g.account_id, submission_id) is None:
        raise errors.NotFound(f"no submission {submission_id}")
    saved = result_store.get_by_submission(conn, submission_id)
    if saved is None:
        raise errors.NotFound(f"submission {submission_id} has no result")
    return represent.result(saved, public_url())


def _act(action, submission_id):
    """Run a lifecycle action; a refusal (409, 402, 429 ...) is flashed and REFUSED returned; 404 stays 404."""
    try:
        return action(current_app.extensions["vilvik"], g.account_id, submission_id)
    except errors.NotFound:
        raise
    except errors.VilvikError as exc:
        if exc.status >= 500 and not isinstance(exc, errors.Unavailable):
            raise
        flash(exc.message, "error")
        return REFUSED


def _back(submission_id):
    return redirect(url_for("web_submissions.show", submission_id=submission_id))


def _catalogue():
    """The quick builder's problems; none while the catalogue is not installed."""
    try:
        from .. import quick
    except ImportError:
        return []
    return quick.catalogue()


def _problem(catalogue, name):
    if not name and len(catalogue) == 1:
        return catalogue[0]
    return next((problem for problem in catalogue if problem["name"] == name), None)


def _credits(micros):
    return f"{micros_to_credits(micros):g}"
