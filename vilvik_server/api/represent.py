"""Turning stored rows into the JSON bodies the API returns, with absolute URLs."""
import json
from urllib.parse import urlencode

from flask import current_app, jsonify, request

from ..ids import micros_to_credits, rfc3339
from . import PREFIX


def api_url(path, public_url=None, **query):
    """An absolute URL under PUBLIC_URL/api/v1 (PUBLIC_URL given outside a request)."""
    base = (public_url or current_app.extensions["vilvik"].settings["PUBLIC_URL"]) + PREFIX + path
    return f"{base}?{urlencode(query)}" if query else base


def status_url(submission_id, public_url=None):
    return api_url(f"/submissions/{submission_id}", public_url)


def result_url(submission_id, public_url=None):
    return api_url("/results", public_url, submission_id=submission_id)


def submission(row, include_fitness_func=False, public_url=None):
    """A submission as the API shows it (pass `public_url` outside a request, e.g. for webhooks)."""
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
        "error": json.loads(row["error"]) if row["error"] else None,
        "sandbox": json.loads(row["sandbox"]) if row["sandbox"] else None,
        "versions": json.loads(row["versions"]) if row["versions"] else None,
        "logs": row["logs"],
        "metadata": json.loads(row["metadata"]),
        "webhook_url": row["webhook_url"],
        "webhook_events": json.loads(row["webhook_events"]) if row["webhook_events"] else None,
        "status_url": status_url(row["id"], public_url),
        "result_url": result_url(row["id"], public_url),
    }
    if include_fitness_func:
        body["fitness_func"] = row["fitness_func"]
    return body


def result(row):
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
        "submission_url": status_url(row["submission_id"]),
    }


def page(page, items):
    """A cursor-paginated list body; next_url keeps the request's filters."""
    next_url = None
    if page.has_more:
        query = {k: v for k, v in request.args.items() if k != "cursor"}
        query["cursor"] = page.next_cursor
        next_url = api_url(request.path[len(PREFIX):], **query)
    return {"object": "list", "data": items, "has_more": page.has_more, "next_cursor": page.next_cursor,
            "next_url": next_url}


def as_response(body):
    """A JSON response that flask-smorest passes through without dumping it again.

    The body is already exactly the documented shape (the schemas in schemas.py
    describe it for the OpenAPI document); dumping a result's population and
    history number by number through marshmallow would cost more than the query.
    """
    return jsonify(body)
