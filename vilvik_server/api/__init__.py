"""The REST API under /api/v1: one blueprint module per resource, schemas beside them.

flask-smorest builds the OpenAPI document (/api/v1/openapi.json) from the views and
serves the playground (/api/v1/docs) with Swagger UI assets from our own server.
"""
import swagger_ui_bundle
from flask import current_app, request, send_from_directory
from flask_smorest import Api

from .. import __version__
from ..domain.urls import PREFIX
from . import openapi
from .schemas import COMPONENTS, ErrorResponseSchema


class _Api(Api):
    """flask-smorest's Api with our error responses, headers and schemas (see openapi.py)."""

    ERROR_SCHEMA = ErrorResponseSchema
    DEFAULT_ERROR_RESPONSE_NAME = openapi.INTERNAL_ERROR[0]

    def _register_responses(self):
        self.ma_plugin.converter.add_attribute_function(openapi.field2openapi)
        openapi.register_components(self.spec, self.ERROR_SCHEMA, COMPONENTS)

    def _register_etag_headers(self):
        """No ETags here: nothing of flask-smorest's to declare."""

    def _register_pagination_header(self):
        """Lists are cursor-paginated in their bodies, not by flask-smorest's page header."""


def init_app(app):
    app.config.update(
        API_TITLE="Vilvik API",
        API_VERSION=__version__,
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=f"{PREFIX}/docs/assets/",
        OPENAPI_SWAGGER_UI_CONFIG={"persistAuthorization": True},
        API_SPEC_OPTIONS={
            "info": {"description": "Run PyGAD genetic algorithms with your own fitness function. "
                                    "Authenticate with `Authorization: Bearer <key>` (**Authorize** above; a "
                                    "key comes from the website's API keys page, or `instance/dev-api-key` "
                                    "on a development server).\n\n[The website](/) · [The docs](/docs) · "
                                    "[OpenAPI document](/api/v1/openapi.json)"},
            # Relative: the playground calls the host it loaded the document from, whatever its name;
            # the paths are relative to it (openapi.RelativePaths).
            "servers": [{"url": PREFIX}],
            "security": [{"bearerAuth": []}],
            "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
        },
    )
    api = _Api(app, spec_kwargs={"flask_plugin": openapi.RelativePaths(PREFIX)})
    from . import credits, events, experiments, keys, quick, results, state, submissions, webhooks

    for module in (submissions, experiments, results, credits, keys, webhooks, events, quick, state):
        api.register_blueprint(module.blp, url_prefix=PREFIX)
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(PREFIX):
            # /api/v1//submissions is no route: a 404 in our error shape, not werkzeug's HTML
            # 308 to the merged path (which a client would follow with its body dropped).
            rule.merge_slashes = False

    app.before_request(_answer_options)

    @app.route(f"{PREFIX}/docs/assets/<path:filename>")
    def swagger_ui_assets(filename):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
    return api


def _answer_options():
    """OPTIONS on an API route: `204 No Content` with `Allow` (as GitHub's API answers), not Flask's
    empty text/html 200. An unknown route stays a 404 in the error shape."""
    if request.method != "OPTIONS":
        return None
    rule = request.url_rule
    if request.routing_exception is not None or not request.path.startswith(PREFIX):
        return None
    if rule is None or not rule.provide_automatic_options:
        return None
    response = current_app.make_default_options_response()   # the framework's Allow: every method of the URL
    response.status_code = 204
    del response.headers["Content-Type"]
    return response
