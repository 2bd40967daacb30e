"""`client.quick`: the quick builder's catalogue of ready-made problems."""
from __future__ import annotations

from ..objects import QuickProblem
from ..pagination import ListIterator
from .submissions import Resource


class QuickResource(Resource):
    def problems(self):
        """The quick builder's catalogue: each problem's name, its params_schema, an example and defaults."""
        return list(ListIterator(self._client, "/quick/problems", {},
                                 lambda body: QuickProblem.from_dict(body, self._client)))
