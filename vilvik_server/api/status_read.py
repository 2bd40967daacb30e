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
import re
import time

from ..domain import represent
from ..store import submissions as submission_store
from . import beneath_flask

_PATH = re.compile(r"/api/v1/submissions/([A-Za-z0-9]{1,64})")
SCOPE = "submissions:read"


class StatusReads:
    def __init__(self, flask_app):
        self.wsgi_app = flask_app.wsgi_app  # the Flask app beneath: every other request, and every refusal
        self.services = flask_app.extensions["vilvik"]
        self.dumps = beneath_flask.json_dumps(flask_app)
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
        admitted = beneath_flask.admit(self.services, environ, SCOPE)
        if admitted is None:
            return None
        row = submission_store.get_shown(self.services.db.connection(), admitted[0]["account_id"], submission_id)
        if row is None:
            return None
        data = f"{self.dumps(represent.submission(row, self.services.settings['PUBLIC_URL']))}\n".encode()
        return beneath_flask.answer(environ, "GET", environ["PATH_INFO"], 200, started, admitted, data), data


def init_app(app):
    app.wsgi_app = StatusReads(app)

