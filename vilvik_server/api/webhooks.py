"""/webhooks: register endpoints, rotate their secrets, test them, and see and repeat their deliveries.

The schemas of these bodies live here rather than in schemas.py, beside the only views that use them
(what a create request may send is in domain/inputs.py: the website's form loads it too).
"""
from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from .. import errors
from ..auth import require_scope
from ..domain import represent_webhooks
from ..domain.inputs import EndpointCreateSchema, event_filter
from ..idempotency import idempotent
from ..store import webhooks as webhook_store
from ..webhooks import endpoints, signing, validate_url
from . import responses
from .schemas import ListQuerySchema, list_schema

blp = Blueprint("webhooks", __name__, description="Webhook endpoints and their deliveries.")


class EndpointUpdateSchema(Schema):
    url = fields.String(validate=validate_url)
    events = event_filter()
    description = fields.String(validate=validate.Length(max=500))
    enabled = fields.Boolean(metadata={"description": "true re-enables an endpoint that a 410 Gone disabled"})


class EndpointSchema(Schema):
    id = fields.String()
    object = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    description = fields.String()
    enabled = fields.Boolean()
    disabled_reason = fields.String(allow_none=True)
    failure_count = fields.Integer(metadata={"description": "deliveries that failed after every retry"})
    last_success_at = fields.String(allow_none=True)
    last_failure_at = fields.String(allow_none=True)
    previous_secret_expires_at = fields.String(
        allow_none=True, metadata={"description": "after a rotation: until then, the old secret signs too"})
    created_at = fields.String()
    updated_at = fields.String()
    secret = fields.String(metadata={"description": "whsec_...: only on create and rotate-secret"})


class AttemptSchema(Schema):
    number = fields.Integer()
    created_at = fields.String()
    url = fields.String()
    status_code = fields.Integer(allow_none=True)
    latency_ms = fields.Float(allow_none=True)
    error = fields.String(allow_none=True)
    response_excerpt = fields.String(allow_none=True)
    next_retry_at = fields.String(allow_none=True)


class DeliverySchema(Schema):
    id = fields.String()
    object = fields.String()
    webhook_id = fields.String()
    event_id = fields.String(metadata={"description": "also the webhook-id header, the same on every retry"})
    event_type = fields.String()
    status = fields.String(metadata={"enum": ["pending", "sending", "succeeded", "failed"]})
    attempt = fields.Integer(metadata={"description": "attempts made so far"})
    status_code = fields.Integer(allow_none=True, metadata={"description": "of the last attempt"})
    latency_ms = fields.Float(allow_none=True)
    error = fields.String(allow_none=True)
    response_excerpt = fields.String(allow_none=True)
    next_retry_at = fields.String(allow_none=True)
    redelivery_of = fields.String(allow_none=True)
    created_at = fields.String()
    finished_at = fields.String(allow_none=True)
    attempts = fields.List(fields.Nested(AttemptSchema))


class DefaultSecretSchema(Schema):
    object = fields.String()
    secret = fields.String()


def _services():
    return current_app.extensions["vilvik"]


def _endpoint(conn, webhook_id):
    return endpoints.get(conn, g.account_id, webhook_id)


def _queued(delivery_row, event_type):
    return represent_webhooks.delivery(dict(delivery_row, event_type=event_type), []), 202


@blp.route("/webhooks")
class Webhooks(MethodView):
    @require_scope("webhooks:read")
    @blp.arguments(ListQuerySchema(), location="query")
    @blp.response(200, list_schema(EndpointSchema))
    def get(self, query):
        """List your webhook endpoints, newest first."""
        page = webhook_store.list_endpoints(_services().db.connection(), g.account_id, query["cursor"], query["limit"])
        return responses.page(page, [represent_webhooks.endpoint(row) for row in page.rows])

    @require_scope("webhooks:write")
    @idempotent
    @blp.arguments(EndpointCreateSchema())
    @blp.response(201, EndpointSchema)
    def post(self, data):
        """Register an endpoint; its signing secret is in this response (and after each rotate-secret)."""
        row, secret = endpoints.create(_services(), g.account_id, data)
        return represent_webhooks.endpoint(row, secret), 201


