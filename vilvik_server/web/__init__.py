"""The website: server-rendered pages over the same service functions the API calls.

Pages log in with an email and password (a signed session cookie), every form
carries a CSRF token, and errors on pages are HTML. Views never hold SQL: they call
submitting.py, lifecycle.py and the store modules, exactly as the API views do.
"""
import logging
from datetime import timedelta

from flask import current_app, render_template, request
from markupsafe import escape

from . import csrf, filters, session

SESSION_LIFETIME = timedelta(days=7)
# Scripts, styles and images come only from this server; no page may be framed.
CONTENT_SECURITY_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                           "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def init_app(app):
    """Register the website's blueprints, its session cookie, CSRF checks and HTML error pages."""
    from . import account_views, docs_views, experiment_views, login_views, submission_views, webhook_views

    settings = app.config["VILVIK"]
    app.config.update(
        SESSION_COOKIE_NAME="vilvik_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings["PUBLIC_URL"].startswith("https://"),
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.session_interface = session.PagesOnlySessions()
    blueprints = (login_views.blp, account_views.blp, submission_views.blp, experiment_views.blp, webhook_views.blp,
                  docs_views.blp)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)
    for blueprint in blueprints:
        # The pages' own hooks (Flask runs them only for requests routed to that blueprint):
        # an API request does not pay for them.
        app.before_request_funcs.setdefault(blueprint.name, []).append(csrf.protect)
        app.after_request_funcs.setdefault(blueprint.name, []).append(_page_headers)
    app.context_processor(_template_globals)
    filters.register(app)
    app.extensions["vilvik_error_page"] = error_page


def _template_globals():
    return {"csrf_token": csrf.token, "current_account": session.current_account}


def _page_headers(response):
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.endpoint and not request.endpoint.endswith(".static"):
        response.headers.setdefault("Cache-Control", "no-store")  # pages show account data
    return response


def error_page(error):
    """A VilvikError as an HTML page (errors.render calls this for paths outside /api)."""
    try:
        body = render_template("web/error.html", error=error, no_account=error.status >= 500)
    except Exception:  # noqa: B902 - the page must not fail while reporting a failure
        logging.getLogger("vilvik.web").exception("the error page could not be drawn")
        body = f"<!doctype html><title>Error</title><h1>Error {error.status}</h1><p>{escape(error.message)}</p>"
    return _page_headers(current_app.make_response((body, error.status)))
