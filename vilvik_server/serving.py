"""The HTTP server (waitress) as `serve` runs it: body ceiling before reading, one error shape.

waitress refuses a body over MAX_BODY_BYTES from its Content-Length (or a chunked body
as it passes the limit) before reading it, so a client cannot make the server read a
gigabyte to be told no. Its own refusal is plain text; this channel answers it with
the API's JSON error body instead, as every other error.
"""
import json
import uuid

from waitress import create_server
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

from . import errors, http


def make_server(app, host, port, threads, max_body_bytes):
    # The lookahead lets a long response (an event stream) notice that its client went away.
    server = create_server(app, host=host, port=port, threads=threads, ident="vilvik",
                           max_request_body_size=max_body_bytes, channel_request_lookahead=4)
    server.channel_class = _Channel
    server.flask_app = app  # `application` may be a wrapper of it
    return server


class _JsonErrorTask(ErrorTask):
    def execute(self):
        if getattr(self.request.error, "code", None) != 413:
            return super().execute()
        app = self.channel.server.flask_app
        limit = self.channel.server.adj.max_request_body_size
        sent = self.request.headers.get("X_REQUEST_ID", "")  # waitress's spelling of X-Request-Id
        request_id = sent if http._SANE_REQUEST_ID.fullmatch(sent) else "req_" + uuid.uuid4().hex
        with app.app_context():
            from flask import g

            g.request_id = request_id
            body = json.dumps(errors.error_body(errors.PayloadTooLarge(
                f"the body is larger than the limit of {limit} bytes; the server stopped reading it"))).encode()
        self.status = "413 Request Entity Too Large"
        self.response_headers.extend([("Content-Type", "application/json"), ("X-Request-Id", request_id)])
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class _Channel(HTTPChannel):
    error_task_class = _JsonErrorTask
