"""Per-key request rate limiting (flask-limiter), with the X-RateLimit-* headers on every response.

The key is a hash of the Bearer token, so the limit is checked before the key is
looked up and an unknown key cannot be used to probe without being counted.
Requests without a token (health, the OpenAPI document, the playground) are not
limited here.
"""
import hashlib

from flask import request
from flask_limiter import Limiter


def _token_bucket():
    token = request.headers.get("Authorization", "").partition(" ")[2].strip()
    return "key:" + hashlib.sha256(token.encode()).hexdigest()[:32]


def _no_token():
    return not request.path.startswith("/api/") or not request.headers.get("Authorization")


def init_app(app, settings):
    """Limit every request that carries a token to RATE_LIMIT over a sliding window (bursts are fine)."""
    limiter = Limiter(
        key_func=_token_bucket,
        app=app,
        # An application limit is one window per key across every endpoint (a default
        # limit would give each endpoint its own window).
        application_limits=[settings["RATE_LIMIT"]],
        application_limits_exempt_when=_no_token,
        storage_uri=settings["RATE_LIMIT_STORAGE_URI"],
        strategy="sliding-window-counter",  # O(1) per request; a moving window is O(requests in it)
        headers_enabled=True,
    )
    return limiter
