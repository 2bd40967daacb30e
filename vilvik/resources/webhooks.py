"""`client.webhooks` (endpoints and their deliveries) and `client.events`.

To check a webhook your server received, use `vilvik.webhooks.verify` (the module),
not this resource.
"""
from __future__ import annotations

from ..objects import Event, WebhookDelivery, WebhookEndpoint
from ..pagination import ListIterator
from .submissions import Resource, _id, new_idempotency_key


class WebhooksResource(Resource):
    """Webhook endpoints: create, list, get, update, delete, rotate_secret, test; their deliveries; default_secret."""

    def _endpoint(self, body):
        return WebhookEndpoint.from_dict(body, self._client)

    def _delivery(self, body):
        return WebhookDelivery.from_dict(body, self._client)

    def _post(self, path, body=None, idempotency_key=None):
        return self._client.request_json("POST", path, json=body,
                                         idempotency_key=idempotency_key or new_idempotency_key())

    def list(self, *, limit=None):
        """Your webhook endpoints."""
        return ListIterator(self._client, "/webhooks", {"limit": limit}, self._endpoint)

    def create(self, url, *, events=None, description=None, enabled=None, idempotency_key=None):
        """Register `url` for `events` (default: all); the returned `.secret` signs its deliveries."""
        body = {"url": url, "events": events, "description": description, "enabled": enabled}
        return self._endpoint(self._post("/webhooks", {k: v for k, v in body.items() if v is not None},
                                         idempotency_key))

    def get(self, endpoint_id):
        return self._endpoint(self._client.request_json("GET", f"/webhooks/{_id(endpoint_id)}"))

    def update(self, endpoint_id, *, url=None, events=None, description=None, enabled=None):
        """Change an endpoint's url, events filter, description or enabled flag."""
        body = {"url": url, "events": events, "description": description, "enabled": enabled}
        return self._endpoint(self._client.request_json(
            "PATCH", f"/webhooks/{_id(endpoint_id)}", json={k: v for k, v in body.items() if v is not None}))

    def delete(self, endpoint_id):
        self._client.request_json("DELETE", f"/webhooks/{_id(endpoint_id)}")

    def rotate_secret(self, endpoint_id, *, idempotency_key=None):
        """A new signing secret for the endpoint (in `.secret` of the returned endpoint)."""
        return self._endpoint(self._post(f"/webhooks/{_id(endpoint_id)}/rotate-secret",
                                         idempotency_key=idempotency_key))

    def test(self, endpoint_id, *, idempotency_key=None):
        """Send the endpoint a `ping` event; returns the delivery."""
        return self._delivery(self._post(f"/webhooks/{_id(endpoint_id)}/test", idempotency_key=idempotency_key))

    def deliveries(self, endpoint_id, *, limit=None):
        """Each delivery attempt to the endpoint: status code, latency, error, next retry."""
        return ListIterator(self._client, f"/webhooks/{_id(endpoint_id)}/deliveries", {"limit": limit},
                            self._delivery)

    def default_secret(self):
        """The `whsec_...` secret that signs the deliveries of a submission's one-off `webhook_url`."""
        return self._client.request_json("GET", "/webhooks/default/secret")["secret"]

    def redeliver(self, endpoint_id, delivery_id, *, idempotency_key=None):
        """Send a delivery's event again."""
        return self._delivery(self._post(f"/webhooks/{_id(endpoint_id)}/deliveries/{_id(delivery_id)}/redeliver",
                                         idempotency_key=idempotency_key))


class EventsResource(Resource):
    def list(self, *, type=None, undelivered=None, limit=None):
        """Your account's events, newest first; `undelivered=True` for those no endpoint has taken yet."""
        return ListIterator(self._client, "/events", {"type": type, "undelivered": undelivered, "limit": limit},
                            lambda body: Event.from_dict(body, self._client))
