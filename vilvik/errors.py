"""One exception class per API error code, all under `VilvikError`, built from the response.

The server answers every failure with one shape:

    {"error": {"code": "...", "message": "...", "param": "...", "details": {...},
               "doc_url": "...", "request_id": "..."}}

`from_response` picks the class registered for the code; a code this SDK does not
know yet (the API grows additively) gives the base class, so `except VilvikError`
always works and nothing breaks when the server learns a new code.
"""
from __future__ import annotations

from requests.structures import CaseInsensitiveDict

from .retry import parse_retry_after

__all__ = [
    "VilvikError", "APIConnectionError", "InvalidJsonError", "AuthenticationError", "UnauthenticatedError",
    "InsufficientCreditsError", "InsufficientScopeError", "PermissionDeniedError", "NotFoundError",
    "MethodNotAllowedError", "ConflictError", "IdempotencyConflictError", "PayloadTooLargeError",
    "UnsupportedMediaTypeError", "ValidationError", "QuotaExceededError", "RateLimitError",
    "ConcurrencyLimitError", "InternalServerError", "ServiceUnavailableError", "RunFailedError",
    "WaitTimeoutError", "WebhookVerificationError", "KeySecretLostError",
]


class VilvikError(Exception):
    """Any error from the Vilvik API or this SDK: status, code, message, param, details, doc_url, request_id.

    `param` is the first offending field as a dotted path (`limits.cpu_seconds`) or None;
    `doc_url` is the server's page about the code.
    """

    code: str | None = None

    def __init__(self, message=None, *, status=None, code=None, details=None, request_id=None,
                 headers=None, body=None, param=None, doc_url=None):
        self.message = message or self.__class__.__name__
        super().__init__(self.message)
        self.status = status
        if code is not None:
            self.code = code
        self.details = details if details is not None else {}
        self.request_id = request_id
        self.param = param
        self.doc_url = doc_url
        self.headers = CaseInsensitiveDict(headers or {})
        self.body = body

    def __str__(self):
        parts = [self.message]
        if self.code:
            parts.insert(0, f"[{self.code}]")
        if self.request_id:
            parts.append(f"(request {self.request_id})")
        if self.doc_url:
            parts.append(f"see {self.doc_url}")
        return " ".join(parts)

    def __repr__(self):
        return (f"{self.__class__.__name__}(status={self.status!r}, code={self.code!r}, "
                f"message={self.message!r}, param={self.param!r}, request_id={self.request_id!r})")


class APIConnectionError(VilvikError):
    """The server could not be reached (after the SDK's retries): no status, no code."""


class InvalidJsonError(VilvikError):
    code = "invalid_json"


class AuthenticationError(VilvikError):
    """401: no key, or a malformed, unknown or revoked key."""

    code = "unauthenticated"


UnauthenticatedError = AuthenticationError


class InsufficientCreditsError(VilvikError):
    """402: the run's reservation does not fit the available balance (see `details`)."""

    code = "insufficient_credits"


class InsufficientScopeError(VilvikError):
    """403: the key lacks the scope this endpoint needs (`required_scope`)."""

    code = "insufficient_scope"

    @property
    def required_scope(self):
        return self.details.get("required_scope")


PermissionDeniedError = InsufficientScopeError


class NotFoundError(VilvikError):
    """404: no such object for this account (or no such route on this server)."""

    code = "not_found"


class MethodNotAllowedError(VilvikError):
    code = "method_not_allowed"


class ConflictError(VilvikError):
    """409: the object's state forbids it (e.g. cancelling a finished run; `details['status']`)."""

    code = "conflict"


class IdempotencyConflictError(VilvikError):
    """422: an Idempotency-Key was reused with a different request body."""

    code = "idempotency_conflict"


class PayloadTooLargeError(VilvikError):
    code = "payload_too_large"


class UnsupportedMediaTypeError(VilvikError):
    code = "unsupported_media_type"


class ValidationError(VilvikError):
    """422: a field is missing, of the wrong type or out of range; `fields` says which."""

    code = "validation_error"

    @property
    def fields(self):
        """{field name: [problem, ...]} as the server sent it."""
        return self.details.get("fields", {})


class QuotaExceededError(VilvikError):
    """422: the run asks for more than a size ceiling."""

    code = "quota_exceeded"


class RateLimitError(VilvikError):
    """429 rate_limited: too many requests; `retry_after` is the wait in seconds the server asked for."""

    code = "rate_limited"

    @property
    def retry_after(self):
        return parse_retry_after(self.headers.get("Retry-After"))


class ConcurrencyLimitError(RateLimitError):
    """429 concurrency_limit: too many active or queued submissions on this account."""

    code = "concurrency_limit"


class InternalServerError(VilvikError):
    code = "internal_error"


class ServiceUnavailableError(VilvikError):
    """503: the server is shutting down or its queue is full."""

    code = "unavailable"


class RunFailedError(VilvikError):
    """A submission ended `failed` (or `cancelled` without a result) when a result was asked for.

    `code` is the run's error code (`fitness_error`, `timeout`, ...); `submission` is the run.
    """

    def __init__(self, submission, message=None, code=None, details=None):
        super().__init__(message or f"submission {submission.id} {submission.status}", code=code,
                         details=details)
        self.submission = submission


class WaitTimeoutError(VilvikError, TimeoutError):
    """`Submission.wait(timeout=...)` (or `Experiment.wait`) ran out of time; `submission` is its last known state."""

    def __init__(self, submission, timeout):
        what = type(submission).__name__.lower()
        super().__init__(f"{what} {submission.id} still {submission.status} after {timeout}s")
        self.submission = submission


class KeySecretLostError(VilvikError):
    """`keys.create` got a replayed answer (after a retry, or an Idempotency-Key used before): the key
    exists, but its secret is shown only once, in the answer that was lost. Revoke `key`, create another."""

    def __init__(self, key):
        super().__init__(f"API key {key.id} was created, but its secret was shown only in an answer that was "
                         f"lost; revoke it (client.keys.delete({key.id!r})) and create another")
        self.key = key


class WebhookVerificationError(VilvikError):
    """A webhook's signature or timestamp did not verify: do not trust the payload."""


_BY_CODE = {cls.code: cls for cls in (
    InvalidJsonError, AuthenticationError, InsufficientCreditsError, InsufficientScopeError, NotFoundError,
    MethodNotAllowedError, ConflictError, IdempotencyConflictError, PayloadTooLargeError,
    UnsupportedMediaTypeError, ValidationError, QuotaExceededError, RateLimitError, ConcurrencyLimitError,
    InternalServerError, ServiceUnavailableError)}


def class_for_code(code):
    """The exception class for an API error code; the base class for a code this SDK does not know."""
    return _BY_CODE.get(code, VilvikError)


def from_response(response):
    """The exception for a failed `requests.Response` (any body: ours, a proxy's HTML, nothing)."""
    request_id = response.headers.get("X-Request-Id") or None
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        code = error.get("code")
        cls = class_for_code(code)
        return cls(error.get("message") or f"HTTP {response.status_code}", status=response.status_code,
                   code=code, details=error.get("details"), request_id=error.get("request_id") or request_id,
                   headers=response.headers, body=body, param=error.get("param"), doc_url=error.get("doc_url"))
    text = (response.text or "").strip()
    message = f"HTTP {response.status_code} {response.reason or ''}".strip()
    if text:
        message += f": {text[:200]}"
    return VilvikError(message, status=response.status_code, request_id=request_id,
                       headers=response.headers, body=text or None)
