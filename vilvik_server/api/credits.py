"""/credits/ledger: every change to the account's credits."""
from flask import current_app, g
from flask.views import MethodView

from ..auth import require_scope
from ..ids import micros_to_credits, rfc3339
from ..store import accounts as account_store
from . import represent
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
        return represent.page(page, [{
            "id": row["id"], "object": "ledger_entry", "created_at": rfc3339(row["created_at"]),
            "kind": row["kind"], "amount": micros_to_credits(row["amount_micros"]),
            "balance_after": micros_to_credits(row["balance_after_micros"]),
            "submission_id": row["submission_id"], "note": row["note"]} for row in page.rows])
