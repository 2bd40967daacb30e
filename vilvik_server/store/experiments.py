"""Experiments: the experiment rows, their runs (batched inserts) and the runs' compact statistics."""
import json

from ..domain.statuses import TERMINAL
from ..clock import now
from ..ids import new_id
from .pages import fetch_page

_RUN_COLUMNS = ("id", "account_id", "name", "type", "status", "params", "fitness_func", "fitness_func_entry",
                "metadata", "limits", "problem", "problem_params", "webhook_url", "webhook_events", "created_at",
                "reserved_micros", "experiment_id")


def insert(conn, account_id, *, name, metadata, base, grid, cells, seeds, seed, runs_total, webhook_url,
           webhook_events):
    """Insert an experiment; returns its row."""
    return conn.execute(
        "INSERT INTO experiments (id, account_id, name, metadata, base, grid, cells, seeds, seed, runs_total,"
        " webhook_url, webhook_events, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
        (new_id(), account_id, name, json.dumps(metadata), json.dumps(base), json.dumps(grid), json.dumps(cells),
         json.dumps(seeds), seed, runs_total, webhook_url,
         json.dumps(webhook_events) if webhook_events is not None else None, now())).fetchone()


def insert_runs(conn, experiment, runs):
    """Insert every run of an experiment as a queued submission, in two batched statements.

    `runs`: dicts with the submission's fields plus `cell`, `seed` and `reserved_micros`.
    Returns the runs' submission ids, in the order given.
    """
    created_at = now()
    ids = [new_id() for _ in runs]
    rows = []
    for submission_id, run in zip(ids, runs):
        rows.append((submission_id, experiment["account_id"], run["name"], run["type"], "queued",
                     json.dumps(run["params"]), run["fitness_func"], run["fitness_func_entry"],
                     json.dumps(run["metadata"]), json.dumps(run["limits"]), run.get("problem"),
                     json.dumps(run["problem_params"]) if run.get("problem_params") is not None else None,
                     run.get("webhook_url"),
                     json.dumps(run["webhook_events"]) if run.get("webhook_events") is not None else None,
                     created_at, run["reserved_micros"], experiment["id"]))
    conn.executemany(f"INSERT INTO submissions ({', '.join(_RUN_COLUMNS)})"
                     f" VALUES ({', '.join('?' * len(_RUN_COLUMNS))})", rows)
    conn.executemany("INSERT INTO experiment_runs (submission_id, experiment_id, cell, seed) VALUES (?, ?, ?, ?)",
                     [(submission_id, experiment["id"], run["cell"], run["seed"])
                      for submission_id, run in zip(ids, runs)])
    return ids


def set_reserved(conn, experiment_id, micros):
    conn.execute("UPDATE experiments SET reserved_micros = ? WHERE id = ?", (micros, experiment_id))


def get(conn, account_id, experiment_id):
    return conn.execute("SELECT * FROM experiments WHERE id = ? AND account_id = ?",
                        (experiment_id, account_id)).fetchone()


def get_any(conn, experiment_id):
    """An experiment whatever its account (for the executor, never for a request)."""
    return conn.execute("SELECT * FROM experiments WHERE id = ?", (experiment_id,)).fetchone()


def list_page(conn, account_id, *, cursor=None, limit=20):
    """One page of an account's experiments, newest first."""
    return fetch_page(conn, "SELECT * FROM experiments WHERE account_id = ? {cursor}", [account_id], cursor, limit)


def counts(conn, experiment_ids):
    """{experiment id: {status: runs}} for the given experiments (every status present, 0 when none)."""
    result = {experiment_id: dict.fromkeys(("queued", "running") + TERMINAL, 0) for experiment_id in experiment_ids}
    if not experiment_ids:
        return result
    rows = conn.execute(
        f"SELECT experiment_id, status, count(*) AS n FROM submissions WHERE experiment_id IN"
        f" ({', '.join('?' * len(experiment_ids))}) GROUP BY experiment_id, status", list(experiment_ids))
    for row in rows:
        result[row["experiment_id"]][row["status"]] = row["n"]
    return result


