"""The delivery loop: sends due deliveries from the outbox, a few at a time, and retries them.

One thread claims due deliveries (a conditional UPDATE pending -> sending, with a
lease and a token) and hands each to a pool of WORKERS threads; a target (an
endpoint, or a one-off url) has at most PER_TARGET deliveries in flight and an
account at most WEBHOOK_IN_FLIGHT_PER_ACCOUNT, so slow receivers hold at most that
many threads and other accounts' events keep flowing. Each attempt is a POST with
`requests` (redirects not followed) through the SSRF guard, with a hard deadline of
WEBHOOK_TIMEOUT_SECONDS for the whole attempt (connecting, sending, the answer): a
receiver that trickles its answer is cut off then, not after each slow read. Its outcome
is stored in one transaction with the delivery's next state:
succeeded on a 2xx; failed on 410 Gone (which also disables the endpoint), on a
refused target, or when WEBHOOK_RETRY_SCHEDULE is used up; otherwise pending again
after the schedule's next delay with jitter (or the receiver's Retry-After on
429/503). Everything lives in the database, so a restart resumes where it was, and
a delivery whose sender died is claimed again when its lease runs out.
"""
import collections
import email.utils
import logging
import random
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import requests

from .. import __version__, claim_loop
from ..domain.words import plural
from ..clock import now
from ..store import events as event_store
from ..store import webhooks as webhook_store
from . import guard, signing, without_credentials

log = logging.getLogger("vilvik.webhooks")

WORKERS = 16               # deliveries in flight at once, over all targets
PER_TARGET = 2             # deliveries in flight at once to one endpoint or one-off url
TIMEOUT_SECONDS = 15       # a 2xx within this is success (the default of WEBHOOK_TIMEOUT_SECONDS)
LEASE_SECONDS = 120        # a delivery still `sending` this long after its claim belongs to a dead sender
MAX_IDLE_SECONDS = 1.0     # the loop looks for newly due deliveries at least this often
JITTER = 0.1               # each retry delay is stretched or shrunk by up to 10%
MAX_RETRY_AFTER = 24 * 3600
EXCERPT_BYTES = 1024
EXCERPT_CHARS = 500
USER_AGENT = f"Vilvik-Webhooks/{__version__}"


@dataclass
class Claimed:
    """A delivery this process holds, with what sending it needs."""
    row: object
    claim: str
    target: str
    secrets: list


