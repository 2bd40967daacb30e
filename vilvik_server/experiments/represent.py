"""An experiment as the API, the website and webhooks show it: status, counts, cells, best run, history."""
import csv
import io
import json

from ..ids import micros_to_credits, rfc3339
from ..store import experiments as experiment_store
from . import stats

PREFIX = "/api/v1"
RUN_STATUSES = ("queued", "running", "succeeded", "failed", "cancelled")


def status(row, counts):
    """queued (no run started), running, finished (every run terminal) or cancelled."""
    if row["cancelled_at"]:
        return "cancelled"
    if counts["queued"] + counts["running"] == 0:
        return "finished"
    if counts["queued"] == row["runs_total"]:
        return "queued"
    return "running"


def experiment(conn, row, public_url, counts=None):
    """The full experiment body (`counts` as store.experiments.counts gives them, or read here)."""
    counts = counts if counts is not None else experiment_store.counts(conn, [row["id"]])[row["id"]]
    cells = json.loads(row["cells"])
    base = json.loads(row["base"])
    base.pop("fitness_func", None)  # shown on each run with ?include=fitness_func
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
        "credits_charged": None,
        "cells": None,
        "best": None,
        "status_url": url(public_url, f"/experiments/{row['id']}"),
        "runs_url": url(public_url, f"/submissions?experiment_id={row['id']}"),
        "history_url": url(public_url, f"/experiments/{row['id']}/history"),
    }
    if counts["succeeded"] + counts["failed"] + counts["cancelled"]:
        runs = experiment_store.runs(conn, row["id"])
        body["credits_charged"] = micros_to_credits(sum(run["credits_charged_micros"] or 0 for run in runs))
        body["cells"] = stats.cells(cells, runs)
        best = stats.best_run(runs)
        if best is not None:
            body["best"] = {"submission_id": best["submission_id"], "params": cells[best["cell"]],
                            "seed": best["seed"], "best_solution": json.loads(best["best_solution"] or "null"),
                            "best_solution_fitness": json.loads(best["best_solution_fitness"] or "null"),
                            "submission_url": url(public_url, f"/submissions/{best['submission_id']}")}
    return stats.finite(body)


def history(conn, row):
    """GET /experiments/{id}/history as JSON."""
    cells = stats.history(json.loads(row["cells"]), experiment_store.histories(conn, row["id"]))
    return stats.finite({"object": "experiment_history", "experiment_id": row["id"], "cells": cells})


def history_csv(body, grid_names):
    """The history as CSV: one line per cell and generation, the grid values as columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["cell", *grid_names, "generation", "runs", "mean", "p10", "p50", "p90"])
    for index, cell in enumerate(body["cells"]):
        values = [json.dumps(cell["params"][name]) if not isinstance(cell["params"][name], (int, float, str))
                  else cell["params"][name] for name in grid_names]
        for point in cell["generations"]:
            writer.writerow([index, *values, point["generation"], cell["runs"], point["mean"], point["p10"],
                             point["p50"], point["p90"]])
    return out.getvalue()


def url(public_url, path):
    return public_url + PREFIX + path
