"""`Prefer: wait=N` on an accept: hold the answer until the run has ended or N seconds have passed.

Shared by the accept through Flask (api/submissions.py) and the plain accept beneath it
(api/plain_accept.py), so both wait, and refuse to wait, alike.
"""
import re

from ..domain import represent
from ..store import submissions as submission_store

MAX_WAIT_SECONDS = 60
# RFC 7240: a preference's name is case-insensitive (Wait=5 is wait=5)
_PREFER_WAIT = re.compile(r"(?:^|[;,\s])wait\s*=\s*(\d+)", re.IGNORECASE)


def preferred_wait(prefer_header):
    """The seconds a `Prefer` header asks to wait (at most MAX_WAIT_SECONDS), or None."""
    match = _PREFER_WAIT.search(prefer_header or "")
    if match is None:
        return None
    digits = match.group(1).lstrip("0") or "0"
    return MAX_WAIT_SECONDS if len(digits) > 3 else min(int(digits), MAX_WAIT_SECONDS)


def wait_for_end(services, row, wait):
    """Wait up to `wait` seconds for the accepted `row` to end; returns (waited, its row now).

    A wait holds a serving thread: past the server's or the account's share of waits
    (services.waits) there is none, and (False, None) comes back at once, as it does
    when `wait` is None.
    """
    if wait is None:
        return False, None
    ticket, _full = services.waits.take(row["account_id"])
    if ticket is None:
        return False, None
    with ticket:
        return True, services.executor.wait_terminal(row["id"], wait)


def answer_after(accepted, final, public_url):
    """What an accept answers after its wait: (the whole submission, True) when the run ended in time,
    else (the `accepted` body with the status the run has by now, False)."""
    if final is not None and final["status"] in submission_store.TERMINAL:
        return represent.submission(final, public_url), True
    if final is not None:
        accepted["status"] = final["status"]  # running by now, perhaps
    return accepted, False
