"""GET /metrics: off by default; when on, Prometheus text with the queue, runs and request counts."""
import pytest

from vilvik_server import create_app


def test_metrics_are_off_by_default(client):
    assert client.get("/metrics").status_code == 404


@pytest.fixture
def metered(tmp_path, monkeypatch):
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app({"WORKERS": 0, "LOG_LEVEL": "WARNING", "MAX_CPU_SECONDS": 1, "METRICS_ENABLED": True,
                       "METRICS_TOKEN": "s3cret"}).test_client()


def test_metrics_need_the_token_and_show_the_queue_and_requests(metered):
    metered.get("/api/v1/health")
    assert metered.get("/metrics").status_code == 401
    text = metered.get("/metrics", headers={"Authorization": "Bearer s3cret"}).get_data(as_text=True)
    assert "vilvik_queue_depth 0.0" in text
    assert "vilvik_runs_active 0.0" in text
    assert 'vilvik_http_requests_total{code="200",method="GET"}' in text
    assert "vilvik_http_request_seconds_bucket" in text
