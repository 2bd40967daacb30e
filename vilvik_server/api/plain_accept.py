"""POST /api/v1/submissions answered beneath Flask when it is plain.

Through Flask, its hooks and flask-smorest's and webargs' view decorators, an accept costs
about 1 ms of CPU in-process, of which the accept's own steps are about 0.7 ms. `PlainAccepts`
wraps the Flask app and takes those steps itself, with the same functions in the same
order as Flask's path (http.py's body checks, ratelimit.py, auth.py, the schema, submitting.accept):
the key's rate-limit window, the key lookup, the account's window, the scope, the body's
size, type and JSON checks, SubmissionCreateSchema, submitting.accept, represent.accepted,
the same headers and the same request log line.

It answers only the plain case: a POST of a JSON object to exactly this path, with a
Content-Length within MAX_BODY_BYTES and no Transfer-Encoding, without `Idempotency-Key`,
from a known key that carries `submissions:write`, with room in both
windows, that the schema loads and the accept takes. Anything else (any refusal: a
validation error, a quota, the credits, a full queue, a database error; or any header
this path does not read) goes to the Flask app, which answers it as it answers every
request. A refused accept has stored nothing (submitting.accept commits last, and only
wakes the executor after), so Flask's second try is the same request. A window this path
has already counted is handed on in the WSGI environ (ratelimit.COUNTED_*), so no request
is counted twice; the body read is handed on too. With METRICS_ENABLED every request goes
through Flask, whose hook counts it. `Prefer: wait=N` is honoured as the Flask view honours it
(api/waiting.py): a 200 with the whole submission when the run ended in time, else the 202.
"""
import io
import json
import time

from .. import http, submitting
from ..domain import represent
from ..domain.urls import PREFIX
from . import beneath_flask, waiting
from .schemas import SubmissionCreateSchema

PATH = f"{PREFIX}/submissions"
SCOPE = "submissions:write"
# Request headers the Flask view reads that this path does not: their requests go to Flask.
_NOT_PLAIN = ("HTTP_IDEMPOTENCY_KEY", "HTTP_TRANSFER_ENCODING")


class PlainAccepts:
    def __init__(self, flask_app):
        self.wsgi_app = flask_app.wsgi_app  # the Flask app beneath: every other request, and every refusal
        self.services = flask_app.extensions["vilvik"]
        self.max_body = flask_app.config["MAX_CONTENT_LENGTH"]
        self.schema = SubmissionCreateSchema()
        self.dumps = beneath_flask.json_dumps(flask_app)
        self.enabled = not self.services.settings["METRICS_ENABLED"]

    def __call__(self, environ, start_response):
        if (environ["REQUEST_METHOD"] != "POST" or environ.get("PATH_INFO") != PATH or not self.enabled
                or environ.get("QUERY_STRING") or any(name in environ for name in _NOT_PLAIN)):
            return self.wsgi_app(environ, start_response)
        started = time.monotonic()
        try:
            accepted = self._accept(environ)
        except Exception:  # noqa: B902 - any refusal or failure before the accept's commit: Flask answers it
            accepted = None
        if accepted is None:
            return self.wsgi_app(environ, start_response)
        # Accepted and committed: from here on this path answers (Flask would accept it again).
        status, headers, body = self._answer(environ, started, *accepted)
        start_response(status, headers)
        return [body]

    def _accept(self, environ):
        """(row, reserved, what beneath_flask.admit gave) once the accept has committed, or None for Flask to answer."""
        length = environ.get("CONTENT_LENGTH", "")
        if not length.isdigit() or not 0 < int(length) <= self.max_body:
            return None
        admitted = beneath_flask.admit(self.services, environ, SCOPE)
        if admitted is None:
            return None
        data = self._plain_body(environ, int(length))
        if data is None:
            return None
        row, reserved = submitting.accept(self.services, admitted[0]["account_id"], self.schema.load(data))
        return row, reserved, admitted

    def _answer(self, environ, started, row, reserved, admitted):
        """(status line, headers, body) of the answer: the 202, or with `Prefer: wait` the 200 of a run that ended."""
        public_url = self.services.settings["PUBLIC_URL"]
        body = represent.accepted(row, reserved, public_url, generated=True)
        location = body["status_url"]
        wait = waiting.preferred_wait(environ.get("HTTP_PREFER"))
        waited, final = waiting.wait_for_end(self.services, row, wait)
        body, ended = waiting.answer_after(body, final, public_url)
        status, code = ("200 OK", 200) if ended else ("202 ACCEPTED", 202)
        payload = f"{self.dumps(body)}\n".encode()
        headers = [("Location", location)] + ([("Preference-Applied", f"wait={wait}")] if waited else [])
        return status, beneath_flask.answer(environ, "POST", PATH, code, started, admitted, payload, headers), payload

    def _plain_body(self, environ, length):
        """The body as a JSON object, when http._check_json_body would let it through; else None.

        It is read here and handed on as the environ's input, for Flask to read again if it answers.
        """
        content_type = environ.get("CONTENT_TYPE", "")
        if content_type.partition(";")[0].strip().lower() != "application/json":
            return None
        raw = environ["wsgi.input"].read(length)
        environ["wsgi.input"] = io.BytesIO(raw)
        if len(raw) != length:
            return None
        # Strict UTF-8 without a byte-order mark, as webargs reads it; what decodes otherwise
        # (or not at all) is left to Flask's own reading.
        try:
            body = json.loads(raw.decode("utf-8"))
        except (ValueError, RecursionError):
            return None
        if (not isinstance(body, dict) or http.nested_deeper_than(body, http.MAX_JSON_DEPTH)
                or http.has_lone_surrogate(body)):
            return None
        return body


def init_app(app):
    app.wsgi_app = PlainAccepts(app)
