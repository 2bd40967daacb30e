"""Webhooks: events recorded with the changes that cause them, delivered from a durable outbox.

    events.py    record an event and queue one delivery per endpoint that wants it (same transaction)
    signing.py   Standard Webhooks secrets and signatures (the `standardwebhooks` package)
    guard.py     the SSRF guard: only http(s), addresses checked at connect time after DNS
    delivery.py  the delivery loop: claims due deliveries, sends them with bounded concurrency, retries

This module holds only the names the request schemas need, so importing it is cheap.
"""
from urllib.parse import urlsplit

SUBMISSION_EVENTS = ("submission.started", "result.completed", "result.failed", "submission.cancelled")
EXPERIMENT_EVENTS = ("experiment.completed",)
ENDPOINT_EVENTS = SUBMISSION_EVENTS + EXPERIMENT_EVENTS  # what a registered endpoint can subscribe to
PING = "ping"
EVENT_TYPES = ENDPOINT_EVENTS + (PING,)
ALL = "*"
MAX_URL_LENGTH = 2048


def subscribed(wanted, event_type):
    """Does an events filter (a list of types, "*" for all) take this event type?"""
    return ALL in wanted or event_type in wanted


def url_problem(url):
    """Why `url` cannot be a webhook target, or None (addresses are checked later, at send time)."""
    if len(url) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if not parts.hostname or any(ch.isspace() for ch in url):
        return "is not a valid URL"
    return None


def without_credentials(url):
    """`url` as a log line may show it: a user name and password in it (sent as Basic auth) become ***."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return url
    return parts._replace(netloc="***@" + parts.netloc.rpartition("@")[2]).geturl()


def validate_url(url):
    """A marshmallow validator for a webhook target URL."""
    from marshmallow import ValidationError

    problem = url_problem(url)
    if problem:
        raise ValidationError(problem)
