"""One error class per API error code, and the one JSON shape every failure takes.

    {"error": {"code": "...", "message": "...", "param": "..." or null, "details": {...},
               "doc_url": ".../docs/errors#<code>", "request_id": "..."}}

`param` is the first offending field as a dotted path (`limits.cpu_seconds`, list items by
index: `webhook_events.0`), or null when no one field is to blame. Web pages get the same
information as HTML; everything under /api gets JSON.

The classes are plain exceptions that the engine and the store raise too; Flask is
imported only inside the functions that turn an error into a response, so a process
that runs jobs and never serves HTTP does not load it.
"""
import difflib
import logging
import sqlite3

log = logging.getLogger("vilvik.errors")


class VilvikError(Exception):
    """An API error: an HTTP status, a machine-readable code, a human message."""

    status = 500
    code = "internal_error"
    message = "internal error"

    def __init__(self, message=None, details=None, headers=None, param=None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details
        self.headers = headers or {}
        self.param = param


class InvalidJson(VilvikError):
    status, code, message = 400, "invalid_json", "the request body is not valid JSON"


class Unauthenticated(VilvikError):
    status, code, message = 401, "unauthenticated", "a valid API key is required"

    def __init__(self, message=None, details=None, headers=None, param=None):
        super().__init__(message, details, {"WWW-Authenticate": "Bearer", **(headers or {})}, param)


class InsufficientCredits(VilvikError):
    status, code, message = 402, "insufficient_credits", "the available balance does not cover this run"


class InsufficientScope(VilvikError):
    status, code = 403, "insufficient_scope"


class NotFound(VilvikError):
    status, code, message = 404, "not_found", "no such object"


class MethodNotAllowed(VilvikError):
    status, code, message = 405, "method_not_allowed", "this method is not allowed on this URL"


class Conflict(VilvikError):
    status, code = 409, "conflict"


class PayloadTooLarge(VilvikError):
    status, code, message = 413, "payload_too_large", "the request body is too large"


class UnsupportedMediaType(VilvikError):
    status, code, message = 415, "unsupported_media_type", "send the body as Content-Type: application/json"


class IdempotencyConflict(VilvikError):
    status, code = 422, "idempotency_conflict"


class ValidationFailed(VilvikError):
    status, code, message = 422, "validation_error", "the request is not valid"

    @classmethod
    def for_fields(cls, fields, message=None, schema=None):
        """A validation error naming each field and what is wrong with it.

        An unknown field makes the headline (a misspelt name also reports its missing
        twin, which would hide the cause); `schema`, the marshmallow schema the body
        failed, gives the "did you mean" suggestion.
        """
        unknown = _unknown_field(fields)
        if message is None and unknown is not None:
            message = f"unknown field {'.'.join(unknown)}" + _suggest(schema, unknown)
        if message is None:
            message = _first_message(fields)
        param = ".".join(unknown) if unknown is not None else first_field(fields)
        return cls(message, details={"fields": fields}, param=param)


class QuotaExceeded(VilvikError):
    status, code = 422, "quota_exceeded"


class RateLimited(VilvikError):
    status, code, message = 429, "rate_limited", "too many requests"


class ConcurrencyLimit(VilvikError):
    status, code = 429, "concurrency_limit"


class InternalError(VilvikError):
    status, code, message = 500, "internal_error", "internal error; it has been logged with the request id"


class Unavailable(VilvikError):
    status, code, message = 503, "unavailable", "the service is unavailable; retry later"


_HTTP_ERRORS = {404: NotFound, 405: MethodNotAllowed, 413: PayloadTooLarge, 415: UnsupportedMediaType,
                429: RateLimited}


UNKNOWN_FIELD = "Unknown field."


def _leaves(fields, path=()):
    """(path, problems) of every field error, in order; nested errors nest."""
    for name, problems in fields.items():
        here = path + (str(name),)
        if isinstance(problems, dict):
            yield from _leaves(problems, here)
        elif problems and isinstance(problems[0], dict):
            for item in problems:
                yield from _leaves(item, here)
        else:
            yield here, problems


def first_field(fields):
    """The dotted path of the first field with a problem (None for a problem of the body as a whole)."""
    for path, problems in _leaves(fields or {}):
        if problems and path[-1] != "_schema":
            return ".".join(path)
    return None


def _unknown_field(fields):
    return next((path for path, problems in _leaves(fields or {}) if UNKNOWN_FIELD in problems), None)


def _suggest(schema, path):
    """did_you_mean() for the unknown field at `path`, among the fields `schema` has there."""
    for name in path[:-1]:
        field = getattr(schema, "fields", {}).get(name)
        schema = getattr(field, "schema", None)
    known = [f.data_key or name for name, f in getattr(schema, "fields", {}).items() if not f.dump_only]
    return did_you_mean(path[-1], known)


def did_you_mean(name, known):
    """The suffix ' — did you mean X?' naming the known name closest to a misspelt one; '' when none is close."""
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.75)
    return f" \N{EM DASH} did you mean {close[0]}?" if close else ""


