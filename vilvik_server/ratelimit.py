"""Request rate limits on the `limits` library: per key, per account, and failed website logins.

Every request that carries a token counts against that token's window (RATE_LIMIT),
checked before the key is looked up, so an unknown key cannot be used to probe
without being counted; its bucket is a hash of the token. Once the key is known,
the request also counts against its account's window (ACCOUNT_RATE_LIMIT), so
making more keys does not multiply what an account may send. Requests without a
token, and those to the routes that need none (health, the OpenAPI document, the
playground), are not limited here.

The X-RateLimit-* headers describe the limit closer to refusing (the one with fewer
requests left; the key's on a tie), and X-RateLimit-Scope names it: `key` or
`account`. Both windows are sliding-window counters (O(1) per request; bursts are
fine as long as the window's total stays under the limit).

The `limits` library is called directly instead of through flask-limiter, whose
per-request machinery (resolving decorated and application limits, its own
before/after hooks) cost about a third of a status read.
"""
import hashlib
import math
import threading
import time

from flask import current_app, g, request
from limits import parse
from limits.storage import storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from . import errors


class RateLimits:
    def __init__(self, settings):
        uri = settings["RATE_LIMIT_STORAGE_URI"]
        if uri.startswith("memory://"):
            self.strategy = MemoryWindows()
        else:
            self.strategy = SlidingWindowCounterRateLimiter(storage_from_string(uri))
        self.per_key = parse(settings["RATE_LIMIT"])
        self.per_account = parse(settings["ACCOUNT_RATE_LIMIT"])
        self.login = parse(settings["LOGIN_RATE_LIMIT"])

    def hit(self, limit, scope, identity):
        """Count one request; a Window, refused or not."""
        if isinstance(self.strategy, MemoryWindows):
            allowed, reset_at, remaining = self.strategy.hit_with_stats(limit, scope, identity)
        else:
            allowed = self.strategy.hit(limit, scope, identity)
            reset_at, remaining = self.strategy.get_window_stats(limit, scope, identity)
        return Window(scope, limit.amount, remaining, reset_at, allowed)

    def refused(self, limit, scope, identity):
        """Without counting: is this window already full? (the Window, or None while it has room)"""
        if self.strategy.test(limit, scope, identity):
            return None
        reset_at, remaining = self.strategy.get_window_stats(limit, scope, identity)
        return Window(scope, limit.amount, remaining, reset_at, False)


class MemoryWindows:
    """The sliding-window counter of limits' SlidingWindowCounterRateLimiter, kept in this
    process's memory: the same arithmetic, answers and headers (tests/test_rate_limits.py
    compares the two hit by hit).

    Written here because limits' MemoryStorage costs about 11 us a window per request
    (generic key strings, a lock and an expiry entry per counter, each counter read
    three times) and starts a threading.Timer from incr() whenever none is alive; this
    is one dict entry per window, one lock, and one pass that counts and reports
    (2.2 us). Other storages (RATE_LIMIT_STORAGE_URI, e.g. redis://) go through limits.
    Entries of windows that ended are swept at most once every SWEEP_SECONDS.
    """

    SWEEP_SECONDS = 10.0

    def __init__(self):
        self._lock = threading.Lock()
        self._windows = {}  # (scope, identity, seconds, amount) -> [window number, previous count, current count]
        self._next_sweep = time.time() + self.SWEEP_SECONDS

    def _counts(self, limit, identifiers, now):
        """(previous count, current count, the entry) for the window `now` falls in (call under the lock)."""
        expiry = limit.get_expiry()
        key = (*identifiers, expiry, limit.amount)
        number = int(now / expiry)
        entry = self._windows.get(key)
        if entry is None or entry[0] < number - 1:
            entry = self._windows[key] = [number, 0, 0]
        elif entry[0] == number - 1:
            entry[:] = [number, entry[2], 0]
        return entry

    @staticmethod
    def _weighted(limit, previous, current, now):
        expiry = limit.get_expiry()
        previous_ttl = (1 - (((now - expiry) / expiry) % 1)) * expiry if previous else 0.0
        return previous * previous_ttl / expiry + current, previous_ttl

    @staticmethod
    def _stats(limit, previous, current, now):
        expiry = limit.get_expiry()
        weighted, previous_ttl = MemoryWindows._weighted(limit, previous, current, now)
        remaining = max(0, limit.amount - math.floor(weighted))
        if not (previous or current):
            return now, remaining
        previous_reset_in = previous_ttl % (expiry / previous) if previous else math.inf
        current_ttl = (1 - ((now / expiry) % 1)) * expiry + expiry
        current_reset_in = current_ttl % expiry if current else math.inf
        return now + min(previous_reset_in, current_reset_in), remaining

    def hit_with_stats(self, limit, *identifiers, cost=1):
        """Count `cost` if the window has room: (allowed, reset at, remaining)."""
        now = time.time()
        with self._lock:
            self._sweep(now)
            entry = self._counts(limit, identifiers, now)
            weighted, _ = self._weighted(limit, entry[1], entry[2], now)
            allowed = cost <= limit.amount and math.floor(weighted) + cost <= limit.amount
            if allowed:
                entry[2] += cost
            reset_at, remaining = self._stats(limit, entry[1], entry[2], now)
        return allowed, reset_at, remaining

    def hit(self, limit, *identifiers, cost=1):
        return self.hit_with_stats(limit, *identifiers, cost=cost)[0]

    def test(self, limit, *identifiers, cost=1):
        now = time.time()
        with self._lock:
            entry = self._counts(limit, identifiers, now)
            weighted, _ = self._weighted(limit, entry[1], entry[2], now)
        return weighted < limit.amount - cost + 1

    def get_window_stats(self, limit, *identifiers):
        now = time.time()
        with self._lock:
            entry = self._counts(limit, identifiers, now)
            return self._stats(limit, entry[1], entry[2], now)

    def _sweep(self, now):
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.SWEEP_SECONDS
        for key, entry in list(self._windows.items()):
            if entry[0] < int(now / key[-2]) - 1:
                del self._windows[key]


