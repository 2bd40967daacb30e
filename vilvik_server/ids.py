"""Identifiers: random, URL-safe, hard to guess (time stamps are in clock.py, credits in money.py)."""
import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


_UNBIASED = 256 - 256 % len(_ALPHABET)  # bytes below this map evenly onto the alphabet


def new_id(length=12):
    """A random id of [A-Za-z0-9] (12 characters by default), every character uniform.

    One `secrets.token_bytes` call per id rather than one `secrets.choice` per character
    (a tenth of the time): each byte below a multiple of 62 picks a character, others
    are dropped, so no character is likelier than another.
    """
    chars = []
    while len(chars) < length:
        chars.extend(_ALPHABET[byte % len(_ALPHABET)] for byte in secrets.token_bytes(length + 4)
                     if byte < _UNBIASED)
    return "".join(chars[:length])