@blp.route("/webhooks/<string:webhook_id>")
class WebhookById(MethodView):
    @require_scope("webhooks:read")
    @blp.response(200, EndpointSchema)
    def get(self, webhook_id):
        """Fetch one endpoint: its filter, whether it is enabled, and how its deliveries fare."""
        return represent_webhooks.endpoint(_endpoint(_services().db.connection(), webhook_id))

    @require_scope("webhooks:write")
    @blp.arguments(EndpointUpdateSchema())
    @blp.response(200, EndpointSchema)
    def patch(self, data, webhook_id):
        """Change the url, events filter, description or enabled flag; disabling fails what is pending."""
        with _services().db.transaction() as conn:
            _endpoint(conn, webhook_id)
            return represent_webhooks.endpoint(webhook_store.update_endpoint(conn, g.account_id, webhook_id, data))

    @require_scope("webhooks:write")
    @blp.response(204)
    def delete(self, webhook_id):
        """Delete an endpoint with its delivery history; nothing more is sent to it."""
        with _services().db.transaction() as conn:
            if not webhook_store.delete_endpoint(conn, g.account_id, webhook_id):
                raise errors.NotFound(f"no webhook endpoint {webhook_id}")
        return "", 204


@blp.route("/webhooks/<string:webhook_id>/rotate-secret")
class WebhookRotateSecret(MethodView):
    @require_scope("webhooks:write")
    @idempotent
    @blp.response(200, EndpointSchema)
    def post(self, webhook_id):
        """Make a new signing secret; for 24 hours deliveries carry signatures by the old and the new one."""
        row, secret = endpoints.rotate_secret(_services(), g.account_id, webhook_id)
        return represent_webhooks.endpoint(row, secret)


@blp.route("/webhooks/<string:webhook_id>/test")
class WebhookTest(MethodView):
    @require_scope("webhooks:write")
    @idempotent
    @blp.response(202, DeliverySchema)
    def post(self, webhook_id):
        """Send the endpoint a `ping` event; returns its delivery (watch it in the deliveries list)."""
        return _queued(endpoints.send_ping(_services(), g.account_id, webhook_id), "ping")


@blp.route("/webhooks/<string:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @require_scope("webhooks:read")
    @blp.arguments(ListQuerySchema(), location="query")
    @blp.response(200, list_schema(DeliverySchema))
    def get(self, query, webhook_id):
        """The endpoint's deliveries, newest first, each with every attempt: time, status code, latency, error."""
        conn = _services().db.connection()
        _endpoint(conn, webhook_id)
        page = webhook_store.list_deliveries(conn, g.account_id, webhook_id, query["cursor"], query["limit"])
        attempts = webhook_store.attempts_of(conn, [row["id"] for row in page.rows])
        return responses.page(page, [represent_webhooks.delivery(row, attempts[row["id"]]) for row in page.rows])


@blp.route("/webhooks/<string:webhook_id>/deliveries/<string:delivery_id>/redeliver")
class WebhookRedeliver(MethodView):
    @require_scope("webhooks:write")
    @idempotent
    @blp.response(202, DeliverySchema)
    def post(self, webhook_id, delivery_id):
        """Send a delivery's event again, as a new delivery with the same webhook-id."""
        return _queued(*endpoints.redeliver(_services(), g.account_id, webhook_id, delivery_id))


@blp.route("/webhooks/default/secret")
class WebhookDefaultSecret(MethodView):
    @require_scope("webhooks:write")
    @blp.response(200, DefaultSecretSchema)
    def get(self):
        """The secret that signs your submissions' one-off `webhook_url` deliveries."""
        with _services().db.transaction() as conn:
            secret = webhook_store.default_secret(conn, g.account_id, signing.new_secret)
        return {"object": "webhook_secret", "secret": secret}
