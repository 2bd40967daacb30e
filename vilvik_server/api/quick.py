"""/quick/problems: the quick builder's catalogue."""
from flask.views import MethodView

from .. import quick
from ..auth import authenticate
from . import responses
from .openapi import Blueprint, operation
from .schemas import QuickProblemListSchema

blp = Blueprint("quick", __name__, description="Ready-made problems for type: quick submissions.")


@blp.route("/quick/problems")
class QuickProblems(MethodView):
    @operation("list_quick_problems")
    @blp.response(200, QuickProblemListSchema)
    def get(self):
        """The problems a quick submission can name, with their parameter schemas and defaults."""
        authenticate()
        return responses.as_response({"object": "list", "data": quick.catalogue(), "has_more": False,
                                      "next_cursor": None, "next_url": None})
