"""Fences around capacity that requests hold for long: a total and a share per account.

A `Fence` counts what is held (waits, event streams) on this server and per account;
`take()` gives a `Ticket` or None when either cap is reached. A ticket is given back
once, however often it is released, so every path that may end a hold (the stream's
own end, the response being closed, the client going away) can release it safely.
"""
import threading


class Fence:
    def __init__(self, total, per_account):
        self.total = total
        self.per_account = per_account
        self._lock = threading.Lock()
        self._held = 0
        self._by_account = {}

    def take(self, account_id):
        """A ticket for one more hold, or None (and why: "total" or "account") when a cap is reached."""
        with self._lock:
            if self._held >= self.total:
                return None, "total"
            if self._by_account.get(account_id, 0) >= self.per_account:
                return None, "account"
            self._held += 1
            self._by_account[account_id] = self._by_account.get(account_id, 0) + 1
            return Ticket(self, account_id), None

    def held(self, account_id=None):
        with self._lock:
            return self._held if account_id is None else self._by_account.get(account_id, 0)

    def _give_back(self, account_id):
        with self._lock:
            self._held -= 1
            left = self._by_account[account_id] - 1
            if left:
                self._by_account[account_id] = left
            else:
                del self._by_account[account_id]


class Ticket:
    def __init__(self, fence, account_id):
        self._fence = fence
        self._account_id = account_id
        self._lock = threading.Lock()
        self._released = False

    def release(self):
        with self._lock:
            if self._released:
                return
            self._released = True
        self._fence._give_back(self._account_id)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.release()
