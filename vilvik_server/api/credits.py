"""/credits/ledger: every change to the account's credits."""
from flask import current_app, g
from flask.views import MethodView

from ..auth import require_scope
from ..domain import represent
from ..store import accounts as account_store
from . import responses
from .openapi import Blueprint, operation
from .schemas import LedgerEntrySchema, ListQuerySchema, list_schema

blp = Blueprint("credits", __name__, description="Credits and their ledger.")


@blp.route("/credits/ledger")
class Ledger(MethodView):
    @operation("list_ledger_entries")
    @require_scope("credits:read")
    @blp.arguments(ListQuerySchema(), location="query")
    @blp.response(200, list_schema(LedgerEntrySchema))
    def get(self, query):
        """The append-only ledger of your credits, newest first."""
        conn = current_app.extensions["vilvik"].db.connection()
        page = account_store.ledger_page(conn, g.account_id, query["cursor"], query["limit"])
        return responses.page(page, [represent.ledger_entry(row) for row in page.rows])
