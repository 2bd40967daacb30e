"""What every request goes through: a request id, body checks, and one log line."""
import json
import logging
import re
import secrets
import time

from flask import current_app, g, request

from . import auth, errors

log = logging.getLogger("vilvik.http")
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
BODY_METHODS = ("POST", "PUT", "PATCH")
MAX_JSON_DEPTH = 32  # arrays/objects within each other in a request body (initial_population needs 2)


def init_app(app):
    app.before_request(_begin)
    app.after_request(_finish)


def init_body_checks(app):
    """Judge request bodies; registered after the rate limiter, so a key is counted first."""
    app.before_request(_check_body)


def _begin():
    ctx_g = g._get_current_object()  # (one context lookup, not one per attribute)
    ctx_g.request_id = request_id_for(request.headers.get("X-Request-Id", ""))
    ctx_g.started = time.monotonic()


def request_id_for(sent):
    """The client's X-Request-Id when it is sane, else a new one."""
    return sent if _SANE_REQUEST_ID.fullmatch(sent) else "req_" + secrets.token_hex(16)


def _check_body():
    if request.method in BODY_METHODS and request.path.startswith("/api/"):
        _check_json_body()


def _check_json_body():
    length = request.content_length
    max_length = request.max_content_length
    if length is not None and max_length is not None and length > max_length:
        raise errors.PayloadTooLarge(f"the body is {length} bytes; the limit is {max_length}")
    has_body = bool(length) or request.headers.get("Transfer-Encoding") == "chunked"
    if not has_body:
        return  # a body-less action such as cancel; views that need a body say so
    if not request.headers.get("Authorization"):
        return  # the view answers 401 first; the body does not matter then
    auth.authenticate()  # a wrong key is 401 whatever the body holds
    if request.mimetype != "application/json":
        raise errors.UnsupportedMediaType()
    try:
        body = request.get_json(silent=True, cache=True)
    except RecursionError:
        body = None
        too_deep = True
    else:
        # (a bare number or true/false is no container: walking it would raise)
        too_deep = isinstance(body, (dict, list)) and nested_deeper_than(body, MAX_JSON_DEPTH)
    if too_deep:
        raise errors.InvalidJson(f"the body is nested more than {MAX_JSON_DEPTH} levels deep")
    is_null = body is None and request.get_data(cache=True).strip() == b"null"
    if body is None and not is_null:
        raise errors.InvalidJson()
    if not isinstance(body, dict):  # valid JSON, but every body this API takes is an object
        kind = ("null" if is_null else "an array" if isinstance(body, list) else "a string" if isinstance(body, str)
                else "a bare value")
        message = f"the body must be a JSON object, not {kind}"
        raise errors.ValidationFailed(message, details={"fields": {"_schema": [message]}})
    if has_lone_surrogate(body):
        raise errors.InvalidJson("the body holds a string that is not valid Unicode (a lone surrogate)")


def has_lone_surrogate(body):
    r"""Does a parsed body hold a lone surrogate? ("\ud800" escapes decode to one, which no UTF-8
    store or compiler accepts.)"""
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def nested_deeper_than(value, limit):
    """Is a parsed JSON value nested deeper than `limit` arrays/objects? (Iterative: no recursion.)"""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def _finish(response):
    ctx_g = g._get_current_object()
    request_id = ctx_g.get("request_id")
    response.headers["X-Request-Id"] = request_id or ""
    # Retry-After belongs on a refusal that says when to retry (429 rate_limited and errors
    # of ours that set it); any other response has none (a client would wait for nothing).
    if "retry_after" in ctx_g:
        response.headers["Retry-After"] = ctx_g.retry_after
    elif response.status_code != 429:
        response.headers.pop("Retry-After", None)
    if log.isEnabledFor(logging.INFO):
        elapsed = (time.monotonic() - ctx_g.get("started", time.monotonic())) * 1000
        key = ctx_g.get("api_key")
        req = request._get_current_object()
        log_request(req.method, req.path, response.status_code, elapsed, request_id, key["prefix"] if key else "-")
    return response


_REQUEST_LINE = "%s %s %s %.1fms request_id=%s key=%s"


def log_request(*args):
    """The request's log line: what `log.info(_REQUEST_LINE, *args)` logs, without the logging
    module's search of the stack for the caller (the record names _finish)."""
    code = _finish.__code__
    log.handle(log.makeRecord(log.name, logging.INFO, code.co_filename, code.co_firstlineno, _REQUEST_LINE, args,
                              None, func="_finish"))


def public_url():
    """The server's public URL (PUBLIC_URL), that this request's bodies build absolute URLs on."""
    return current_app.extensions["vilvik"].settings["PUBLIC_URL"]
