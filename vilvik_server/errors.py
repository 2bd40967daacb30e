"""One error class per API error code, and the one JSON shape every failure takes.

    {"error": {"code": "...", "message": "...", "details": {...}, "request_id": "..."}}

Web pages get the same information as HTML; everything under /api gets JSON.

The classes are plain exceptions that the engine and the store raise too; Flask is
imported only inside the functions that turn an error into a response, so a process
that runs jobs and never serves HTTP does not load it.
"""
import logging
import sqlite3

log = logging.getLogger("vilvik.errors")


class VilvikError(Exception):
    """An API error: an HTTP status, a machine-readable code, a human message."""

    status = 500
    code = "internal_error"
    message = "internal error"

    def __init__(self, message=None, details=None, headers=None):
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details
        self.headers = headers or {}


class InvalidJson(VilvikError):
    status, code, message = 400, "invalid_json", "the request body is not valid JSON"


class Unauthenticated(VilvikError):
    status, code, message = 401, "unauthenticated", "a valid API key is required"

    def __init__(self, message=None, details=None, headers=None):
        super().__init__(message, details, {"WWW-Authenticate": "Bearer", **(headers or {})})


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
    def for_fields(cls, fields, message=None):
        """A validation error naming each field and what is wrong with it."""
        if message is None:
            message = _first_message(fields)
        return cls(message, details={"fields": fields})


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
    from flask import g

    body = {"code": error.code, "message": error.message, "request_id": g.get("request_id")}
    if error.details is not None:
        body["details"] = error.details
    return {"error": body}


API_PATHS = ("/api/", "/metrics")


def render(error):
    """The response for a VilvikError: JSON under /api, the website's HTML page elsewhere."""
    from flask import current_app, g, jsonify, request

    page = current_app.extensions.get("vilvik_error_page")
    if page is not None and not request.path.startswith(API_PATHS):
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
        messages = (getattr(exc, "data", None) or {}).get("messages", {})
        fields = messages.get("json") or messages.get("query") or messages
        return ValidationFailed.for_fields(fields)
    if exc.code == 400 and request.is_json:
        return InvalidJson()
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
