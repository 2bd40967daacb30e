"""Idempotency-Key on POST: the first response to a key is stored and replayed for 24 hours.

A retry with the same key and the same body gets the stored response again (with
`Idempotent-Replayed: true`) and nothing happens twice; the same key with another
body is `422 idempotency_conflict`; a retry while the first request is still
being processed is `409 conflict` with Retry-After. Keys live in SQLite, so they
survive a restart. Only responses that settle the request are kept: a 5xx, 409
or 429 frees the key, so the client may retry it.
"""
import functools
import hashlib
import json

from flask import current_app, g, make_response, request
from werkzeug.exceptions import HTTPException

from . import errors
from .store import idempotency as idempotency_store

MAX_KEY_LENGTH = 255
TTL_SECONDS = 24 * 3600
ABANDONED_SECONDS = 120  # a claim this old with no response belongs to a request that died
REPLAYED_HEADERS = ("Location", "Preference-Applied")
RETRYABLE = (409, 429)


def idempotent(view=None, *, withhold=()):
    """Decorate a POST view (inside require_scope, outside flask-smorest's decorators).

    `withhold` names top-level fields of a successful response that are shown once and
    never stored (a new API key's secret): a replay answers without them.
    """
    if view is None:
        return functools.partial(idempotent, withhold=withhold)

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get("Idempotency-Key")
        if key is None:
            return view(*args, **kwargs)
        if not key or len(key) > MAX_KEY_LENGTH:
            raise errors.ValidationFailed.for_fields(
                {"Idempotency-Key": [f"must be 1 to {MAX_KEY_LENGTH} characters"]})
        db = current_app.extensions["vilvik"].db
        fingerprint = _fingerprint()
        with db.transaction() as conn:
            idempotency_store.forget_expired(conn, TTL_SECONDS, ABANDONED_SECONDS)
            stored = idempotency_store.claim(conn, g.account_id, key, fingerprint)
        if stored is not None:
            return _replay(stored, fingerprint)
        try:
            response = make_response(view(*args, **kwargs))
        except (errors.VilvikError, HTTPException) as exc:
            error = exc if isinstance(exc, errors.VilvikError) else errors.from_http_exception(exc)
            response = errors.render(error)
        except BaseException:
            with db.transaction() as conn:
                idempotency_store.release(conn, g.account_id, key)
            raise
        with db.transaction() as conn:
            if response.status_code >= 500 or response.status_code in RETRYABLE:
                idempotency_store.release(conn, g.account_id, key)
            else:
                headers = {name: response.headers[name] for name in REPLAYED_HEADERS if name in response.headers}
                idempotency_store.complete(conn, g.account_id, key, response.status_code,
                                           _stored_body(response, withhold), headers)
        return response
    wrapper._vilvik_idempotent = True   # the OpenAPI document declares the header and its errors
    return wrapper


def _stored_body(response, withhold):
    body = response.get_data(as_text=True)
    if not withhold or response.status_code >= 300:
        return body
    shown = json.loads(body)
    return json.dumps({name: value for name, value in shown.items() if name not in withhold},
                      separators=(",", ":"), sort_keys=True)


def _fingerprint():
    body = request.get_json(silent=True)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{request.method} {request.path}\n{canonical}".encode()).hexdigest()


def _replay(stored, fingerprint):
    if stored["request_hash"] != fingerprint:
        raise errors.IdempotencyConflict("this Idempotency-Key was used with a different request",
                                         details={"idempotency_key": stored["key"]})
    if stored["status_code"] is None:
        raise errors.Conflict("a request with this Idempotency-Key is still being processed",
                              headers={"Retry-After": "1"})
    response = current_app.response_class(stored["response_body"], status=stored["status_code"],
                                          mimetype="application/json")
    for name, value in json.loads(stored["response_headers"] or "{}").items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response