def _first_message(fields, prefix=""):
    for name, problems in fields.items():
        path = f"{prefix}{name}"
        if isinstance(problems, dict):
            return _first_message(problems, f"{path}.")
        if problems:
            first = problems[0]
            if isinstance(first, dict):
                return _first_message(first, f"{path}.")
            return first if name == "_schema" else f"{path}: {first}"
    return ValidationFailed.message


def error_body(error):
    """The JSON body of an error: code, message, param, details (when there are any), doc_url, request_id."""
    from flask import g

    param = error.param
    if param is None and isinstance(error.details, dict):
        param = first_field(error.details.get("fields"))
    body = {"code": error.code, "message": error.message, "param": param}
    if error.details is not None:
        body["details"] = error.details
    body["doc_url"] = doc_url(error.code)
    body["request_id"] = g.get("request_id")
    return {"error": body}


def doc_url(code):
    """This server's documentation of an error code (docs/errors.md has a section per code)."""
    from flask import current_app

    return f"{current_app.extensions['vilvik'].settings['PUBLIC_URL']}/docs/errors#{code}"


API_PATHS = ("/api/", "/metrics")


def render(error):
    """The response for a VilvikError: JSON under /api, the website's HTML page elsewhere."""
    from flask import current_app, g, jsonify, request

    page = current_app.extensions.get("vilvik_error_page")
    if page is not None and not (request.path.startswith(API_PATHS) or request.path == "/api"):
        response = page(error)
    else:
        response = jsonify(error_body(error))
        response.status_code = error.status
    for name, value in error.headers.items():
        response.headers[name] = value
    if "Retry-After" in error.headers:
        g.retry_after = error.headers["Retry-After"]  # http.py keeps it over the rate limiter's
    return response


def from_http_exception(exc):
    """Translate werkzeug's and flask-smorest's HTTP errors into ours."""
    from flask import request

    if exc.code == 422:  # webargs: the body failed its schema
        data = getattr(exc, "data", None) or {}
        messages = data.get("messages", {})
        fields = messages.get("json") or messages.get("query") or messages
        return ValidationFailed.for_fields(fields, schema=data.get("schema"))
    if exc.code == 400 and request.is_json:
        return InvalidJson()
    if exc.code == 404:
        return NotFound(f"no such route: {request.method} {request.path}")
    cls = _HTTP_ERRORS.get(exc.code)
    if cls is not None:
        error = cls()
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            error.headers["Allow"] = ", ".join(exc.valid_methods)
        return error
    error = VilvikError(exc.description or exc.name)
    error.status, error.code = exc.code, exc.name.lower().replace(" ", "_")
    return error


_UNAVAILABLE = ("locked", "readonly", "read-only", "disk is full", "disk i/o error", "unable to open")


def database_unavailable(exc):
    """Is this SQLite error the database being out of reach (not a bug in a query)?"""
    return any(marker in str(exc).lower() for marker in _UNAVAILABLE)


def init_app(app):
    """Register the handlers that give every failure our shape."""
    from flask import g
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(VilvikError)
    def handle_vilvik_error(error):
        return render(error)

    @app.errorhandler(HTTPException)
    def handle_http_exception(exc):
        return render(from_http_exception(exc))

    @app.errorhandler(sqlite3.OperationalError)
    def handle_database_error(exc):
        if not database_unavailable(exc):
            return handle_unexpected(exc)
        # A full disk, a read-only or unreachable database, a lock held past the busy
        # timeout: the request cannot be served now, but nothing is wrong with it.
        log.error("database unavailable (%s) (request_id=%s)", exc, g.get("request_id"))
        return render(Unavailable("the database is unavailable; retry later", headers={"Retry-After": "5"}))

    @app.errorhandler(Exception)
    def handle_unexpected(exc):
        log.exception("unhandled error (request_id=%s)", g.get("request_id"))
        return render(InternalError())
