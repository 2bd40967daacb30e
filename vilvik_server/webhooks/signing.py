"""Standard Webhooks signing: `whsec_` secrets, and the headers each delivery carries.

The `standardwebhooks` package (the specification's own reference code) computes
`v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`; while a secret rotates, the
signature header carries one such value per secret, space-separated.
"""
import base64
import secrets as random_secrets
from datetime import datetime, timedelta, timezone

from standardwebhooks import Webhook

from ..clock import now

SECRET_PREFIX = "whsec_"
ROTATION_OVERLAP = timedelta(hours=24)  # the old secret keeps signing this long after a rotation


def new_secret():
    """A fresh signing secret: whsec_ and 32 random bytes in base64."""
    return SECRET_PREFIX + base64.b64encode(random_secrets.token_bytes(32)).decode()


def signature(secrets, msg_id, timestamp, body):
    """The webhook-signature value: one `v1,<base64>` per secret, space-separated."""
    when = datetime.fromtimestamp(timestamp, tz=timezone.utc)
    return " ".join(Webhook(secret).sign(msg_id, when, body) for secret in secrets)


def headers(secrets, msg_id, timestamp, body):
    """The Standard Webhooks headers for one attempt (`body` is the exact text sent)."""
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(timestamp)),
            "webhook-signature": signature(secrets, msg_id, int(timestamp), body)}


def rotation_overlap_end():
    """Until when the secret being replaced now keeps signing (a stored time stamp)."""
    return (datetime.now(timezone.utc) + ROTATION_OVERLAP).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def signing_secrets(current, previous=None, previous_until=None, at=None):
    """The secrets a delivery is signed with: the current one, and the previous one while it overlaps."""
    found = [current]
    if previous and previous_until and previous_until > (at or now()):
        found.append(previous)
    return found

