"""/webhooks: register endpoints, rotate their secrets, test them, and see and repeat their deliveries.

The schemas of these bodies live here rather than in schemas.py, beside the only views that use them
(what a create request may send is in domain/inputs.py: the website's form loads it too).
"""
from flask import current_app, g
from flask.views import MethodView
from marshmallow import Schema, fields, validate

from .. import errors
from ..auth import require_scope
from ..domain import represent_webhooks
from ..domain.inputs import EndpointCreateSchema, StrictBoolean, event_filter
from ..idempotency import idempotent
from ..store import webhooks as webhook_store
from ..webhooks import endpoints, signing, validate_url
from . import responses
from .openapi import Blueprint, operation, ref
from .schemas import ListQuerySchema, ResponseSchema, list_schema

blp = Blueprint("webhooks", __name__, description="Webhook endpoints and their deliveries.")


class EndpointUpdateSchema(Schema):
    url = fields.String(validate=validate_url)
    events = event_filter()
    description = fields.String(validate=validate.Length(max=500))
    enabled = StrictBoolean(metadata={"description": "true re-enables an endpoint that a 410 Gone disabled"})


def _time(nullable=False, **metadata):
    return fields.String(required=True, allow_none=nullable, metadata={"format": "date-time", **metadata})


class EndpointSchema(ResponseSchema):
    id = fields.String(required=True)
    object = fields.String(required=True, metadata={"example": "webhook_endpoint"})
    url = fields.String(required=True, metadata={"format": "uri"})
    events = fields.List(fields.String(), required=True, metadata={"description": "event types, or [\"*\"] for all"})
    description = fields.String(required=True)
    enabled = fields.Boolean(required=True)
    disabled_reason = fields.String(required=True, allow_none=True)
    failure_count = fields.Integer(required=True, metadata={"description": "deliveries that failed after every retry"})
    last_success_at = _time(nullable=True)
    last_failure_at = _time(nullable=True)
    previous_secret_expires_at = _time(
        nullable=True, description="after a rotation: until then, the old secret signs too")
    created_at = _time()
    updated_at = _time()
    secret = fields.String(metadata={"description": "whsec_...: only on create and rotate-secret"})


class AttemptSchema(ResponseSchema):
    number = fields.Integer(required=True)
    created_at = _time()
    url = fields.String(required=True, metadata={"format": "uri"})
    status_code = fields.Integer(required=True, allow_none=True)
    latency_ms = fields.Float(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)
    response_excerpt = fields.String(required=True, allow_none=True)
    next_retry_at = _time(nullable=True)


class DeliverySchema(ResponseSchema):
    id = fields.String(required=True)
    object = fields.String(required=True, metadata={"example": "webhook_delivery"})
    webhook_id = fields.String(required=True)
    event_id = fields.String(required=True, metadata={"description": "also the webhook-id header, the same on every "
                                                                     "retry"})
    event_type = fields.String(required=True)
    status = fields.String(required=True, metadata={"openapi": ref("DeliveryStatus")})
    attempt = fields.Integer(required=True, metadata={"description": "attempts made so far"})
    status_code = fields.Integer(required=True, allow_none=True, metadata={"description": "of the last attempt"})
    latency_ms = fields.Float(required=True, allow_none=True)
    error = fields.String(required=True, allow_none=True)
    response_excerpt = fields.String(required=True, allow_none=True)
    next_retry_at = _time(nullable=True)
    redelivery_of = fields.String(required=True, allow_none=True)
    created_at = _time()
    finished_at = _time(nullable=True)
    attempts = fields.List(fields.Nested(AttemptSchema), required=True)


class DefaultSecretSchema(ResponseSchema):
    object = fields.String(required=True, metadata={"example": "webhook_secret"})
    secret = fields.String(required=True)


ENDPOINT_EXAMPLE = {"url": "https://example.com/hooks/vilvik", "events": ["result.completed", "result.failed"],
                    "description": "my receiver"}


def _services():
    return current_app.extensions["vilvik"]


def _endpoint(conn, webhook_id):
    return endpoints.get(conn, g.account_id, webhook_id)


