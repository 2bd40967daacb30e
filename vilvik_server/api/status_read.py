"""GET /api/v1/submissions/{id}, the request clients poll, answered beneath Flask when it is plain.

A client following a run reads its status many times a second. Through Flask, its
hooks and flask-smorest's view decorators, one read costs about 270 us of CPU; the steps
it needs cost about 100 us. `StatusReads` wraps the Flask app and takes those steps
itself, with the same functions in the same order: the key's rate-limit window, the key
lookup, the account's window, the scope, the submission's row, represent.submission, the
same headers and the same request log line.

It answers only the plain case: a GET without a query string, from a known key that
carries `submissions:read`, with room in both windows, for a submission of the key's
account. Anything else (no key, an unknown or revoked key, a missing scope, a full
window, no such submission, `?include=`, a database error) goes to the Flask app, which
answers it as it answers every request. A window this path has already counted is
handed on in the WSGI environ (ratelimit.COUNTED_*), so no request is counted twice.
With METRICS_ENABLED every request goes through Flask, whose hook counts it.
"""
import logging
import re
import time

from .. import auth, http, ratelimit
from ..domain import represent
from ..store import submissions as submission_store

_PATH = re.compile(r"/api/v1/submissions/([A-Za-z0-9]{1,64})")
SCOPE = "submissions:read"


class StatusReads:
    def __init__(self, flask_app):
        self.wsgi_app = flask_app.wsgi_app  # the Flask app beneath: every other request, and every refusal
        self.services = flask_app.extensions["vilvik"]
        provider = flask_app.json
        # As the provider's response() dumps a body: indented in debug mode, else compact.
        pretty = (provider.compact is None and flask_app.debug) or provider.compact is False
        dump_args = {"indent": 2} if pretty else {"separators": (",", ":")}
        self.dumps = lambda body: provider.dumps(body, **dump_args)
        self.enabled = not self.services.settings["METRICS_ENABLED"]

    def __call__(self, environ, start_response):
        match = _PATH.fullmatch(environ.get("PATH_INFO", ""))
        if (match is None or environ["REQUEST_METHOD"] != "GET" or environ.get("QUERY_STRING")
                or not self.enabled):
            return self.wsgi_app(environ, start_response)
        try:
            answer = self._answer(environ, match.group(1))
        except Exception:  # noqa: B902 - e.g. the database is locked: Flask's error handling answers it
            answer = None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        headers, body = answer
        start_response("200 OK", headers)
        return [body]

    def _answer(self, environ, submission_id):
        """(headers, body) of the 200 answer, or None for Flask to answer."""
        started = time.monotonic()
        token = auth.bearer_token(environ.get("HTTP_AUTHORIZATION", ""))
        if token is None:
            return None
        # The steps of ratelimit._check_key, auth.authenticate and auth.require_scope, in their order.
        limits = self.services.limiter
        key_window = environ[ratelimit.COUNTED_KEY_WINDOW] = ratelimit.count_key(limits, token)
        if not key_window.allowed:
            return None
        conn = self.services.db.connection()
        key = self.services.keys.find_active(token)
        if key is None:
            return None
        account_window = environ[ratelimit.COUNTED_ACCOUNT_WINDOW] = ratelimit.count_account(limits, key["account_id"])
        if not account_window.allowed:
            return None
        auth.touch_last_used(self.services.db, key)
        if SCOPE not in key["scopes"].split():
            return None
        row = submission_store.get_shown(conn, key["account_id"], submission_id)
        if row is None:
            return None
        body = represent.submission(row, self.services.settings["PUBLIC_URL"])
        data = f"{self.dumps(body)}\n".encode()
        request_id = http.request_id_for(environ.get("HTTP_X_REQUEST_ID", ""))
        window = ratelimit.closer_to_refusing(key_window, account_window)
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(data))),
                   ("X-Request-Id", request_id), *window.headers().items()]
        if http.log.isEnabledFor(logging.INFO):
            http.log_request("GET", environ["PATH_INFO"], 200, (time.monotonic() - started) * 1000, request_id,
                             key["prefix"])
        return headers, data


def init_app(app):
    app.wsgi_app = StatusReads(app)

