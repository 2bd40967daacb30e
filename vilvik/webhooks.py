"""Verify the webhooks Vilvik sends, per the Standard Webhooks specification.

Each delivery carries three headers:

    webhook-id:        evt_...           (the same on every retry of one event: deduplicate on it)
    webhook-timestamp: 1780488000        (Unix seconds when it was signed)
    webhook-signature: v1,<base64>       (possibly several, space-separated, while a secret rotates)

and the signature is base64(HMAC-SHA256(key, "{id}.{timestamp}.{body}")) where key is
the base64 part of the endpoint's secret `whsec_<base64>`. `verify` recomputes it over
the raw body bytes exactly as received (parse the JSON only afterwards), compares in
constant time, and refuses a timestamp more than five minutes from now, so a captured
delivery cannot be replayed later.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time

from .errors import WebhookVerificationError

__all__ = ["verify", "sign", "WebhookVerificationError", "TOLERANCE_SECONDS"]

TOLERANCE_SECONDS = 5 * 60
SECRET_PREFIX = "whsec_"


def _key(secret):
    if isinstance(secret, bytes):
        return secret
    if not isinstance(secret, str) or not secret:
        raise WebhookVerificationError("the webhook secret is missing")
    encoded = secret[len(SECRET_PREFIX):] if secret.startswith(SECRET_PREFIX) else secret
    try:
        return base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError("the webhook secret is not whsec_<base64>") from None


def _body_bytes(payload):
    if isinstance(payload, (bytes, bytearray, memoryview)):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode("utf-8")
    raise TypeError("pass the raw request body (bytes or str), not parsed JSON")


def sign(payload, secret, msg_id, timestamp):
    """The `webhook-signature` value ("v1,<base64>") for this body, id and timestamp."""
    to_sign = f"{msg_id}.{int(timestamp)}.".encode() + _body_bytes(payload)
    digest = hmac.new(_key(secret), to_sign, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def verify(payload, headers, secret, *, tolerance=TOLERANCE_SECONDS, now=None):
    """Check a delivery's signature and timestamp; returns the parsed event, or raises WebhookVerificationError.

    `payload` is the raw body (bytes or str), `headers` any mapping of the request's
    headers (names in any case), `secret` the endpoint's `whsec_...` secret.
    """
    lowered = {str(name).lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    signatures = lowered.get("webhook-signature")
    if not msg_id or not stamp or not signatures:
        raise WebhookVerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(stamp)
    except (TypeError, ValueError):
        raise WebhookVerificationError("webhook-timestamp is not a Unix time in seconds") from None
    current = time.time() if now is None else now
    if timestamp < current - tolerance:
        raise WebhookVerificationError("the webhook timestamp is too old")
    if timestamp > current + tolerance:
        raise WebhookVerificationError("the webhook timestamp is too far in the future")
    body = _body_bytes(payload)
    expected = sign(body, secret, msg_id, timestamp).encode()
    for candidate in str(signatures).split():
        version, _, _ = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(candidate.encode(), expected):
            break
    else:
        raise WebhookVerificationError("no webhook signature matches")
    try:
        return json.loads(body)
    except ValueError:
        raise WebhookVerificationError("the webhook body is not JSON") from None
