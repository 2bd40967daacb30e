"""API keys this process has looked up in the last second, so a request need not read its key's row.

Every API request starts with its key: a SELECT whose sqlite3 calls hand the interpreter
lock to the other request threads, about a tenth of a served status read's CPU at 16
connections. A found key is kept for KEY_CACHE_SECONDS. A revocation through this server
(the API, the website) drops it at once (`forget`); one made by another process (the
`revoke-key` command) takes effect within that second. Unknown keys are never kept: a key
created a moment ago works at once, and requests with wrong keys cannot grow the cache.
"""
import threading
import time

from .store import keys as key_store

KEY_CACHE_SECONDS = 1.0
MAX_KEYS = 10_000  # more distinct keys than this within a second: the cache starts again empty


class KeyCache:
    def __init__(self, db, seconds=KEY_CACHE_SECONDS):
        self.db = db
        self.seconds = seconds
        self._keys = {}  # SHA-256 of the secret -> (monotonic expiry, the key as a dict)
        self._lock = threading.Lock()  # only around changes; a read is one dict lookup

    def find_active(self, token):
        """The unrevoked key with this secret (a dict of key_store.find_active's columns), or None."""
        digest = key_store.hash_secret(token)
        hit = self._keys.get(digest)
        now = time.monotonic()
        if hit is not None and hit[0] > now:
            return hit[1]
        row = key_store.find_active(self.db.connection(), token)
        with self._lock:
            if row is None:
                self._keys.pop(digest, None)
                return None
            if len(self._keys) >= MAX_KEYS:
                self._keys.clear()
            key = dict(row)
            self._keys[digest] = (now + self.seconds, key)
        return key

    def forget(self, key_id):
        """Drop a key (it was just revoked): its next request reads the row again."""
        with self._lock:
            for digest, (_, key) in list(self._keys.items()):
                if key["id"] == key_id:
                    del self._keys[digest]
