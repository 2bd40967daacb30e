"""The waitress server as `serve` runs it: its queue-depth warning is not a line per request."""
import logging

from vilvik_server import serving


def _app(environ, start_response):
    start_response("204 No Content", [])
    return [b""]


def test_the_queue_depth_warning_is_logged_once_per_interval_however_many_servers(caplog):
    servers = [serving.make_server(_app, "127.0.0.1", 0, 2, 1024) for _ in range(2)]
    try:
        queue_log = logging.getLogger("waitress.queue")
        with caplog.at_level(logging.WARNING, logger="waitress.queue"):
            for depth in range(1, 101):
                queue_log.warning("Task queue depth is %d", depth)
        warnings = [r for r in caplog.records if r.name == "waitress.queue"]
        assert len(warnings) <= 1  # at most the first of the interval (an earlier test may have used it)
        assert serving.QUEUE_WARNING_INTERVAL <= 60
    finally:
        for server in servers:
            server.close()
