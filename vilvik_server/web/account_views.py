"""The dashboard, log out, API keys and the credits ledger."""
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, url_for
from marshmallow import ValidationError

from .. import errors
from ..domain import represent
from ..domain.inputs import KeyCreateSchema
from ..domain.scopes import SCOPES
from ..http import public_url
from ..clock import rfc3339
from ..money import micros_to_credits
from ..store import accounts as account_store
from ..store import keys as key_store
from ..store import submissions as submission_store
from . import forms, session
from .session import login_required

blp = Blueprint("web", __name__, template_folder="templates", static_folder="static",
                static_url_path="/assets/web")
KEY_CREATE = KeyCreateSchema()
DASHBOARD_ROWS = 10
PAGE_ROWS = 25


@blp.route("/")
@login_required
def dashboard():
    """Balance, active runs and the latest submissions."""
    services = current_app.extensions["vilvik"]
    conn = services.db.connection()
    active = [represent.submission(row, public_url()) for status in ("running", "queued")
              for row in submission_store.list_page(conn, g.account_id, status=status, limit=DASHBOARD_ROWS).rows]
    recent = submission_store.list_page(conn, g.account_id, limit=DASHBOARD_ROWS)
    return render_template("web/dashboard.html", credits=_credits(conn), active=active,
                           recent=[represent.submission(row, public_url()) for row in recent.rows],
                           more=recent.has_more,
                           counts=submission_store.account_counts(conn, g.account_id),
                           settings=services.settings)


@blp.route("/logout", methods=["POST"])
def logout():
    session.log_out()
    flash("You are logged out.")
    return redirect(url_for("web_login.login"))


@blp.route("/keys", methods=["GET", "POST"])
@login_required
def keys():
    """List the account's keys; create one (its secret is shown on this answer only)."""
    created, field_errors, message, status = None, {}, None, 200
    form = {"name": "", "scopes": list(SCOPES)}
    if request.method == "POST":
        form = {"name": request.form.get("name", ""), "scopes": request.form.getlist("scopes")}
        try:
            data = KEY_CREATE.load({"name": form["name"], "scopes": form["scopes"] or None})
        except ValidationError as exc:
            field_errors, message = forms.field_errors(exc.messages)
            status = 422
        else:
            # The account's owner holds every scope, so any set may be granted.
            with current_app.extensions["vilvik"].db.transaction() as conn:
                key_id, secret = key_store.create(conn, g.account_id, data["scopes"] or SCOPES, name=data["name"])
                created = represent.key(key_store.get(conn, key_id), secret)
            form = {"name": "", "scopes": list(SCOPES)}
    conn = current_app.extensions["vilvik"].db.connection()
    page = key_store.list_page(conn, g.account_id, request.args.get("cursor"), PAGE_ROWS)
    return render_template("web/keys.html", keys=[represent.key(row) for row in page.rows], page=page,
                           created=created, scopes=SCOPES, form=form, errors=field_errors,
                           message=message), status


@blp.route("/keys/<key_id>/revoke", methods=["POST"])
@login_required
def revoke_key(key_id):
    with current_app.extensions["vilvik"].db.transaction() as conn:
        if not key_store.revoke(conn, g.account_id, key_id):
            raise errors.NotFound(f"no key {key_id}")
    current_app.extensions["vilvik"].keys.forget(key_id)
    flash(f"Key {key_id} is revoked: requests with it now fail with 401.")
    return redirect(url_for("web.keys"))


@blp.route("/credits")
@login_required
def credits():
    """The balance and the ledger, newest first."""
    conn = current_app.extensions["vilvik"].db.connection()
    page = account_store.ledger_page(conn, g.account_id, request.args.get("cursor"), PAGE_ROWS)
    entries = [{"id": row["id"], "created_at": rfc3339(row["created_at"]), "kind": row["kind"],
                "amount": micros_to_credits(row["amount_micros"]),
                "balance_after": micros_to_credits(row["balance_after_micros"]),
                "submission_id": row["submission_id"], "note": row["note"]} for row in page.rows]
    return render_template("web/credits.html", credits=_credits(conn), entries=entries, page=page,
                           settings=current_app.extensions["vilvik"].settings)


def _credits(conn):
    account = account_store.get(conn, g.account_id)
    return {"available": micros_to_credits(account["available_micros"]),
            "reserved": micros_to_credits(account["reserved_micros"]),
            "balance": micros_to_credits(account["available_micros"] + account["reserved_micros"])}
