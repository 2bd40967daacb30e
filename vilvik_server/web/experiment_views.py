"""Experiments on the website: start one from any submission, follow it, read its ranked cells and bands."""
import json

from flask import Blueprint, Response, current_app, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from .. import errors
from ..domain import represent_experiments
from ..domain.experiment_inputs import ExperimentCreateSchema
from ..domain.words import plural
from ..experiments import control, fanout, reading
from ..http import public_url
from ..money import micros_to_credits
from ..store import experiments as experiment_store
from ..store import submissions as submission_store
from . import band_chart, forms
from .session import login_required

blp = Blueprint("web_experiments", __name__, template_folder="templates")
EXPERIMENT_CREATE = ExperimentCreateSchema()
GRID_ROWS = 3
PAGE_ROWS = 25
DEFAULT_REPEATS = 10


@blp.route("/experiments")
@login_required
def index():
    """The account's experiments, newest first."""
    conn = current_app.extensions["vilvik"].db.connection()
    page = experiment_store.list_page(conn, g.account_id, cursor=request.args.get("cursor"), limit=PAGE_ROWS)
    counts = experiment_store.counts(conn, [row["id"] for row in page.rows])
    experiments = [represent_experiments.experiment(row, counts[row["id"]], public_url()) for row in page.rows]
    return render_template("web/experiments.html", experiments=experiments, page=page)


@blp.route("/submissions/<submission_id>/repeat", methods=["GET", "POST"])
@login_required
def new(submission_id):
    """Repeat a submission's job N times, optionally over a grid of PyGAD parameters."""
    services = current_app.extensions["vilvik"]
    source = submission_store.get(services.db.connection(), g.account_id, submission_id)
    if source is None:
        raise errors.NotFound(f"no submission {submission_id}")
    form = request.form if request.method == "POST" else {
        "name": f"{source['name'] or submission_id} repeated", "repeats": str(DEFAULT_REPEATS)}
    context = {"source": source, "form": form, "message": None, "problems": [], "grid_rows": GRID_ROWS,
               "grid_params": fanout.GRID_PARAMS}
    if request.method == "GET":
        return render_template("web/new_experiment.html", **context)
    try:
        body = _body(form, fanout.base_of(source))
        row, reserved = fanout.accept(services, g.account_id, EXPERIMENT_CREATE.load(body))
    except ValidationError as exc:
        context.update(message="The experiment was not started: a field needs attention.",
                       problems=_problems(exc.messages))
        return render_template("web/new_experiment.html", **context), 422
    except errors.VilvikError as exc:
        if exc.status >= 500 and not isinstance(exc, errors.Unavailable):
            raise
        fields = (exc.details or {}).get("fields") if isinstance(exc.details, dict) else None
        context.update(message=exc.message, problems=_problems(fields) if fields else [])
        return render_template("web/new_experiment.html", **context), exc.status
    flash(f"Started: experiment {row['id']} queued {plural(row['runs_total'], 'run')}, which may cost up to "
          f"{plural(micros_to_credits(reserved), 'credit', spec='g')} in all (held until each run ends; each is "
          f"charged only the CPU time it uses).")
    return redirect(url_for("web_experiments.show", experiment_id=row["id"]))


@blp.route("/experiments/<experiment_id>")
@login_required
def show(experiment_id):
    """Status, the ranked cells with p-values, a band chart per cell, and every run."""
    conn = current_app.extensions["vilvik"].db.connection()
    row = control.get(conn, g.account_id, experiment_id)
    experiment = reading.experiment(conn, row, public_url())
    history = reading.history(conn, row)["cells"] if experiment["cells"] else []
    low, high = band_chart.domain(history) if history else (None, None)
    charts = {index: band_chart.render(cell, f"band-{index}", low, high)
              for index, cell in enumerate(history) if cell["generations"]}
    cells = list(enumerate(experiment["cells"] or []))
    ranked = sorted(cells, key=lambda item: (item[1]["rank"] is None, item[1]["rank"] or 0, item[0]))
    params = json.loads(row["cells"])
    runs = [{"id": run["submission_id"], "params": params[run["cell"]], "seed": run["seed"], "status": run["status"],
             "best_fitness": run["best_fitness"]} for run in experiment_store.runs(conn, experiment_id)]
    ended = sum(experiment["counts"][name] for name in ("succeeded", "failed", "cancelled"))
    return render_template("web/experiment.html", e=experiment, ranked=ranked, charts=charts, runs=runs,
                           ended=ended, grid_names=list(experiment["grid"]),
                           done=experiment["status"] in ("finished", "cancelled"))


@blp.route("/experiments/<experiment_id>/history.csv")
@login_required
def history_csv(experiment_id):
    conn = current_app.extensions["vilvik"].db.connection()
    row = control.get(conn, g.account_id, experiment_id)
    text = represent_experiments.history_csv(reading.history(conn, row), list(json.loads(row["grid"])))
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{experiment_id}-history.csv"'})


@blp.route("/experiments/<experiment_id>/cancel", methods=["POST"])
@login_required
def cancel(experiment_id):
    try:
        row = control.cancel(current_app.extensions["vilvik"], g.account_id, experiment_id)
        flash(f"Experiment {row['id']} is cancelled: its queued runs will not start.")
    except errors.NotFound:
        raise
    except errors.Conflict as exc:
        flash(exc.message, "error")
    return redirect(url_for("web_experiments.show", experiment_id=experiment_id))


@blp.route("/experiments/<experiment_id>/delete", methods=["POST"])
@login_required
def delete(experiment_id):
    try:
        control.delete(current_app.extensions["vilvik"], g.account_id, experiment_id)
    except errors.NotFound:
        raise
    except errors.Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("web_experiments.show", experiment_id=experiment_id))
    flash(f"Experiment {experiment_id} is deleted, with its runs and their results.")
    return redirect(url_for("web_experiments.index"))


def _body(form, base):
    """The POST /experiments body the form stands for (the base is the submission's job)."""
    body = {"name": form.get("name", "").strip(), "base": base}
    for name in ("repeats", "seed"):
        value = form.get(name, "").strip()
        if value:
            body[name] = forms.integer(value)
    grid = {}
    for index in range(1, GRID_ROWS + 1):
        name, values = form.get(f"grid_param_{index}", "").strip(), form.get(f"grid_values_{index}", "").strip()
        if name and values:
            grid[name] = parse_values(values)
        elif name or values:
            raise ValidationError({"grid": [f"row {index}: give both a parameter and its values"]})
    if grid:
        body["grid"] = grid
    return body


def parse_values(text):
    """Comma-separated values: a JSON list when they read as one (`0.05, 0.1`), else words (`sss, rank`)."""
    try:
        return json.loads(f"[{text}]")
    except ValueError:
        return [forms._json_or_text(part.strip()) for part in text.split(",") if part.strip()]


def _problems(fields, prefix=""):
    """Nested field errors as readable lines: `grid.mutation_probability.1: must be <= 1`."""
    lines = []
    for name, problems in (fields or {}).items():
        path = f"{prefix}{name}"
        if isinstance(problems, dict):
            lines += _problems(problems, f"{path}.")
        else:
            lines += [f"{path}: {problem}" for problem in (problems if isinstance(problems, list) else [problems])]
    return lines
