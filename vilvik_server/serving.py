"""The HTTP server (waitress) as `serve` runs it: body ceiling before reading, one error shape.

waitress refuses a body over MAX_BODY_BYTES from its Content-Length (or a chunked body
as it passes the limit) before reading it, so a client cannot make the server read a
gigabyte to be told no. Its own refusal is plain text; this channel answers it with
the API's JSON error body instead, as every other error.
"""
import json
import logging
import time
import uuid

from waitress import create_server
from waitress.channel import HTTPChannel
from waitress.task import ErrorTask

from . import errors, http


QUEUE_WARNING_INTERVAL = 10  # seconds between two of waitress's "Task queue depth" warnings


def make_server(app, host, port, threads, max_body_bytes):
    _quiet_queue_warnings()
    # The lookahead lets a long response (an event stream) notice that its client went away.
    server = create_server(app, host=host, port=port, threads=threads, ident="vilvik",
                           max_request_body_size=max_body_bytes, channel_request_lookahead=4)
    server.channel_class = _Channel
    server.flask_app = app  # `application` may be a wrapper of it
    return server


class _OncePerInterval(logging.Filter):
    """Let one record through per `seconds`."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds = seconds
        self._last = None

    def filter(self, record):
        now = time.monotonic()
        if self._last is not None and now - self._last < self.seconds:
            return False
        self._last = now
        return True


def _quiet_queue_warnings():
    # waitress warns "Task queue depth is N" for every request that finds all threads busy:
    # under load a line per request, written by the one thread that serves every socket.
    # The first, then one per interval, tells an operator the same.
    queue_log = logging.getLogger("waitress.queue")
    if not any(isinstance(f, _OncePerInterval) for f in queue_log.filters):
        queue_log.addFilter(_OncePerInterval(QUEUE_WARNING_INTERVAL))


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
