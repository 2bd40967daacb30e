"""An experiment's statistics, from the compact numbers each run leaves when it ends.

A run is summarised once, when it ends (run_summary): the value it is ranked by, its
generations and its best-so-far fitness per generation packed as float64. Reading an
experiment then needs only those numbers: numpy for the summaries, scipy.stats for the
Mann-Whitney U test (a well-kept implementation, with exact p-values for small samples).

What is ranked: a run's best_solution_fitness as its result shows it; for multi-objective
runs, the first objective of it. Only succeeded runs enter the statistics.
"""
import math
import threading
import warnings

import numpy

PERCENTILES = (10, 50, 90)


def scalar(fitness):
    """The ranked value of a fitness: the number itself, or the first objective; NaN ranks last."""
    if isinstance(fitness, list):
        fitness = fitness[0] if fitness else None
    if fitness is None:
        return None
    value = float(fitness)  # also reads "Infinity", "-Infinity", "NaN" as the API writes them
    return -math.inf if math.isnan(value) else value


def run_summary(result):
    """What the statistics keep of one run's result body."""
    per_generation = [scalar(value) for value in result.get("best_fitness_per_generation") or []]
    so_far = numpy.maximum.accumulate(numpy.asarray([-math.inf if v is None else v for v in per_generation],
                                                    dtype="<f8")) if per_generation else None
    return {"best_fitness": scalar(result.get("best_solution_fitness")),
            "generations_completed": result.get("generations_completed"),
            "history": so_far.tobytes() if so_far is not None else None,
            "best_solution": result.get("best_solution"),
            "best_solution_fitness": result.get("best_solution_fitness")}


def cells(cell_params, runs):
    """One summary per grid cell, ranked, with p-values against the top cell when there are several.

    `runs`: rows with `cell`, `status`, `ended`, `best_fitness`, `generations_completed`.
    """
    values = [[] for _ in cell_params]
    generations = [[] for _ in cell_params]
    totals = [0] * len(cell_params)
    for run in runs:
        totals[run["cell"]] += 1
        if run["status"] == "succeeded" and run["ended"] and run["best_fitness"] is not None:
            values[run["cell"]].append(run["best_fitness"])
            generations[run["cell"]].append(run["generations_completed"])
    summaries = []
    for index, params in enumerate(cell_params):
        sample = numpy.asarray(values[index], dtype=float)
        summaries.append({"params": params, "runs": totals[index], "succeeded": len(sample),
                          "best_fitness": _describe(sample),
                          "generations_completed": _generations(numpy.asarray(generations[index], dtype=float)),
                          "rank": None})
    ranked = sorted((i for i, s in enumerate(summaries) if s["succeeded"]),
                    key=lambda i: (-summaries[i]["best_fitness"]["p50"], -summaries[i]["best_fitness"]["mean"], i))
    for rank, index in enumerate(ranked, start=1):
        summaries[index]["rank"] = rank
    if len(summaries) >= 2:
        top = numpy.asarray(values[ranked[0]], dtype=float) if ranked else None
        for index, summary in enumerate(summaries):
            summary["p_value"] = None if not ranked or index == ranked[0] or not summary["succeeded"] \
                else mann_whitney_p(numpy.asarray(values[index], dtype=float), top)
    return summaries


def warm_up():
    """Import scipy.stats in the background (about two seconds), for a server that has started serving."""
    threading.Thread(target=lambda: __import__("scipy.stats"), name="vilvik-scipy-import", daemon=True).start()


def mann_whitney_p(sample, reference):
    """Two-sided Mann-Whitney U p-value of `sample` against `reference` (scipy.stats)."""
    from scipy import stats as scipy_stats  # imported on first use: it costs a second at start-up

    with warnings.catch_warnings(), numpy.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # samples of one value, or infinities: the p-value says enough
        p_value = float(scipy_stats.mannwhitneyu(sample, reference, alternative="two-sided").pvalue)
    return None if math.isnan(p_value) else p_value


def best_run(runs):
    """The succeeded run with the highest ranked value (the first such), or None."""
    best = None
    for run in runs:
        if run["status"] == "succeeded" and run["ended"] and run["best_fitness"] is not None:
            if best is None or run["best_fitness"] > best["best_fitness"]:
                best = run
    return best


def history(cell_params, rows):
    """Per cell, per generation: mean, p10, p50, p90 of the succeeded runs' best-so-far fitness.

    A run that stopped early (stop_criteria) keeps its last best-so-far value in later generations.
    """
    by_cell = [[] for _ in cell_params]
    for row in rows:
        by_cell[row["cell"]].append(numpy.frombuffer(row["history"], dtype="<f8"))
    out = []
    for params, histories in zip(cell_params, by_cell):
        generations = []
        if histories:
            length = max(len(h) for h in histories)
            matrix = numpy.empty((len(histories), length))
            for i, h in enumerate(histories):
                matrix[i, :len(h)] = h
                matrix[i, len(h):] = h[-1]
            with numpy.errstate(all="ignore"):
                mean = matrix.mean(axis=0)
                p10, p50, p90 = numpy.percentile(matrix, PERCENTILES, axis=0)
            generations = [{"generation": g, "mean": m, "p10": a, "p50": b, "p90": c} for g, (m, a, b, c) in
                           enumerate(zip(mean.tolist(), p10.tolist(), p50.tolist(), p90.tolist()))]
        out.append({"params": params, "runs": len(histories), "generations": generations})
    return out


def _describe(sample):
    if not len(sample):
        return None
    with numpy.errstate(all="ignore"):
        p10, p50, p90 = numpy.percentile(sample, PERCENTILES).tolist()
        return {"mean": float(sample.mean()), "std": float(sample.std(ddof=1)) if len(sample) > 1 else None,
                "min": float(sample.min()), "p10": p10, "p50": p50, "p90": p90, "max": float(sample.max())}


def _generations(sample):
    if not len(sample):
        return None
    return {"mean": float(sample.mean()), "p50": float(numpy.median(sample))}
