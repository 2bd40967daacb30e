"""Turning stored rows into the JSON bodies the API returns, with absolute URLs.

One function per resource decides its JSON: the API's views, the website's pages and
webhook payloads all show a resource through it (webhook resources: represent_webhooks.py).
The OpenAPI schemas in api/ describe these bodies; tests/test_representations.py fails
when the two drift apart. `public_url` is the server's
PUBLIC_URL (the caller knows it: a request's app, or the settings of a background loop).
"""
import csv
import io
import json

from ..clock import rfc3339

from ..money import micros_to_credits
from . import stop_reason
from .urls import result_url, status_url


def submission(row, public_url, include_fitness_func=False):
    """A submission as the API shows it."""
    params = json.loads(row["params"])
    body = {
        "id": row["id"],
        "object": "submission",
        "name": row["name"],
        "type": row["type"],
        "status": row["status"],
        "created_at": rfc3339(row["created_at"]),
        "started_at": rfc3339(row["started_at"]),
        "finished_at": rfc3339(row["finished_at"]),
        "params": params,
        "fitness_func_entry": row["fitness_func_entry"],
        "parent_id": row["parent_id"],
        "experiment_id": row["experiment_id"],
        "problem": row["problem"],
        "problem_params": json.loads(row["problem_params"]) if row["problem_params"] else None,
        "progress": {
            "generations_completed": row["generations_completed"],
            "num_generations": params["num_generations"],
            "best_fitness": json.loads(row["best_fitness"]) if row["best_fitness"] else None,
            "mean_fitness": json.loads(row["mean_fitness"]) if row["mean_fitness"] else None,
            "updated_at": rfc3339(row["progress_updated_at"]),
        },
        "usage": {
            "cpu_seconds": row["cpu_seconds"],
            "wall_seconds": row["wall_seconds"],
            "peak_memory_bytes": row["peak_memory_bytes"],
        },
        "limits": json.loads(row["limits"]),
        "credits_charged": micros_to_credits(row["credits_charged_micros"]),
        **dict(zip(("stop_reason", "stop_criterion"), stop_reason.of_row(row))),
        "error": json.loads(row["error"]) if row["error"] else None,
        "sandbox": json.loads(row["sandbox"]) if row["sandbox"] else None,
        "versions": json.loads(row["versions"]) if row["versions"] else None,
        "logs": row["logs"],
        "metadata": json.loads(row["metadata"]),
        "webhook_url": row["webhook_url"],
        "webhook_events": json.loads(row["webhook_events"]) if row["webhook_events"] else None,
        "status_url": status_url(public_url, row["id"]),
        "result_url": result_url(public_url, row["id"]),
    }
    if include_fitness_func:
        body["fitness_func"] = row["fitness_func"]
    return body


def accepted(row, reserved, public_url, generated=False):
    """The 202 body of an accepted submission (or continuation): where to follow it, what it holds.

    `generated`: a quick submission's body also shows the parameters and source its builder
    wrote. A continuation's credits_estimate is filled in by its caller.
    """
    body = {"id": row["id"], "status": row["status"], "status_url": status_url(public_url, row["id"]),
            "result_url": result_url(public_url, row["id"]), "created_at": rfc3339(row["created_at"]),
            "credits_reserved": micros_to_credits(reserved), "credits_estimate": None}
    if generated and row["type"] == "quick":
        body["generated"] = {"params": json.loads(row["params"]), "fitness_func": row["fitness_func"],
                             "fitness_func_entry": row["fitness_func_entry"]}
    return body


def result(row, public_url):
    """A result as the API shows it."""
    body = json.loads(row["body"])
    charged = body.pop("credits_charged_micros", None)
    return {
        "id": row["id"],
        "object": "result",
        "submission_id": row["submission_id"],
        "created_at": rfc3339(row["created_at"]),
        **body,
        "credits_charged": micros_to_credits(charged),
        "submission_url": status_url(public_url, row["submission_id"]),
    }


def history_csv(body):
    """A result's per-generation best and mean fitness as CSV text (a multi-objective fitness as a JSON list)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["generation", "best_fitness", "mean_fitness"])
    means = body.get("mean_fitness_per_generation") or []
    for generation, fitness in enumerate(body["best_fitness_per_generation"]):
        mean = means[generation] if generation < len(means) else None
        writer.writerow([generation, json.dumps(fitness) if isinstance(fitness, list) else fitness,
                         "" if mean is None else mean])
    return out.getvalue()


def key(row, secret=None):
    """An API key (its prefix, never its hash); `secret` only in the response that created it."""
    body = {"id": row["id"], "object": "api_key", "name": row["name"], "prefix": row["prefix"],
            "scopes": row["scopes"].split(), "created_at": rfc3339(row["created_at"]),
            "last_used_at": rfc3339(row["last_used_at"])}
    if secret is not None:
        body["secret"] = secret
    return body


def ledger_entry(row):
    """One change to an account's credits."""
    return {"id": row["id"], "object": "ledger_entry", "created_at": rfc3339(row["created_at"]),
            "kind": row["kind"], "amount": micros_to_credits(row["amount_micros"]),
            "balance_after": micros_to_credits(row["balance_after_micros"]),
            "submission_id": row["submission_id"], "note": row["note"]}
