"""Webhooks: endpoints (create, enable or disable, delete), secret rotation, test pings, deliveries, redeliver.

Schemas, bodies, secrets and events are the API's own (domain/, webhooks/); the
few steps its views take inline around them (the endpoint quota, "enabled first") are
mirrored here and should move to one service function both call.
"""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from .. import errors
from ..domain import represent_webhooks
from ..domain.inputs import EndpointCreateSchema
from ..store import webhooks as webhook_store
from ..webhooks import ALL, ENDPOINT_EVENTS, endpoints
from . import forms
from .session import login_required

blp = Blueprint("web_webhooks", __name__, template_folder="templates")
ENDPOINT_CREATE = EndpointCreateSchema()
PAGE_ROWS = 25


@blp.route("/webhooks", methods=["GET", "POST"])
@login_required
def index():
    """The account's endpoints, and a form to add one (its signing secret is shown on that answer only)."""
    db = current_app.extensions["vilvik"].db
    created, field_errors, message, status = None, {}, None, 200
    form = {"url": "", "description": "", "events": [ALL]}
    if request.method == "POST":
        form = {"url": request.form.get("url", "").strip(), "description": request.form.get("description", ""),
                "events": request.form.getlist("events") or [ALL]}
        try:
            row, secret = endpoints.create(current_app.extensions["vilvik"], g.account_id, ENDPOINT_CREATE.load(form))
            created = represent_webhooks.endpoint(row, secret)
            form = {"url": "", "description": "", "events": [ALL]}
        except ValidationError as exc:
            (field_errors, message), status = forms.field_errors(exc.messages), 422
        except errors.QuotaExceeded as exc:
            message, status = exc.message, exc.status
    page = webhook_store.list_endpoints(db.connection(), g.account_id, request.args.get("cursor"), PAGE_ROWS)
    return render_template("web/webhooks.html", endpoints=[represent_webhooks.endpoint(row) for row in page.rows],
                           page=page,
                           created=created, form=form, errors=field_errors, message=message,
                           event_types=(ALL,) + ENDPOINT_EVENTS), status


@blp.route("/webhooks/<webhook_id>")
@login_required
def show(webhook_id):
    """One endpoint: its settings and its deliveries, each with every attempt."""
    conn = current_app.extensions["vilvik"].db.connection()
    endpoint = represent_webhooks.endpoint(_endpoint(conn, webhook_id))
    page = webhook_store.list_deliveries(conn, g.account_id, webhook_id, request.args.get("cursor"), PAGE_ROWS)
    attempts = webhook_store.attempts_of(conn, [row["id"] for row in page.rows])
    return render_template("web/webhook.html", endpoint=endpoint, page=page,
                           deliveries=[represent_webhooks.delivery(row, attempts[row["id"]]) for row in page.rows])


@blp.route("/webhooks/<webhook_id>/enabled", methods=["POST"])
@login_required
def set_enabled(webhook_id):
    enabled = request.form.get("enabled") == "true"
    with current_app.extensions["vilvik"].db.transaction() as conn:
        _endpoint(conn, webhook_id)
        webhook_store.update_endpoint(conn, g.account_id, webhook_id, {"enabled": enabled})
    flash("The endpoint is enabled." if enabled else "The endpoint is disabled; what it had pending has failed.")
    return redirect(url_for("web_webhooks.show", webhook_id=webhook_id))


@blp.route("/webhooks/<webhook_id>/rotate-secret", methods=["POST"])
@login_required
def rotate_secret(webhook_id):
    """A new signing secret, shown on this answer only; the old one signs too for a while."""
    row, secret = endpoints.rotate_secret(current_app.extensions["vilvik"], g.account_id, webhook_id)
    conn = current_app.extensions["vilvik"].db.connection()
    page = webhook_store.list_deliveries(conn, g.account_id, webhook_id, None, PAGE_ROWS)
    attempts = webhook_store.attempts_of(conn, [r["id"] for r in page.rows])
    return render_template("web/webhook.html", endpoint=represent_webhooks.endpoint(row), secret=secret,
                           page=page,
                           deliveries=[represent_webhooks.delivery(r, attempts[r["id"]]) for r in page.rows])


@blp.route("/webhooks/<webhook_id>/test", methods=["POST"])
@login_required
def send_test(webhook_id):
    try:
        endpoints.send_ping(current_app.extensions["vilvik"], g.account_id, webhook_id)
        flash("A ping event is on its way; its delivery is listed below.")
    except errors.Conflict:
        flash("The endpoint is disabled; enable it first.", "error")
    return redirect(url_for("web_webhooks.show", webhook_id=webhook_id))


@blp.route("/webhooks/<webhook_id>/deliveries/<delivery_id>/redeliver", methods=["POST"])
@login_required
def redeliver(webhook_id, delivery_id):
    try:
        endpoints.redeliver(current_app.extensions["vilvik"], g.account_id, webhook_id, delivery_id)
        flash(f"Delivery {delivery_id} is sent again as a new delivery, with the same webhook-id.")
    except errors.Conflict:
        flash("The endpoint is disabled; enable it first.", "error")
    return redirect(url_for("web_webhooks.show", webhook_id=webhook_id))


@blp.route("/webhooks/<webhook_id>/delete", methods=["POST"])
@login_required
def delete(webhook_id):
    with current_app.extensions["vilvik"].db.transaction() as conn:
        if not webhook_store.delete_endpoint(conn, g.account_id, webhook_id):
            raise errors.NotFound(f"no webhook endpoint {webhook_id}")
    flash(f"Webhook endpoint {webhook_id} is deleted with its delivery history.")
    return redirect(url_for("web_webhooks.index"))


def _endpoint(conn, webhook_id):
    return endpoints.get(conn, g.account_id, webhook_id)
