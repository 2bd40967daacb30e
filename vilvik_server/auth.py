"""API keys as Bearer tokens, and the scope each endpoint needs."""
import functools
import time

from flask import current_app, g, request

from . import errors, ratelimit
from .clock import epoch
from .domain.scopes import SCOPES
from .store import keys as key_store

LAST_USED_RESOLUTION = 60  # seconds: last_used_at is not rewritten on every request


def bearer_token(header):
    """The key an Authorization header carries as 'Bearer <key>', or None."""
    scheme, _, token = header.partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def authenticate():
    """The key row for this request's Bearer token; raises Unauthenticated."""
    if "api_key" in g:
        return g.api_key
    token = bearer_token(request.headers.get("Authorization", ""))
    if token is None:
        raise errors.Unauthenticated("send your API key as 'Authorization: Bearer <key>'")
    services = current_app.extensions["vilvik"]
    key = services.keys.find_active(token)
    if key is None:
        raise errors.Unauthenticated("the API key is unknown or revoked")
    g.api_key = key
    g.account_id = key["account_id"]
    ratelimit.check_account(key["account_id"])
    touch_last_used(services.db, key)
    return key


def require_scope(scope):
    """Decorate a view: authenticate, then insist the key carries `scope`."""
    assert scope in SCOPES, scope

    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            key = authenticate()
            if scope not in key["scopes"].split():
                raise errors.InsufficientScope(f"this API key lacks the {scope} scope",
                                               details={"required_scope": scope})
            return view(*args, **kwargs)
        wrapper._vilvik_scope = scope
        return wrapper
    return decorate


def touch_last_used(db, key):
    """Record that the key was used, at most once per LAST_USED_RESOLUTION.

    `key` is the dict key_cache keeps: it is given the new time too, so the next requests
    within the cache's second do not write it again."""
    last = key["last_used_at"]
    if last is None or time.time() - epoch(last) > LAST_USED_RESOLUTION:
        with db.transaction() as conn:
            key["last_used_at"] = key_store.touch(conn, key["id"])

