"""/quick/problems: the quick builder's catalogue."""
from flask.views import MethodView
from flask_smorest import Blueprint

from .. import quick
from ..auth import authenticate

blp = Blueprint("quick", __name__, description="Ready-made problems for type: quick submissions.")


@blp.route("/quick/problems")
class QuickProblems(MethodView):
    @blp.response(200)
    def get(self):
        """The problems a quick submission can name, with their parameter schemas and defaults."""
        authenticate()
        return {"object": "list", "data": quick.catalogue(), "has_more": False, "next_cursor": None,
                "next_url": None}
