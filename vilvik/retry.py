"""When to retry a request and how long to wait first.

Retried: connection errors and timeouts, `429` and `503` — but only for requests
that are safe to repeat: GETs, and POSTs carrying an `Idempotency-Key` (the server
answers a repeated key with the first response instead of acting twice). A `409`
with `Retry-After` on such a POST means "the first request with this key is still
being processed" and is retried too. The wait is the server's `Retry-After` when
it sent one (plus up to 10 % jitter, never less), otherwise an exponential back-off
with jitter; a `Retry-After` longer than `max_retry_after` is not waited out: the
error is raised so the caller can decide.
"""
from __future__ import annotations

import email.utils
import random
import time
from datetime import datetime, timezone

import requests

RETRY_STATUSES = (429, 503)
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
RETRYABLE_EXCEPTIONS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def parse_retry_after(value):
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); None if absent or bad."""
    if value is None:
        return None
    value = str(value).strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class RetryPolicy:
    """How many times to retry, and the delay before each retry."""

    def __init__(self, max_retries=3, initial_delay=0.5, max_delay=8.0, max_retry_after=60.0,
                 sleep=time.sleep, jitter=random.random):
        self.max_retries = max_retries
        self.initial_delay = initial_delay
        self.max_delay = max_delay
        self.max_retry_after = max_retry_after
        self.sleep = sleep
        self.jitter = jitter

    def can_repeat(self, method, idempotency_key):
        """Whether this request may be sent again without risk of acting twice."""
        return method.upper() in SAFE_METHODS or bool(idempotency_key)

    def should_retry(self, attempt, method, idempotency_key, response=None, exception=None):
        """Retry after `attempt` failed tries (0-based count of retries so far)?"""
        if attempt >= self.max_retries or not self.can_repeat(method, idempotency_key):
            return False
        if exception is not None:
            return isinstance(exception, RETRYABLE_EXCEPTIONS)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if retry_after is not None and retry_after > self.max_retry_after:
            return False
        if response.status_code in RETRY_STATUSES:
            return True
        return response.status_code == 409 and bool(idempotency_key) and retry_after is not None

    def delay(self, attempt, response=None):
        """Seconds to wait before retry number `attempt + 1`."""
        retry_after = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
        if retry_after is not None:
            return retry_after * (1 + 0.1 * self.jitter())
        backoff = min(self.max_delay, self.initial_delay * (2 ** attempt))
        return backoff * (0.5 + 0.5 * self.jitter())
