"""Webhook endpoints, deliveries and events as the API shows them (see represent.py)."""
import json

from ..clock import now, rfc3339


def event(row):
    """An event: exactly the payload its webhooks carry, plus `object` and `delivered_at`."""
    return {**json.loads(row["body"]), "object": "event", "delivered_at": rfc3339(row["delivered_at"])}


def endpoint(row, secret=None):
    """A webhook endpoint; `secret` only where it was just made."""
    rotating = row["previous_secret_expires_at"]
    body = {"id": row["id"], "object": "webhook_endpoint", "url": row["url"], "events": json.loads(row["events"]),
            "description": row["description"], "enabled": bool(row["enabled"]),
            "disabled_reason": row["disabled_reason"], "failure_count": row["failure_count"],
            "last_success_at": rfc3339(row["last_success_at"]), "last_failure_at": rfc3339(row["last_failure_at"]),
            "previous_secret_expires_at": rfc3339(rotating) if rotating and rotating > now() else None,
            "created_at": rfc3339(row["created_at"]), "updated_at": rfc3339(row["updated_at"])}
    if secret is not None:
        body["secret"] = secret
    return body


def delivery(row, attempts):
    """A delivery with each of its attempts; the top-level status_code, latency, error are the last attempt's."""
    last = attempts[-1] if attempts else None
    return {
        "id": row["id"], "object": "webhook_delivery", "webhook_id": row["endpoint_id"],
        "event_id": row["event_id"], "event_type": row["event_type"], "status": row["status"],
        "attempt": len(attempts),
        "status_code": last["status_code"] if last else None,
        "latency_ms": last["latency_ms"] if last else None,
        "error": row["error"] or (last["error"] if last else None),
        "response_excerpt": last["response_excerpt"] if last else None,
        "next_retry_at": rfc3339(row["next_attempt_at"]) if row["status"] == "pending" else None,
        "redelivery_of": row["redelivery_of"],
        "created_at": rfc3339(row["created_at"]), "finished_at": rfc3339(row["finished_at"]),
        "attempts": [{"number": a["number"], "created_at": rfc3339(a["created_at"]), "url": a["url"],
                      "status_code": a["status_code"], "latency_ms": a["latency_ms"], "error": a["error"],
                      "response_excerpt": a["response_excerpt"], "next_retry_at": rfc3339(a["next_retry_at"])}
                     for a in attempts],
    }
