"""The parser flask-smorest reads request arguments with: webargs' FlaskParser, with a shortcut.

A request without a query string gets, for a query schema, what the schema loads from
nothing (each field's `load_default`): that answer is the same on every such request,
so it is loaded once per schema and copied, instead of running webargs and marshmallow
again (about a tenth of a status read's CPU). Every query schema here has constant
defaults and no schema-level hooks, so the copy is exactly what a load would give.
Anything else (a query string, a body, a validator) goes through webargs as before.
"""
import marshmallow
from webargs.flaskparser import FlaskParser

QUERY_LOCATIONS = ("query", "querystring")


class ArgumentsParser(FlaskParser):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._loaded_from_nothing = {}  # id(schema) -> (schema, what it loads from an empty query)

    def parse(self, argmap, req=None, *, location=None, validate=None, **kwargs):
        if location in QUERY_LOCATIONS and validate is None and isinstance(argmap, marshmallow.Schema):
            req = req if req is not None else self.get_default_request()
            if not req.query_string:
                cached = self._loaded_from_nothing.get(id(argmap))
                if cached is None:
                    loaded = super().parse(argmap, req, location=location, **kwargs)
                    cached = self._loaded_from_nothing[id(argmap)] = (argmap, loaded)
                return dict(cached[1])
        return super().parse(argmap, req, location=location, validate=validate, **kwargs)
