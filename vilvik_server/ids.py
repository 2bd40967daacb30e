"""Identifiers: random, URL-safe, hard to guess (time stamps are in clock.py, credits in money.py)."""
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def new_id(length=12):
    """A random id of [A-Za-z0-9] (12 characters by default)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))
