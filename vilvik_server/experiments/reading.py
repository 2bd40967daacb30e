"""Reading an experiment: its counts, and statistics from the numbers its runs left when they ended."""
import json

from ..domain import represent_experiments
from ..store import experiments as experiment_store
from . import stats


def experiment(conn, row, public_url, counts=None):
    """The experiment as the API shows it (`counts` as store.experiments.counts gives them, or read here)."""
    counts = counts if counts is not None else experiment_store.counts(conn, [row["id"]])[row["id"]]
    if not counts["succeeded"] + counts["failed"] + counts["cancelled"]:
        return represent_experiments.experiment(row, counts, public_url)
    runs = experiment_store.runs(conn, row["id"])
    return represent_experiments.experiment(
        row, counts, public_url, cells=stats.cells(json.loads(row["cells"]), runs), best=stats.best_run(runs),
        charged_micros=sum(run["credits_charged_micros"] or 0 for run in runs))


def history(conn, row):
    """Per cell, per generation: mean and percentiles of the succeeded runs' best fitness so far."""
    cells = stats.history(json.loads(row["cells"]), experiment_store.histories(conn, row["id"]))
    return represent_experiments.history(row, cells)
