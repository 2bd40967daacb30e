"""`client.account`, `client.credits` and `client.keys`."""
from __future__ import annotations

from ..errors import KeySecretLostError
from ..objects import Account, ApiKey, LedgerEntry
from ..pagination import ListIterator
from .submissions import Resource, _id, new_idempotency_key


class AccountResource(Resource):
    def get(self):
        """Your account: email, credits (balance, reserved, available), limits and usage."""
        return Account.from_dict(self._client.request_json("GET", "/account"), self._client)


class CreditsResource(Resource):
    def ledger(self, *, limit=None):
        """Every change to your credits, newest first (grant, reserve, release, charge, refund, adjustment)."""
        return ListIterator(self._client, "/credits/ledger", {"limit": limit},
                            lambda body: LedgerEntry.from_dict(body, self._client))

    def balance(self):
        """Your credits now: `.balance`, `.reserved`, `.available`."""
        return self._client.account.get().credits


class KeysResource(Resource):
    """API keys: list (prefixes only), create (the secret is shown once), revoke."""

    def _build(self, body):
        return ApiKey.from_dict(body, self._client)

    def list(self, *, limit=None):
        """Your active keys."""
        return ListIterator(self._client, "/keys", {"limit": limit}, self._build)

    def create(self, name=None, scopes=None, *, idempotency_key=None):
        """A new key with `scopes` (default: every scope the calling key has); `.secret` is its only copy.

        Raises `KeySecretLostError` when the answer is a replay without the secret (the first answer
        was lost, or `idempotency_key` was used before): that key exists; revoke it and create another.
        """
        body = {key: value for key, value in (("name", name), ("scopes", scopes)) if value is not None}
        key = self._build(self._client.request_json("POST", "/keys", json=body,
                                                    idempotency_key=idempotency_key or new_idempotency_key()))
        if not key.secret:  # a replayed answer: the server keeps only the secret's hash
            raise KeySecretLostError(key)
        return key

    def delete(self, key_id):
        """Revoke a key: requests with it fail with 401 from now on."""
        self._client.request_json("DELETE", f"/keys/{_id(key_id)}")

    revoke = delete