class Deliverer:
    def __init__(self, db, settings, *, workers=WORKERS, per_target=PER_TARGET):
        self.timeout = settings.get("WEBHOOK_TIMEOUT_SECONDS", TIMEOUT_SECONDS)
        self.per_account = settings.get("WEBHOOK_IN_FLIGHT_PER_ACCOUNT", workers)
        self._in_flight_accounts = collections.Counter()  # account -> deliveries being sent
        self.db = db
        self.schedule = settings["WEBHOOK_RETRY_SCHEDULE"]  # seconds, parsed (defaults too) by load_settings
        self.allow_private = settings["WEBHOOK_ALLOW_PRIVATE"]
        self.workers = workers
        self.per_target = per_target
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._seats = threading.BoundedSemaphore(workers)
        self._in_flight = collections.Counter()  # target -> deliveries being sent
        self._in_flight_lock = threading.Lock()
        self._pool = None
        self._thread = None

    # -- life cycle -------------------------------------------------------------------------

    def start(self):
        """Start the loop thread and its pool of senders."""
        self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="vilvik-webhook")
        self._thread = threading.Thread(target=self._loop, name="vilvik-webhooks", daemon=True)
        self._thread.start()

    def wake(self):
        """Tell the loop a delivery was queued."""
        self._wake.set()

    def stop(self):
        """Stop claiming; wait for the attempts in flight (each ends within its timeout)."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join()
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)

    def run_until_idle(self):
        """Send every due delivery, one at a time, in this thread (tests); returns how many were sent."""
        sent = 0
        while (claimed := self._claim_next()) is not None:
            try:
                self._send(claimed)
            finally:
                self._release(claimed)
            sent += 1
        return sent

    # -- claiming ---------------------------------------------------------------------------

    def _loop(self):
        try:
            claim_loop.run(stopping=self._stopping, seats=self._seats, wake=self._wake, claim=self._claim_next,
                           hand_off=lambda claimed: self._pool.submit(self._send_claimed, claimed),
                           idle_seconds=self._idle_seconds, what="a webhook delivery")
        finally:
            self.db.close()

    def _idle_seconds(self):
        try:
            due = webhook_store.next_due_at(self.db.connection())
        except Exception:  # noqa: B902
            return MAX_IDLE_SECONDS
        if due is None:
            return MAX_IDLE_SECONDS
        wait = (_parse(due) - datetime.now(timezone.utc)).total_seconds()
        return min(MAX_IDLE_SECONDS, max(0.02, wait))

    def _claim_next(self):
        at = now()
        with self._in_flight_lock:
            busy = [target for target, count in self._in_flight.items() if count >= self.per_target]
            busy_accounts = [account for account, count in self._in_flight_accounts.items()
                             if count >= self.per_account]
        for candidate in webhook_store.due_deliveries(self.db.connection(), at, busy, busy_accounts=busy_accounts):
            token = uuid.uuid4().hex
            with self.db.transaction() as conn:
                if webhook_store.claim_delivery(conn, candidate["id"], at, _stamp(LEASE_SECONDS), token) is None:
                    continue  # another sender took it
                row = webhook_store.sending_context(conn, candidate["id"])
                if row["endpoint_id"] is None:
                    secrets = [webhook_store.default_secret(conn, row["account_id"], signing.new_secret)]
                else:
                    secrets = signing.signing_secrets(row["secret"], row["previous_secret"],
                                                      row["previous_secret_expires_at"])
            with self._in_flight_lock:
                self._in_flight[candidate["target"]] += 1
                self._in_flight_accounts[candidate["account_id"]] += 1
            return Claimed(row, token, candidate["target"], secrets)
        return None

    def _release(self, claimed):
        with self._in_flight_lock:
            for counter, key in ((self._in_flight, claimed.target),
                                 (self._in_flight_accounts, claimed.row["account_id"])):
                counter[key] -= 1
                if counter[key] <= 0:
                    del counter[key]

    def _send_claimed(self, claimed):
        try:
            self._send(claimed)
        except Exception:  # noqa: B902 - one bad delivery must not take a sender thread down
            log.exception("webhook delivery %s: sending failed", claimed.row["id"])
        finally:
            self._release(claimed)
            self._seats.release()
            self.db.close()
            self._wake.set()  # a retry may be due sooner than the loop's idle wait, or a target is free again

    # -- one attempt ------------------------------------------------------------------------

    def _send(self, claimed):
        row = claimed.row
        if row["endpoint_id"] is not None and not row["enabled"]:
            with self.db.transaction() as conn:
                webhook_store.fail_unsendable(conn, row["id"], claimed.claim, "the endpoint is disabled")
            return
        started_at = now()
        attempt = post(row["target_url"], row["event_id"], row["body"], claimed.secrets, self.allow_private,
                       timeout=self.timeout)
        self._store(claimed, attempt, started_at)

    def _store(self, claimed, attempt, started_at):
        row = claimed.row
        number = row["attempts"]
        final_status = final_error = next_attempt_at = None
        gone = attempt.status_code == 410
        if attempt.status_code is not None and 200 <= attempt.status_code < 300:
            final_status = "succeeded"
        elif gone or attempt.refused:
            final_status, final_error = "failed", attempt.error
        elif number > len(self.schedule):
            final_status = "failed"
            final_error = f"gave up after {plural(number, 'attempt')}; the last: {attempt.error}"
        else:
            delay = self.schedule[number - 1] * random.uniform(1 - JITTER, 1 + JITTER)
            if attempt.status_code in (429, 503) and attempt.retry_after is not None:
                delay = attempt.retry_after
            next_attempt_at = _stamp(delay)
        with self.db.transaction() as conn:
            stored = webhook_store.record_attempt(
                conn, row["id"], claimed.claim, number=number, url=row["target_url"], started_at=started_at,
                status_code=attempt.status_code, latency_ms=attempt.latency_ms, error=attempt.error,
                response_excerpt=attempt.excerpt, next_attempt_at=next_attempt_at, final_status=final_status,
                final_error=final_error)
            if not stored:
                return  # the endpoint was deleted meanwhile, or the lease ran out and another sender took over
            if final_status == "succeeded":
                event_store.mark_delivered(conn, row["event_id"])
            if row["endpoint_id"] is not None and final_status is not None:
                webhook_store.count_outcome(conn, row["endpoint_id"], final_status == "succeeded")
                if gone:
                    webhook_store.disable_endpoint(conn, row["endpoint_id"], "the receiver answered 410 Gone")
        level = logging.INFO if final_status == "succeeded" else logging.WARNING
        log.log(level, "webhook delivery %s (%s, attempt %d) to %s: %s%s", row["id"], row["event_type"], number,
                without_credentials(row["target_url"]), attempt.status_code or attempt.error,
                f"; retry at {next_attempt_at}" if next_attempt_at else f"; {final_status}")


@dataclass
class Attempt:
    status_code: int | None = None
    latency_ms: float | None = None
    error: str | None = None
    excerpt: str | None = None
    retry_after: float | None = None
    refused: bool = False


def post(url, msg_id, body, secrets, allow_private, timeout=TIMEOUT_SECONDS):
    """POST one signed delivery; returns what happened (never raises for a network failure).

    `timeout` bounds the whole attempt: when it passes, the attempt's sockets are shut
    down, whatever the receiver is in the middle of sending.
    """
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT,
               **signing.headers(secrets, msg_id, int(time.time()), body)}
    attempt = Attempt()
    started = time.monotonic()
    deadline = guard.Deadline(timeout)
    try:
        guard.check_url(url)
        with deadline, guard.session(allow_private) as session, \
                session.post(url, data=body.encode(), headers=headers, timeout=timeout,
                             allow_redirects=False, stream=True) as response:
            attempt.latency_ms = round((time.monotonic() - started) * 1000, 1)
            attempt.status_code = response.status_code
            attempt.retry_after = _retry_after(response.headers.get("Retry-After"))
            attempt.excerpt = _excerpt(response)
        if deadline.expired:  # the excerpt was cut short: the answer did not complete in time
            raise requests.Timeout()
    except guard.TargetRefused as exc:
        attempt.error, attempt.refused = f"refused: {exc}", True
    except requests.Timeout:
        attempt.status_code, attempt.excerpt = None, None
        attempt.error = f"no complete response within {timeout:g} s"
    except requests.RequestException as exc:
        if deadline.expired:
            attempt.status_code = None
            attempt.error = f"no complete response within {timeout:g} s"
        else:
            attempt.error = f"could not connect: {_innermost(exc)}"
    if attempt.latency_ms is None and not attempt.refused:
        attempt.latency_ms = round((time.monotonic() - started) * 1000, 1)
    if attempt.status_code is not None and not 200 <= attempt.status_code < 300:
        attempt.error = f"the receiver answered {attempt.status_code}" + (
            " (redirects are not followed)" if 300 <= attempt.status_code < 400 else "")
    return attempt


def _excerpt(response):
    try:
        head = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
    except Exception:  # noqa: B902 - the body is only for display
        return None
    return head.decode("utf-8", errors="replace")[:EXCERPT_CHARS] or None


def _retry_after(value):
    """Retry-After in seconds (a number or an HTTP date), within [0, a day]; None if absent or unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = (email.utils.parsedate_to_datetime(value) - datetime.now(timezone.utc)).total_seconds()
        except (TypeError, ValueError):
            return None
    if seconds != seconds:
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def _innermost(exc):
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    text = str(exc)
    return text[:300]


def _stamp(seconds_from_now):
    return (datetime.now(timezone.utc) + timedelta(seconds=seconds_from_now)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse(stamp):
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
