"""`Client`: configuration, a lazily created `requests.Session`, and one request loop with retries."""
from __future__ import annotations

import json as jsonlib
import os
import platform
from datetime import datetime, timezone

import requests

from . import __version__, errors
from .resources import (AccountResource, CreditsResource, EventsResource, ExperimentsResource, KeysResource,
                        QuickResource, ResultsResource, SubmissionsResource, WebhooksResource)
from .retry import RetryPolicy

DEFAULT_BASE_URL = "http://127.0.0.1:5000/api/v1"
DEFAULT_TIMEOUT = 30.0
DEFAULT_MAX_RETRIES = 3
API_PREFIX = "/api/v1"


def normalize_base_url(url):
    """`http://host:5000`, `http://host:5000/` and `http://host:5000/api/v1/` all mean the same API root."""
    url = url.strip().rstrip("/")
    if not url.lower().startswith(("http://", "https://")):
        raise ValueError(f"the base URL must start with http:// or https:// (http://{url.split('://')[-1]}?), "
                         f"got {url!r}")
    if not url.endswith(API_PREFIX):
        url += API_PREFIX
    return url


KEY_VARIABLES = ("VILVIK_API_KEY", "VILVIK_KEY")  # the second: an older name, still accepted


def key_from_environment():
    """The API key from `$VILVIK_API_KEY`, else `$VILVIK_KEY`; None when neither is set."""
    for name in KEY_VARIABLES:
        if os.environ.get(name, "").strip():
            return os.environ[name].strip()
    return None


class Client:
    """A Vilvik API client: `client.submissions`, `client.results`, `client.account`, ...

    `api_key` defaults to `$VILVIK_API_KEY` (`$VILVIK_KEY` is accepted too), `base_url` to
    `$VILVIK_BASE_URL` (then to a local server); `timeout` is seconds per HTTP request; `max_retries` is how often a
    request that is safe to repeat is retried after a connection error, 429 or 503.
    """

    def __init__(self, api_key=None, base_url=None, timeout=DEFAULT_TIMEOUT, max_retries=DEFAULT_MAX_RETRIES):
        self.api_key = api_key if api_key is not None else key_from_environment()
        self.base_url = normalize_base_url(base_url or os.environ.get("VILVIK_BASE_URL") or DEFAULT_BASE_URL)
        self.timeout = timeout
        self.retry = RetryPolicy(max_retries=max_retries)
        self._session = None
        self.submissions = SubmissionsResource(self)
        self.experiments = ExperimentsResource(self)
        self.results = ResultsResource(self)
        self.account = AccountResource(self)
        self.credits = CreditsResource(self)
        self.keys = KeysResource(self)
        self.webhooks = WebhooksResource(self)
        self.events = EventsResource(self)
        self.quick = QuickResource(self)

    def __repr__(self):
        return f"<vilvik.Client base_url={self.base_url!r}>"

    @property
    def session(self):
        """The `requests.Session`, created on first use (nothing touches the network before that)."""
        if self._session is None:
            session = requests.Session()
            session.headers["User-Agent"] = (f"vilvik-python/{__version__} requests/{requests.__version__} "
                                             f"python/{platform.python_version()}")
            session.headers["Accept"] = "application/json"
            self._session = session
        return self._session

    def close(self):
        """Close the HTTP connections; the client opens new ones if used again."""
        if self._session is not None:
            self._session.close()
            self._session = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def health(self):
        """`GET /health` (no key needed): `{"status": "ok", "version": ..., "queue": {...}}`."""
        return self.request_json("GET", "/health", auth=False)

    def request(self, method, path, *, params=None, json=None, headers=None, idempotency_key=None,
                timeout=None, stream=False, auth=True):
        """Send one API request (retrying when safe); returns the `requests.Response` or raises `VilvikError`."""
        method = method.upper()
        url = self.base_url + path
        sent_headers = dict(headers or {})
        if auth:
            if not self.api_key:
                raise errors.AuthenticationError("no API key: pass Client(api_key=...) or set VILVIK_API_KEY",
                                                 code="unauthenticated")
            sent_headers["Authorization"] = f"Bearer {self.api_key}"
        if idempotency_key:
            # The same key on every attempt: a retried POST is answered, never acted on twice.
            sent_headers["Idempotency-Key"] = idempotency_key
        query = _query(params)
        body = None
        if json is not None:
            body = _json_body(json)
            sent_headers.setdefault("Content-Type", "application/json")
        attempt = 0
        while True:
            try:
                response = self.session.request(method, url, params=query, data=body, headers=sent_headers,
                                                timeout=timeout or self.timeout, stream=stream)
            except requests.RequestException as exc:
                if self.retry.should_retry(attempt, method, idempotency_key, exception=exc):
                    self.retry.sleep(self.retry.delay(attempt))
                    attempt += 1
                    continue
                raise errors.APIConnectionError(f"could not reach {url}: {exc}") from exc
            if response.status_code < 400:
                return response
            retry = self.retry.should_retry(attempt, method, idempotency_key, response=response)
            delay = self.retry.delay(attempt, response) if retry else None
            error = errors.from_response(response)
            response.close()
            if not retry:
                raise error
            self.retry.sleep(delay)
            attempt += 1

    def request_json(self, method, path, **kwargs):
        """`request`, then the decoded JSON body (None for an empty body such as a 204)."""
        response = self.request(method, path, **kwargs)
        with response:
            if response.status_code == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise errors.VilvikError(f"the server sent a body that is not JSON: {response.text[:200]!r}",
                                         status=response.status_code,
                                         request_id=response.headers.get("X-Request-Id")) from None


def _json_body(value):
    """A request body as JSON bytes; numpy arrays and scalars (what PyGAD code has at hand) become the
    lists and numbers they hold. NaN and infinities are refused: JSON has no such numbers."""
    try:
        return jsonlib.dumps(value, default=_plain, allow_nan=False).encode()
    except ValueError as exc:
        raise ValueError(f"the request body cannot be sent as JSON: {exc}") from None


def _plain(value):
    tolist = getattr(value, "tolist", None)   # numpy.ndarray, numpy.int64, ...: without importing numpy
    if callable(tolist):
        return tolist()
    raise TypeError(f"the request body cannot be sent as JSON: {type(value).__name__} is not a JSON type")


def _query(params):
    """Query parameters as the API reads them: None dropped, booleans lower-case, datetimes RFC 3339."""
    if not params:
        return None
    query = {}
    for name, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        elif isinstance(value, datetime):
            if value.tzinfo is not None:
                value = value.astimezone(timezone.utc).replace(tzinfo=None)
            value = value.isoformat(timespec="seconds") + "Z"
        query[name] = value
    return query
