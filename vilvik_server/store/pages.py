"""Cursor pagination over a table's `seq` column, newest first.

A cursor is the opaque encoding of the last `seq` a page showed; the next page is
the rows with a smaller `seq`. Rows added meanwhile have larger `seq`s and rows
deleted simply vanish, so no row is skipped or repeated.
"""
import base64
from dataclasses import dataclass

from ..errors import ValidationFailed

MAX_LIMIT = 100
DEFAULT_LIMIT = 20


@dataclass
class Page:
    rows: list
    has_more: bool
    next_cursor: str | None


def encode_cursor(seq):
    return base64.urlsafe_b64encode(f"v1:{seq}".encode()).decode().rstrip("=")


def decode_cursor(cursor):
    """The `seq` a cursor stands for; a malformed cursor is a validation error."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, seq = text.split(":")
        if version != "v1" or not seq.isascii() or not seq.isdigit() or len(seq) > 18:
            raise ValueError(version)  # a seq SQLite can hold: 0 <= seq < 10**18 < 2**63
        return int(seq)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed.for_fields({"cursor": ["is not a cursor this server issued"]}) from None


def fetch_page(conn, sql, params, cursor, limit):
    """Run `sql` (a SELECT with a `{cursor}` placeholder for an extra condition)."""
    condition = "AND seq < ?" if cursor else ""
    args = list(params) + ([decode_cursor(cursor)] if cursor else [])
    rows = conn.execute(sql.format(cursor=condition) + " ORDER BY seq DESC LIMIT ?", args + [limit + 1]).fetchall()
    has_more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, has_more, encode_cursor(rows[-1]["seq"]) if has_more else None)
