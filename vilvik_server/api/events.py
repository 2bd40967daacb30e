"""/events: an account's webhook events, so a receiver that was down can catch up."""
from flask import current_app, g
from flask.views import MethodView
from marshmallow import fields, validate

from ..auth import require_scope
from ..domain import represent_webhooks
from ..store import events as event_store
from ..webhooks import EVENT_TYPES
from . import responses
from .openapi import Blueprint, operation, ref
from .schemas import ListQuerySchema, ResponseSchema, list_schema

blp = Blueprint("events", __name__, description="Webhook events, to catch up on what a receiver missed.")


class EventListQuerySchema(ListQuerySchema):
    type = fields.String(load_default=None, allow_none=False, validate=validate.OneOf(EVENT_TYPES),
                         metadata={"openapi": ref("EventType")})
    undelivered = fields.Boolean(load_default=False, metadata={
        "description": "only events no receiver has answered with a 2xx yet"})


class EventSchema(ResponseSchema):
    id = fields.String(required=True, metadata={"description": "evt_...; the webhook-id header of its deliveries"})
    object = fields.String(required=True, metadata={"example": "event"})
    type = fields.String(required=True, metadata={"description": f"{', '.join(EVENT_TYPES)} (more may come)"})
    created_at = fields.String(required=True, metadata={"format": "date-time"})
    data = fields.Dict(required=True, metadata={"description": "the payload: the submission, and for results "
                                                               "their summary and result_url"})
    delivered_at = fields.String(required=True, allow_none=True, metadata={
        "format": "date-time", "description": "the first 2xx from a receiver"})


@blp.route("/events")
class Events(MethodView):
    @operation("list_events")
    @require_scope("webhooks:read")
    @blp.arguments(EventListQuerySchema(), location="query")
    @blp.response(200, list_schema(EventSchema))
    def get(self, query):
        """Your events, newest first; ?undelivered=true for those no receiver has taken, ?type= to pick one kind."""
        conn = current_app.extensions["vilvik"].db.connection()
        page = event_store.list_page(conn, g.account_id, type=query["type"], undelivered=query["undelivered"],
                                     cursor=query["cursor"], limit=query["limit"])
        return responses.page(page, [represent_webhooks.event(row) for row in page.rows])
