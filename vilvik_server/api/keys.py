"""/keys: list, create and revoke API keys."""
from flask import current_app, g
from flask.views import MethodView

from .. import errors
from ..auth import require_scope
from ..idempotency import idempotent
from ..domain import represent
from ..store import keys as key_store
from . import responses
from .openapi import Blueprint, operation
from .schemas import KEY_EXAMPLE, KeyCreateSchema, KeySchema, ListQuerySchema, list_schema

blp = Blueprint("keys", __name__, description="Manage API keys.")


@blp.route("/keys")
class Keys(MethodView):
    @operation("list_keys")
    @require_scope("keys:write")
    @blp.arguments(ListQuerySchema(), location="query")
    @blp.response(200, list_schema(KeySchema))
    def get(self, query):
        """List your active keys (their prefixes, never their secrets)."""
        conn = current_app.extensions["vilvik"].db.connection()
        page = key_store.list_page(conn, g.account_id, query["cursor"], query["limit"])
        return responses.page(page, [represent.key(row) for row in page.rows])

    @operation("create_key", errors.InsufficientScope)
    @require_scope("keys:write")
    @idempotent(withhold=("secret",))  # shown once, stored only as a hash: a replay answers without it
    @blp.arguments(KeyCreateSchema(), example=KEY_EXAMPLE)
    @blp.response(201, KeySchema)
    def post(self, data):
        """Create a key; its secret is in this response and never again."""
        held = g.api_key["scopes"].split()
        scopes = data["scopes"] if data["scopes"] is not None else held
        lacking = sorted(set(scopes) - set(held))
        if lacking:
            raise errors.InsufficientScope(f"a key cannot grant scopes it lacks: {', '.join(lacking)}",
                                           details={"required_scope": lacking[0], "lacking": lacking})
        db = current_app.extensions["vilvik"].db
        with db.transaction() as conn:
            key_id, secret = key_store.create(conn, g.account_id, scopes, name=data["name"])
            return represent.key(key_store.get(conn, key_id), secret), 201


@blp.route("/keys/<string:key_id>")
class KeyById(MethodView):
    @operation("delete_key", errors.NotFound)
    @require_scope("keys:write")
    @blp.response(204)
    def delete(self, key_id):
        """Revoke a key; requests with it fail at once with 401."""
        with current_app.extensions["vilvik"].db.transaction() as conn:
            if not key_store.revoke(conn, g.account_id, key_id):
                raise errors.NotFound(f"no key {key_id}")
        current_app.extensions["vilvik"].keys.forget(key_id)
        return "", 204
