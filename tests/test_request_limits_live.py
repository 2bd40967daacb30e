"""Against the real server (waitress): body ceilings before reading, and event-stream places.

A body over MAX_BODY_BYTES is refused by waitress from its headers alone, before any of
it is read; an event stream's place is given back on every path (a HEAD request, a
client that goes away) and each account holds at most its share.
"""
import socket
import time
import urllib.parse

import pytest
import requests

from conftest import ApiUser, LiveServer

MAX_BODY = 65536


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("limits") / "instance", {
        "WORKERS": 0, "MAX_BODY_BYTES": MAX_BODY, "MAX_EVENT_STREAMS": 3, "MAX_EVENT_STREAMS_PER_ACCOUNT": 2,
        "WEBHOOK_DELIVERY": "false"}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def users(server):
    made = [ApiUser(server, server.command("create-account", f"user{i}@example.com", "--credits", "100")["api_key"])
            for i in range(2)]
    yield made
    for user in made:
        user.session.close()


def _raw(server, request_head, body_chunks=(), timeout=5.0):
    """Send a raw request; returns (the first response line, seconds until it came)."""
    address = urllib.parse.urlsplit(server.url)
    with socket.create_connection((address.hostname, address.port), timeout=timeout) as sock:
        started = time.monotonic()
        sock.sendall(request_head)
        for chunk in body_chunks:
            try:
                sock.sendall(chunk)
            except OSError:  # the server answered and closed: stop sending
                break
        answer = b""
        while b"\r\n" not in answer:
            part = sock.recv(4096)
            if not part:
                break
            answer += part
        return answer.split(b"\r\n")[0].decode(), time.monotonic() - started


def _head(path, user, extra=""):
    return (f"POST /api/v1{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {user.key}\r\n"
            f"Content-Type: application/json\r\n{extra}\r\n").encode()


def test_a_body_declared_too_large_is_refused_before_it_is_sent(server, users):
    # The client declares 256 MiB and sends none of it: the answer comes at once, not after reading it.
    line, took = _raw(server, _head("/submissions", users[0], f"Content-Length: {1 << 28}\r\n"))
    assert " 413 " in line and took < 2, (line, took)


def test_a_chunked_body_is_cut_at_the_ceiling(server, users):
    chunk = b"%x\r\n%s\r\n" % (8192, b" " * 8192)
    line, took = _raw(server, _head("/submissions", users[0], "Transfer-Encoding: chunked\r\n"),
                      body_chunks=[chunk] * 64)
    assert " 413 " in line, line


def test_the_refusal_of_a_large_body_is_the_error_shape_with_the_clients_request_id(server, users):
    response = requests.post(server.url + "/api/v1/submissions", data=b"{" + b" " * MAX_BODY + b"}", timeout=10,
                             headers={"Authorization": f"Bearer {users[0].key}", "Content-Type": "application/json",
                                      "X-Request-Id": "client-trace.413"})
    assert response.status_code == 413
    assert response.headers["X-Request-Id"] == "client-trace.413"
    assert response.json()["error"]["code"] == "payload_too_large"
    assert response.json()["error"]["request_id"] == "client-trace.413"


def test_a_body_under_the_ceiling_still_reaches_the_api(server, users):
    response = users[0].post("/submissions", {"fitness_func": "x" * 1000})
    assert response.status_code == 422  # read and validated, not refused for its size


_SUBMISSIONS = {}


def _submission(user):
    """One queued submission per user (this server runs none), followed by every stream."""
    if user.key not in _SUBMISSIONS:
        _SUBMISSIONS[user.key] = user.submit("def fitness_func(ga, sol, idx):\n    return 1.0\n")["id"]
    return _SUBMISSIONS[user.key]


def _open_streams(server, user, submission_id):
    response = user.session.get(f"{server.api}/submissions/{submission_id}/events", stream=True, timeout=10)
    return response


def test_head_requests_give_their_stream_place_back(server, users):
    user = users[0]
    submission_id = _submission(user)
    for _ in range(12):
        response = user.session.head(f"{server.api}/submissions/{submission_id}/events", timeout=10)
        assert response.status_code == 200
    stream = _open_streams(server, user, submission_id)
    assert stream.status_code == 200
    stream.close()


def test_a_client_that_goes_away_gives_its_stream_place_back(server, users):
    user = users[0]
    submission_id = _submission(user)
    address = urllib.parse.urlsplit(server.url)
    for _ in range(8):
        with socket.create_connection((address.hostname, address.port), timeout=5) as sock:
            sock.sendall(f"GET /api/v1/submissions/{submission_id}/events HTTP/1.1\r\nHost: x\r\n"
                         f"Authorization: Bearer {user.key}\r\n\r\n".encode())
            assert b" 200 " in sock.recv(4096)
        time.sleep(0.3)  # the stream notices within its poll interval
    stream = _open_streams(server, user, submission_id)
    assert stream.status_code == 200
    stream.close()


def _until_closed_streams_are_noticed(server, users):
    """Streams an earlier test closed end within the stream's poll interval; wait for that."""
    deadline = time.monotonic() + 3
    for user in users:
        while time.monotonic() < deadline:
            probes = [_open_streams(server, user, _submission(user)) for _ in range(2)]
            codes = [probe.status_code for probe in probes]
            for probe in probes:
                probe.close()
            if codes == [200, 200]:
                break
            time.sleep(0.2)
    time.sleep(0.5)


def test_streams_are_capped_per_account_and_in_all(server, users):
    mallory, alice = users
    _until_closed_streams_are_noticed(server, users)
    held = [_open_streams(server, mallory, _submission(mallory)) for _ in range(2)]
    try:
        assert [response.status_code for response in held] == [200, 200]
        refused = _open_streams(server, mallory, _submission(mallory))
        assert refused.status_code == 429 and refused.json()["error"]["code"] == "concurrency_limit"
        assert refused.headers["Retry-After"]
        other = _open_streams(server, alice, _submission(alice))
        assert other.status_code == 200  # another account is not starved
        held.append(other)
        full = _open_streams(server, alice, _submission(alice))
        assert full.status_code == 503 and full.headers["Retry-After"]  # the server's total
    finally:
        for response in held:
            response.close()
    _until_closed_streams_are_noticed(server, users)
    again = _open_streams(server, mallory, _submission(mallory))
    assert again.status_code == 200
    again.close()
