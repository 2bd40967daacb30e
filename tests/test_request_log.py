"""Every request's log line, the log's time stamps, and the arguments an empty query string loads."""
import logging
import re

from vilvik_server import _LogFormatter
from vilvik_server.api.arguments import ArgumentsParser
from vilvik_server.api.schemas import SubmissionListQuerySchema

FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"


def test_each_request_logs_one_line_with_its_method_path_status_time_id_and_key_prefix(app, client, owner, caplog):
    with caplog.at_level(logging.INFO, logger="vilvik"):
        response = client.get("/api/v1/submissions", headers={**owner.headers, "X-Request-Id": "trace-1"})
        client.get("/api/v1/submissions")
    lines = [r for r in caplog.records if r.name == "vilvik.http" and "/openapi.json" not in r.getMessage()]
    assert response.status_code == 200 and len(lines) == 2
    assert re.fullmatch(r"GET /api/v1/submissions 200 \d+\.\dms request_id=trace-1 key=" + re.escape(owner.key[:10]),
                        lines[0].getMessage())
    assert re.fullmatch(r"GET /api/v1/submissions 401 \d+\.\dms request_id=req_[0-9a-f]{32} key=-", lines[1].getMessage())
    assert lines[0].levelname == "INFO" and lines[0].funcName == "_finish"
    assert lines[0].pathname.endswith("http.py")


def test_no_request_line_below_its_level(app, client, owner, caplog):
    with caplog.at_level(logging.WARNING, logger="vilvik"):
        assert client.get("/api/v1/submissions", headers=owner.headers).status_code == 200
    assert not [r for r in caplog.records if r.name == "vilvik.http"]


def test_the_log_formatter_writes_what_loggings_own_writes():
    ours, theirs = _LogFormatter(FORMAT), logging.Formatter(FORMAT)
    record = logging.LogRecord("vilvik.http", logging.INFO, __file__, 1, "GET %s", ("/x",), None)
    for created in (1_800_000_000.0, 1_800_000_000.999, 1_800_000_001.0005, 1_800_000_000.5, 1_700_000_123.25):
        record.created, record.msecs = created, int((created - int(created)) * 1000) + 0.0
        assert ours.format(record) == theirs.format(record)
        assert ours.formatTime(record, "%H:%M") == theirs.formatTime(record, "%H:%M")


def test_an_empty_query_loads_each_fields_default_and_a_copy_each_time(app):
    parser, schema = ArgumentsParser(), SubmissionListQuerySchema()
    with app.test_request_context("/api/v1/submissions"):
        first = parser.parse(schema, location="query")
        assert first == schema.load({})
        first["limit"] = 1
        assert parser.parse(schema, location="query") == schema.load({})
    with app.test_request_context("/api/v1/submissions?limit=3&status=queued"):
        assert parser.parse(schema, location="query")["limit"] == 3


def test_an_api_answer_carries_no_page_headers_and_a_page_does(client, owner):
    api = client.get("/api/v1/submissions", headers=owner.headers)
    page = client.get("/login")
    assert "Content-Security-Policy" not in api.headers and "X-Frame-Options" not in api.headers
    assert page.headers["X-Frame-Options"] == "DENY" and "Content-Security-Policy" in page.headers
