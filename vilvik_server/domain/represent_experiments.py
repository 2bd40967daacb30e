"""Experiments and their history as the API shows them (see represent.py).

The statistics arrive computed (experiments/stats.py); this decides only the JSON.
"""
import csv
import io
import json

from ..clock import rfc3339

from ..money import micros_to_credits
from .json_values import finite
from .statuses import STATUSES as RUN_STATUSES
from .urls import api_url


def status(row, counts):
    """queued (no run started), running, finished (every run ended) or cancelled."""
    if row["cancelled_at"]:
        return "cancelled"
    if counts["queued"] + counts["running"] == 0:
        return "finished"
    if counts["queued"] == row["runs_total"]:
        return "queued"
    return "running"


def urls(public_url, experiment_id):
    return {"status_url": api_url(public_url, f"/experiments/{experiment_id}"),
            "runs_url": api_url(public_url, "/submissions", experiment_id=experiment_id),
            "history_url": api_url(public_url, f"/experiments/{experiment_id}/history")}


def accepted(row, public_url):
    """The 202 body of POST /experiments."""
    links = urls(public_url, row["id"])
    return {"id": row["id"], "object": "experiment", "status": "queued", "runs_total": row["runs_total"],
            "seeds": json.loads(row["seeds"]), "seed": row["seed"], "status_url": links["status_url"],
            "runs_url": links["runs_url"], "created_at": rfc3339(row["created_at"]),
            "credits_reserved": micros_to_credits(row["reserved_micros"])}


def experiment(row, counts, public_url, *, cells=None, best=None, charged_micros=None):
    """An experiment: `counts` by run status; `cells` and `best` (a run row) once a run has ended."""
    base = json.loads(row["base"])
    base.pop("fitness_func", None)  # shown on each run with ?include=fitness_func
    cell_params = json.loads(row["cells"])
    body = {
        "id": row["id"],
        "object": "experiment",
        "name": row["name"],
        "status": status(row, counts),
        "created_at": rfc3339(row["created_at"]),
        "cancelled_at": rfc3339(row["cancelled_at"]),
        "finished_at": rfc3339(row["completed_at"]),
        "runs_total": row["runs_total"],
        "counts": {name: counts.get(name, 0) for name in RUN_STATUSES},
        "seeds": json.loads(row["seeds"]),
        "seed": row["seed"],
        "grid": json.loads(row["grid"]),
        "base": base,
        "metadata": json.loads(row["metadata"]),
        "credits_reserved": micros_to_credits(row["reserved_micros"]),
        "credits_charged": micros_to_credits(charged_micros),
        "cells": cells,
        "best": None,
        **urls(public_url, row["id"]),
    }
    if best is not None:
        body["best"] = {"submission_id": best["submission_id"], "params": cell_params[best["cell"]],
                        "seed": best["seed"], "best_solution": json.loads(best["best_solution"] or "null"),
                        "best_solution_fitness": json.loads(best["best_solution_fitness"] or "null"),
                        "submission_url": api_url(public_url, f"/submissions/{best['submission_id']}")}
    return finite(body)


def history(row, cells):
    """GET /experiments/{id}/history: per cell, per generation mean, p10, p50, p90."""
    return finite({"object": "experiment_history", "experiment_id": row["id"], "cells": cells})


def history_csv(body, grid_names):
    """The history as CSV: one line per cell and generation, the grid values as columns."""
    out = io.StringIO()
    writer = csv.writer(out)  # CRLF line ends (RFC 4180), as the results CSV
    writer.writerow(["cell", *grid_names, "generation", "runs", "mean", "p10", "p50", "p90"])
    for index, cell in enumerate(body["cells"]):
        values = [value if isinstance(value, (int, float, str)) else json.dumps(value)
                  for value in (cell["params"][name] for name in grid_names)]
        for point in cell["generations"]:
            writer.writerow([index, *values, point["generation"], cell["runs"], point["mean"], point["p10"],
                             point["p50"], point["p90"]])
    return out.getvalue()