def runs(conn, experiment_id):
    """Every run of an experiment with its status and statistics (not its history), in run order."""
    return conn.execute(
        "SELECT r.submission_id, r.cell, r.seed, r.ended, r.best_fitness, r.generations_completed,"
        " r.best_solution, r.best_solution_fitness, s.status, s.credits_charged_micros"
        " FROM experiment_runs r JOIN submissions s ON s.id = r.submission_id"
        " WHERE r.experiment_id = ? ORDER BY s.seq", (experiment_id,)).fetchall()


def histories(conn, experiment_id):
    """(cell, packed best-so-far history) of every succeeded run, in run order."""
    return conn.execute(
        "SELECT r.cell, r.history FROM experiment_runs r JOIN submissions s ON s.id = r.submission_id"
        " WHERE r.experiment_id = ? AND r.ended = 1 AND s.status = 'succeeded' AND r.history IS NOT NULL"
        " ORDER BY s.seq", (experiment_id,)).fetchall()


def run_of(conn, submission_id):
    """The experiment_runs row of a submission, or None when it is no experiment's run."""
    return conn.execute("SELECT * FROM experiment_runs WHERE submission_id = ?", (submission_id,)).fetchone()


def record_run_end(conn, submission_id, *, best_fitness, generations_completed, history, best_solution,
                   best_solution_fitness):
    """Store a run's statistics once, when it ends; False if they were stored already."""
    cursor = conn.execute(
        "UPDATE experiment_runs SET ended = 1, best_fitness = ?, generations_completed = ?, history = ?,"
        " best_solution = ?, best_solution_fitness = ? WHERE submission_id = ? AND ended = 0",
        (best_fitness, generations_completed, history,
         json.dumps(best_solution) if best_solution is not None else None,
         json.dumps(best_solution_fitness) if best_solution_fitness is not None else None, submission_id))
    return cursor.rowcount == 1


def mark_completed(conn, experiment_id):
    """Mark the experiment complete if none of its runs is queued or running; True only the first time."""
    cursor = conn.execute(
        "UPDATE experiments SET completed_at = ? WHERE id = ? AND completed_at IS NULL AND NOT EXISTS"
        " (SELECT 1 FROM submissions WHERE experiment_id = ? AND status IN ('queued', 'running'))",
        (now(), experiment_id, experiment_id))
    return cursor.rowcount == 1


def mark_cancelled(conn, experiment_id):
    """Record that the experiment was cancelled; False if it already was."""
    cursor = conn.execute("UPDATE experiments SET cancelled_at = ? WHERE id = ? AND cancelled_at IS NULL",
                          (now(), experiment_id))
    return cursor.rowcount == 1


def run_ids(conn, experiment_id, status):
    """Ids of the experiment's runs in one status, oldest first."""
    rows = conn.execute("SELECT id FROM submissions WHERE experiment_id = ? AND status = ? ORDER BY seq",
                        (experiment_id, status))
    return [row["id"] for row in rows]


def active_continuations(conn, experiment_id):
    """Ids of continuations of the experiment's runs that are still queued or running."""
    rows = conn.execute(
        "SELECT c.id FROM submissions c JOIN submissions p ON c.parent_id = p.id"
        " WHERE p.experiment_id = ? AND c.status IN ('queued', 'running')", (experiment_id,))
    return [row["id"] for row in rows]


def delete(conn, account_id, experiment_id):
    """Delete an experiment whose runs are all terminal, with its runs (their results go with them).

    False, deleting nothing, if it does not exist or a run is still queued or running.
    """
    if conn.execute("SELECT 1 FROM submissions WHERE experiment_id = ? AND status IN ('queued', 'running')"
                    " LIMIT 1", (experiment_id,)).fetchone():
        return False
    cursor = conn.execute("DELETE FROM experiments WHERE id = ? AND account_id = ?", (experiment_id, account_id))
    if cursor.rowcount != 1:
        return False
    conn.execute("DELETE FROM submissions WHERE experiment_id = ? AND account_id = ?", (experiment_id, account_id))
    return True
