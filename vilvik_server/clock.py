"""Time stamps: how the server stores a moment, shows it, and reads one from a request."""
from datetime import datetime, timezone

STORED = "%Y-%m-%dT%H:%M:%S.%fZ"


def now():
    """The current time as an RFC 3339 UTC string with microseconds (sortable)."""
    return datetime.now(timezone.utc).strftime(STORED)


def rfc3339(stamp):
    """A stored time stamp as shown by the API (whole seconds, Z)."""
    if stamp is None:
        return None
    return stamp[:19] + "Z"


def parse_time(text):
    """Parse an RFC 3339 time from a query string into our stored form."""
    return _parse(text).strftime(STORED)


def epoch(stamp):
    """A stored (or RFC 3339) time stamp as seconds since the epoch."""
    return _parse(stamp).timestamp()


def _parse(text):
    value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)