def _queued(delivery_row, event_type):
    return represent_webhooks.delivery(dict(delivery_row, event_type=event_type), []), 202


@blp.route("/webhooks")
class Webhooks(MethodView):
    @operation("list_webhooks")
    @require_scope("webhooks:read")
    @blp.arguments(ListQuerySchema(), location="query")
    @blp.response(200, list_schema(EndpointSchema))
    def get(self, query):
        """List your webhook endpoints, newest first."""
        page = webhook_store.list_endpoints(_services().db.connection(), g.account_id, query["cursor"], query["limit"])
        return responses.page(page, [represent_webhooks.endpoint(row) for row in page.rows])

    @operation("create_webhook", errors.QuotaExceeded)
    @require_scope("webhooks:write")
    @idempotent
    @blp.arguments(EndpointCreateSchema(), example=ENDPOINT_EXAMPLE)
    @blp.response(201, EndpointSchema)
    def post(self, data):
        """Register an endpoint; its signing secret is in this response (and after each rotate-secret)."""
        row, secret = endpoints.create(_services(), g.account_id, data)
        return represent_webhooks.endpoint(row, secret), 201


@blp.route("/webhooks/<string:webhook_id>")
class WebhookById(MethodView):
    @operation("get_webhook", errors.NotFound)
    @require_scope("webhooks:read")
    @blp.response(200, EndpointSchema)
    def get(self, webhook_id):
        """Fetch one endpoint: its filter, whether it is enabled, and how its deliveries fare."""
        return represent_webhooks.endpoint(_endpoint(_services().db.connection(), webhook_id))

    @operation("update_webhook", errors.NotFound)
    @require_scope("webhooks:write")
    @blp.arguments(EndpointUpdateSchema(), example={"enabled": True})
    @blp.response(200, EndpointSchema)
    def patch(self, data, webhook_id):
        """Change the url, events filter, description or enabled flag; disabling fails what is pending."""
        with _services().db.transaction() as conn:
            _endpoint(conn, webhook_id)
            return represent_webhooks.endpoint(webhook_store.update_endpoint(conn, g.account_id, webhook_id, data))

    @operation("delete_webhook", errors.NotFound)
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
    @operation("rotate_webhook_secret", errors.NotFound)
    @require_scope("webhooks:write")
    @idempotent
    @blp.response(200, EndpointSchema)
    def post(self, webhook_id):
        """Make a new signing secret; for 24 hours deliveries carry signatures by the old and the new one."""
        row, secret = endpoints.rotate_secret(_services(), g.account_id, webhook_id)
        return represent_webhooks.endpoint(row, secret)


@blp.route("/webhooks/<string:webhook_id>/test")
class WebhookTest(MethodView):
    @operation("send_webhook_test", errors.NotFound, errors.Conflict)
    @require_scope("webhooks:write")
    @idempotent
    @blp.response(202, DeliverySchema)
    def post(self, webhook_id):
        """Send the endpoint a `ping` event; returns its delivery (watch it in the deliveries list)."""
        return _queued(endpoints.send_ping(_services(), g.account_id, webhook_id), "ping")


@blp.route("/webhooks/<string:webhook_id>/deliveries")
class WebhookDeliveries(MethodView):
    @operation("list_webhook_deliveries", errors.NotFound)
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
    @operation("redeliver_webhook_delivery", errors.NotFound, errors.Conflict)
    @require_scope("webhooks:write")
    @idempotent
    @blp.response(202, DeliverySchema)
    def post(self, webhook_id, delivery_id):
        """Send a delivery's event again, as a new delivery with the same webhook-id."""
        return _queued(*endpoints.redeliver(_services(), g.account_id, webhook_id, delivery_id))


@blp.route("/webhooks/default/secret")
class WebhookDefaultSecret(MethodView):
    @operation("get_default_webhook_secret")
    @require_scope("webhooks:write")
    @blp.response(200, DefaultSecretSchema)
    def get(self):
        """The secret that signs your submissions' one-off `webhook_url` deliveries."""
        with _services().db.transaction() as conn:
            secret = webhook_store.default_secret(conn, g.account_id, signing.new_secret)
        return {"object": "webhook_secret", "secret": secret}
