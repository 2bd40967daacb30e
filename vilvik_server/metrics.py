"""GET /metrics in the Prometheus text format (when METRICS_ENABLED is on).

Request counts and latencies are counted in this process; the queue, runs and job
durations are read from the database at scrape time, so they are right however
many processes serve.
"""
import hmac
import time

from flask import Response, g, request
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from . import errors
from .store import submissions as submission_store


class _DatabaseCollector:
    def __init__(self, db):
        self.db = db

    def collect(self):
        conn = self.db.connection()
        counts = submission_store.queue_counts(conn)
        yield GaugeMetricFamily("vilvik_queue_depth", "Submissions waiting to run", value=counts["queued"])
        yield GaugeMetricFamily("vilvik_runs_active", "Submissions running", value=counts["running"])
        finished = CounterMetricFamily("vilvik_runs_finished", "Finished runs by status", labels=["status"])
        seconds = CounterMetricFamily("vilvik_run_wall_seconds", "Wall-clock seconds of finished runs",
                                      labels=["status"])
        for row in submission_store.finished_totals(conn):
            finished.add_metric([row["status"]], row["runs"])
            seconds.add_metric([row["status"]], row["wall_seconds"] or 0.0)
        yield finished
        yield seconds
        for name, help_text, value in _extra_gauges(conn):
            yield GaugeMetricFamily(name, help_text, value=value)


def _extra_gauges(conn):
    """Gauges other parts register (e.g. the webhook backlog)."""
    return [(name, help_text, read(conn)) for name, help_text, read in GAUGES]


GAUGES = []  # (name, help, function(conn) -> number), appended by other modules at init


def init_app(app, settings):
    if not settings["METRICS_ENABLED"]:
        return
    registry = CollectorRegistry()
    requests_total = Counter("vilvik_http_requests", "HTTP requests by status code", ["method", "code"],
                             registry=registry)
    latency = Histogram("vilvik_http_request_seconds", "HTTP request latency", registry=registry,
                        buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
    registry.register(_DatabaseCollector(app.extensions["vilvik"].db))

    @app.after_request
    def count(response):
        requests_total.labels(request.method, str(response.status_code)).inc()
        latency.observe(time.monotonic() - g.get("started", time.monotonic()))
        return response

    @app.route("/metrics")
    def metrics():
        token = settings["METRICS_TOKEN"]
        sent = request.headers.get("Authorization", "").partition(" ")[2]
        if token and not hmac.compare_digest(sent.encode(), token.encode()):
            raise errors.Unauthenticated("send the METRICS_TOKEN as a Bearer token")
        return Response(generate_latest(registry), mimetype="text/plain; version=0.0.4")