class Window:
    __slots__ = ("scope", "limit", "remaining", "reset_at", "allowed")

    def __init__(self, scope, limit, remaining, reset_at, allowed):
        self.scope, self.limit, self.remaining, self.reset_at, self.allowed = scope, limit, remaining, reset_at, allowed

    def headers(self):
        return {"X-RateLimit-Limit": str(self.limit), "X-RateLimit-Remaining": str(self.remaining),
                "X-RateLimit-Reset": str(int(self.reset_at)), "X-RateLimit-Scope": self.scope}

    def retry_after(self):
        return str(max(1, math.ceil(self.reset_at - time.time())))


def init_app(app, settings):
    limits = RateLimits(settings)
    app.before_request(_check_key)
    app.after_request(_add_headers)
    return limits


def _limits():
    return current_app.extensions["vilvik"].limiter


# A window a request answered beneath Flask (api/beneath_flask.py: the status read, the plain
# accept) already counted, handed on in the WSGI environ when Flask answers the request after all.
COUNTED_KEY_WINDOW = "vilvik.counted_key_window"
COUNTED_ACCOUNT_WINDOW = "vilvik.counted_account_window"


def count_key(limits, token):
    """Count one request against the window of the key with this token (known or not)."""
    return limits.hit(limits.per_key, "key", hashlib.sha256(token.encode()).hexdigest()[:32])


def count_account(limits, account_id):
    """Count one request against the account's window."""
    return limits.hit(limits.per_account, "account", account_id)


# The API's routes that need no key: a key sent to them anyway is neither counted nor refused.
PUBLIC_PATHS = ("/api/v1/health", "/api/v1/openapi.json")
PLAYGROUND = "/api/v1/docs"


def _check_key():
    if not request.path.startswith("/api/") or request.path in PUBLIC_PATHS or request.path.startswith(PLAYGROUND):
        return
    header = request.headers.get("Authorization")
    if not header:
        return
    window = request.environ.get(COUNTED_KEY_WINDOW) or count_key(_limits(), header.partition(" ")[2].strip())
    g.rate_limit = g.rate_limit_key = window
    if not window.allowed:
        raise _refusal(window)


def check_account(account_id):
    """Count this request against its account's window (called once the key is known)."""
    if "rate_limit" not in g:
        return  # not a limited request (no token, or not under /api/)
    window = g.rate_limit_account = request.environ.get(COUNTED_ACCOUNT_WINDOW) or count_account(_limits(), account_id)
    g.rate_limit = closer_to_refusing(g.rate_limit, window)
    if not window.allowed:
        raise _refusal(window)


def closer_to_refusing(key_window, account_window):
    """The window the X-RateLimit-* headers describe: the account's when it refused or has fewer
    requests left, else the key's (also on a tie)."""
    if not account_window.allowed or account_window.remaining < key_window.remaining:
        return account_window
    return key_window


def _refusal(window):
    error = errors.RateLimited(f"too many requests for this {window.scope}; retry after {window.retry_after()} s",
                               details={"scope": window.scope, "limit": window.limit})
    error.headers["Retry-After"] = window.retry_after()
    return error


def _add_headers(response):
    window = g.get("rate_limit")
    if window is not None:
        response.headers.update(window.headers())
    return response


def refuse_login_when_full(identities):
    """Raise 429 while any of `identities` has used up LOGIN_RATE_LIMIT failed logins."""
    limits = _limits()
    for identity in identities:
        window = limits.refused(limits.login, "login", identity)
        if window is not None:
            error = errors.RateLimited("too many login attempts; wait and try again")
            error.headers["Retry-After"] = window.retry_after()
            raise error


def count_failed_login(identities):
    limits = _limits()
    for identity in identities:
        limits.strategy.hit(limits.login, "login", identity)


def current_windows():
    """This request's windows as {"key": Window or None, "account": Window or None}."""
    return {"key": g.get("rate_limit_key"), "account": g.get("rate_limit_account")}
