"""Identifiers, time stamps and money units shared by every module."""
import secrets
import string
from datetime import datetime, timezone
from decimal import ROUND_HALF_UP, Decimal

_ALPHABET = string.ascii_letters + string.digits
MICROS = 1_000_000


def new_id(length=12):
    """A random id of [A-Za-z0-9] (12 characters by default)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def now():
    """The current time as an RFC 3339 UTC string with microseconds (sortable)."""
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def rfc3339(stamp):
    """A stored time stamp as shown by the API (whole seconds, Z)."""
    if stamp is None:
        return None
    return stamp[:19] + "Z"


def parse_time(text):
    """Parse an RFC 3339 time from a query string into our stored form."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def credits_to_micros(amount):
    """A decimal credit amount (number or string) as integer micro-credits."""
    return int((Decimal(str(amount)) * MICROS).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def micros_to_credits(micros):
    """Integer micro-credits as the decimal number the API shows."""
    if micros is None:
        return None
    return float(Decimal(micros) / MICROS)
