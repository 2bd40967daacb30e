"""Fixtures for the SDK's tests: a client on the live server, and a scripted HTTP server
for what the real one will not do on demand (429/503, dropped connections, codes and
statuses from the future)."""
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from openapi_check import requests_hook

import vilvik

SUM = "def fitness_func(ga, sol, idx):\n    return sum(sol)\n"
SMALL = {"num_generations": 5, "sol_per_pop": 6, "num_genes": 3, "num_parents_mating": 2}


@pytest.fixture
def sdk(live_server, api_user):
    """A vilvik.Client for the live server with the test account's key (closed afterwards); every
    response it gets is checked against the server's OpenAPI document."""
    client = vilvik.Client(api_key=api_user.key, base_url=live_server.api)
    client.session.hooks["response"].append(requests_hook(live_server.document_check()))
    yield client
    client.close()


class FakeApi:
    """A scripted HTTP server on 127.0.0.1: each request gets the next scripted answer.

    An answer is (status, headers, body) or "drop" (close the connection without a response).
    Every request is recorded as (method, path, headers, body).
    """

    def __init__(self):
        self.script = []
        self.requests = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def handle_one(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                with fake.lock:
                    fake.requests.append((self.command, self.path, dict(self.headers), body))
                    answer = fake.script.pop(0) if fake.script else (500, {}, {"error": {"code": "internal_error",
                                                                                          "message": "unscripted"}})
                if answer == "drop":
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                status, headers, payload = answer
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", headers.pop("Content-Type", "application/json")
                                 if isinstance(headers, dict) else "application/json")
                for name, value in headers.items():
                    self.send_header(name, str(value))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PATCH = handle_one

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def answer(self, *answers):
        with self.lock:
            self.script.extend(answers)
        return self

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def fake_api():
    fake = FakeApi()
    yield fake
    fake.close()


@pytest.fixture
def fake_client(fake_api):
    client = vilvik.Client(api_key="vk_test", base_url=fake_api.url, max_retries=3)
    client.retry.initial_delay = 0.05  # the back-off itself has its own test
    yield client
    client.close()
