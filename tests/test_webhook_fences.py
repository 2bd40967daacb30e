"""Webhook receivers cannot hold the sender: a hard deadline per attempt, a fence per account.

A receiver that trickles its answer a byte at a time (each read well within any
per-read timeout) is cut off at the attempt's deadline; an account whose receivers all
hang holds at most WEBHOOK_IN_FLIGHT_PER_ACCOUNT senders, so another account's event
is delivered meanwhile.
"""
import socket
import threading
import time

from conftest import Account
from test_webhooks import API, Receiver, create_endpoint, deliveries, make_app, receiver, services  # noqa: F401
from vilvik_server.webhooks import delivery


class Trickler:
    """A TCP receiver that reads the request, then answers one byte a second, forever."""

    def __init__(self, head=b""):
        self.head = head
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hook"
        self.connections = []
        self.closed = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while not self.closed.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            self.connections.append(conn)
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn):
        try:
            conn.recv(65536)
            conn.sendall(self.head)
            while not self.closed.is_set():
                conn.sendall(b"x" if self.head else b"H")
                time.sleep(0.5)
        except OSError:
            pass

    def close(self):
        self.closed.set()
        self.listener.close()
        for conn in self.connections:
            conn.close()


def _post(url, timeout):
    started = time.monotonic()
    attempt = delivery.post(url, "msg_1", '{"type":"ping"}', ["whsec_" + "A" * 43], True, timeout=timeout)
    return attempt, time.monotonic() - started


def test_a_receiver_trickling_its_status_line_is_cut_at_the_deadline():
    trickler = Trickler()
    try:
        attempt, took = _post(trickler.url, timeout=2)
    finally:
        trickler.close()
    assert took < 3.5, f"the attempt lasted {took:.1f} s"
    assert attempt.status_code is None and "within 2 s" in attempt.error


def test_a_receiver_trickling_its_body_is_cut_at_the_deadline():
    trickler = Trickler(head=b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
    try:
        attempt, took = _post(trickler.url, timeout=2)
    finally:
        trickler.close()
    assert took < 3.5, f"the attempt lasted {took:.1f} s"
    assert attempt.status_code is None and "within 2 s" in attempt.error  # not a success: the answer never ended


def test_a_prompt_receiver_is_unaffected_by_the_deadline(receiver):  # noqa: F811
    target = receiver((200, {}, b"ok"))
    attempt, took = _post(target.url, timeout=2)
    assert attempt.status_code == 200 and attempt.error is None and attempt.excerpt == "ok"


def test_one_accounts_hanging_receivers_do_not_delay_another_accounts_event(tmp_path, monkeypatch, receiver):  # noqa: F811
    app = make_app(tmp_path, monkeypatch, WEBHOOK_IN_FLIGHT_PER_ACCOUNT=2)
    client = app.test_client()
    mallory, alice = Account(app, "mallory@example.com"), Account(app, "alice@example.com")
    hanging = [receiver() for _ in range(3)]
    for target in hanging:
        target.hold.clear()
        endpoint = create_endpoint(client, mallory, target.url)
        for _ in range(2):
            client.post(f"{API}/webhooks/{endpoint['id']}/test", headers=mallory.headers)
    prompt = receiver()
    alice_endpoint = create_endpoint(client, alice, prompt.url)
    # Four senders in all: without a fence per account, mallory's six deliveries would take them all.
    loop = delivery.Deliverer(services(app).db, services(app).settings, workers=4)
    loop.start()
    try:
        time.sleep(0.5)  # mallory's deliveries are claimed first and hang
        client.post(f"{API}/webhooks/{alice_endpoint['id']}/test", headers=alice.headers)
        prompt.wait_for(1, timeout=5)
        assert sum(len(target.received) for target in hanging) == 2  # at most its share was in flight
    finally:
        for target in hanging:
            target.hold.set()
        loop.stop()
    assert deliveries(client, alice, alice_endpoint["id"])[0]["status"] == "succeeded"


def test_a_name_server_that_does_not_answer_is_cut_at_the_deadline(monkeypatch):
    # A silent name server keeps getaddrinfo waiting for the resolver's own timeouts
    # (tens of seconds); this stands in for one, for this name only.
    real_getaddrinfo = socket.getaddrinfo
    released = threading.Event()

    def silent_for_one_name(host, *args, **kwargs):
        if host == "silent-dns.example":
            released.wait(30)
            raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", silent_for_one_name)
    try:
        attempt, took = _post("http://silent-dns.example/hook", timeout=1)
    finally:
        released.set()
    assert took < 2.5, f"the attempt lasted {took:.1f} s"
    assert attempt.status_code is None
    assert "looking up silent-dns.example took longer" in attempt.error or "within 1 s" in attempt.error
