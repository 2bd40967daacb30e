"""The HTTP side of the API's bodies: list pages that keep the request's filters, and pass-through JSON.

What a resource looks like is decided in domain/represent.py; this only wraps it for Flask.
"""
from flask import jsonify, request

from ..domain.urls import PREFIX, api_url
from ..http import public_url


def page(page, items):
    """A cursor-paginated list body; next_url keeps the request's filters."""
    next_url = None
    if page.has_more:
        query = {k: v for k, v in request.args.items() if k != "cursor"}
        query["cursor"] = page.next_cursor
        next_url = api_url(public_url(), request.path[len(PREFIX):], **query)
    return {"object": "list", "data": items, "has_more": page.has_more, "next_cursor": page.next_cursor,
            "next_url": next_url}


def as_response(body):
    """A JSON response that flask-smorest passes through without dumping it again.

    The body is already exactly the documented shape (the schemas in schemas.py
    describe it for the OpenAPI document); dumping a result's population and
    history number by number through marshmallow would cost more than the query.
    """
    return jsonify(body)
