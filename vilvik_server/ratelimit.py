"""Request rate limits on the `limits` library: per key, per account, and failed website logins.

Every request that carries a token counts against that token's window (RATE_LIMIT),
checked before the key is looked up, so an unknown key cannot be used to probe
without being counted; its bucket is a hash of the token. Once the key is known,
the request also counts against its account's window (ACCOUNT_RATE_LIMIT), so
making more keys does not multiply what an account may send. Requests without a
token (health, the OpenAPI document, the playground) are not limited here.

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
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from . import errors


class RateLimits:
    def __init__(self, settings):
        uri = settings["RATE_LIMIT_STORAGE_URI"]
        self.storage = MemoryCounters() if uri.startswith("memory://") else storage_from_string(uri)
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self.per_key = parse(settings["RATE_LIMIT"])
        self.per_account = parse(settings["ACCOUNT_RATE_LIMIT"])
        self.login = parse(settings["LOGIN_RATE_LIMIT"])

    def hit(self, limit, scope, identity):
        """Count one request; a Window, refused or not."""
        allowed = self.strategy.hit(limit, scope, identity)
        reset_at, remaining = self.strategy.get_window_stats(limit, scope, identity)
        return Window(scope, limit.amount, remaining, reset_at, allowed)

    def refused(self, limit, scope, identity):
        """Without counting: is this window already full? (the Window, or None while it has room)"""
        if self.strategy.test(limit, scope, identity):
            return None
        reset_at, remaining = self.strategy.get_window_stats(limit, scope, identity)
        return Window(scope, limit.amount, remaining, reset_at, False)


class MemoryCounters(MemoryStorage):
    """limits' memory storage without its expiry thread: MemoryStorage starts a threading.Timer
    from incr() whenever none is alive (dozens a second under load, each waiting for its
    thread to start). Expired counters are dropped when read, as there, and swept here
    inline at most once every SWEEP_SECONDS."""

    SWEEP_SECONDS = 10.0

    def __init__(self):
        super().__init__()
        self._sweep_lock = threading.Lock()
        self._next_sweep = time.time() + self.SWEEP_SECONDS

    def incr(self, key, expiry, amount=1):
        self.get(key)  # drops the counter if it has expired
        self._sweep()
        with self.locks[key]:
            self.storage[key] += amount
            if self.storage[key] == amount:
                self.expirations[key] = time.time() + expiry
        return self.storage.get(key, 0)

    def decr(self, key, amount=1):
        self.get(key)
        with self.locks[key]:
            self.storage[key] = max(self.storage[key] - amount, 0)
        return self.storage.get(key, 0)

    def _sweep(self):
        now = time.time()
        if now < self._next_sweep or not self._sweep_lock.acquire(blocking=False):
            return
        try:
            self._next_sweep = now + self.SWEEP_SECONDS
            for key, expires in list(self.expirations.items()):
                if expires <= now:
                    self.storage.pop(key, None)
                    self.expirations.pop(key, None)
                    self.locks.pop(key, None)
        finally:
            self._sweep_lock.release()


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


def _check_key():
    if not request.path.startswith("/api/"):
        return
    header = request.headers.get("Authorization")
    if not header:
        return
    token = header.partition(" ")[2].strip()
    limits = _limits()
    window = limits.hit(limits.per_key, "key", hashlib.sha256(token.encode()).hexdigest()[:32])
    g.rate_limit = g.rate_limit_key = window
    if not window.allowed:
        raise _refusal(window)


def check_account(account_id):
    """Count this request against its account's window (called once the key is known)."""
    if "rate_limit" not in g:
        return  # not a limited request (no token, or not under /api/)
    limits = _limits()
    window = g.rate_limit_account = limits.hit(limits.per_account, "account", account_id)
    if not window.allowed or window.remaining < g.rate_limit.remaining:
        g.rate_limit = window
    if not window.allowed:
        raise _refusal(window)


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
