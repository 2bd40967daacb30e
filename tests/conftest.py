"""Fixtures: a Flask app on a temporary instance, and a real server process on a free port."""
import fcntl
import inspect
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from flask.testing import FlaskClient

from openapi_check import DocumentCheck, check_flask_response, requests_hook
from vilvik_server import create_app
from vilvik_server.auth import SCOPES
from vilvik_server.store import accounts, keys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The sandbox must be whole in CI: a degraded sandbox fails the suite rather than skipping it.
SANDBOX_ALLOW_DEGRADED = "false"

OVERVIEW_BODY = ('{"name":"smoke test","num_generations":10,"sol_per_pop":4,"num_genes":3,'
                 '"num_parents_mating":2,"init_range_low":-1,"init_range_high":1,'
                 '"fitness_func":"def fitness_func(ga, sol, idx): return sum(sol)\\n",'
                 '"fitness_func_entry":"fitness_func"}')


UID_BLOCK = 64  # uids reserved per test session; servers in one session run one after another
_uid_block_locks = []


def pytest_configure(config):
    """Give every server this session starts a jail uid range no other Vilvik on this machine uses.

    A development server runs its jobs as uids 60000+ (the default SANDBOX_UID_BASE); each
    concurrent test session takes the first free block above it, held by an flock for its
    lifetime, so the attack tests' check for left-over jail processes sees only our own.
    """
    if "VILVIK_SANDBOX_UID_BASE" in os.environ:
        return
    for block in range(1, 4096 // UID_BLOCK):
        handle = open(os.path.join("/tmp", f"vilvik-test-uids-{block}.lock"), "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            continue
        _uid_block_locks.append(handle)
        os.environ["VILVIK_SANDBOX_UID_BASE"] = str(60000 + block * UID_BLOCK)
        return
    raise RuntimeError("no free jail uid block for this test session")


def pytest_collection_modifyitems(config, items):
    """Mark `slow` what starts processes (a real server, a command, pip) or runs hostile code in the
    sandbox: `scripts/test --fast` leaves it out. CI runs everything."""
    for item in items:
        if _slow(item):
            item.add_marker(pytest.mark.slow)


def _slow(item):
    if "attacks" in item.path.parts:
        return True
    functions = [getattr(item, "function", None)]
    functions += [definitions[-1].func for definitions in item._fixtureinfo.name2fixturedefs.values()]
    helpers = [getattr(item.module, name) for function in functions if hasattr(function, "__code__")
               for name in function.__code__.co_names if inspect.isfunction(getattr(item.module, name, None))]
    return any(_starts_processes(function) for function in functions + helpers)


def _starts_processes(function):
    try:
        source = inspect.getsource(function)
    except (OSError, TypeError):
        return False
    return "LiveServer(" in source or "subprocess." in source


def jail_uids():
    """The uids this session's servers run jobs as."""
    base = int(os.environ["VILVIK_SANDBOX_UID_BASE"])
    return range(base, base + UID_BLOCK)


_LOCAL_NAMES = ("localhost", "127.0.0.1", "::1", "ip6-localhost")


@pytest.fixture(autouse=True)
def _no_name_lookups_off_this_machine(monkeypatch):
    """Tests reach 127.0.0.1 only: resolving any other name fails as an unknown host would."""
    real = socket.getaddrinfo

    def local_only(host, *args, **kwargs):
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name and name not in _LOCAL_NAMES and not name.startswith(("127.", "::ffff:127.")):
            raise socket.gaierror(socket.EAI_NONAME, f"tests resolve no names but local ones ({name})")
        return real(host, *args, **kwargs)
    monkeypatch.setattr(socket, "getaddrinfo", local_only)


class CheckedClient(FlaskClient):
    """The test client; every API response it gets must match the OpenAPI document."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        check_flask_response(self.application, response)
        return response


@pytest.fixture
def app(tmp_path, monkeypatch):
    """An app on a temporary instance, with no executor running (submissions stay queued)."""
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"WORKERS": 0, "LOG_LEVEL": "WARNING", "MAX_CPU_SECONDS": 1})
    app.test_client_class = CheckedClient
    return app


@pytest.fixture
def client(app):
    return app.test_client()


class Account:
    def __init__(self, app, email, credits=100, scopes=SCOPES):
        db = app.extensions["vilvik"].db
        with db.transaction() as conn:
            self.id = accounts.create(conn, email)
            if credits:
                accounts.add_to_balance(conn, self.id, credits * 1_000_000, "grant")
            self.key_id, self.key = keys.create(conn, self.id, scopes)
        self.headers = {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def owner(app):
    return Account(app, "owner@example.com")


@pytest.fixture
def stranger(app):
    return Account(app, "stranger@example.com")


class LiveServer:
    """`vilvik-server serve` in a child process, driven over HTTP."""

    def __init__(self, instance, settings=None):
        self.instance = str(instance)
        # Tests poll fast; the rate limit has its own test.
        self.env = dict(os.environ, VILVIK_INSTANCE_PATH=self.instance, VILVIK_LOG_LEVEL="INFO",
                        VILVIK_SANDBOX_ALLOW_DEGRADED=SANDBOX_ALLOW_DEGRADED, VILVIK_RATE_LIMIT="100000/minute",
                        VILVIK_ACCOUNT_RATE_LIMIT="100000/minute", VILVIK_MAX_CPU_SECONDS="20")
        for name, value in (settings or {}).items():
            self.env[f"VILVIK_{name}"] = str(value)
        self.process = None
        self.log_path = os.path.join(self.instance, "server.log")
        os.makedirs(self.instance, exist_ok=True)

    def command(self, *args):
        """Run a `vilvik-server` command against this instance; returns its parsed JSON line."""
        out = subprocess.run([sys.executable, "-m", "vilvik_server", *args], env=self.env, check=True,
                             capture_output=True, text=True, timeout=60).stdout
        return json.loads(out.strip().splitlines()[-1])

    def start(self):
        STARTED.append(self)
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "vilvik_server", "serve", "--port", "0", "--threads", "8"],
            env=self.env, stdout=subprocess.PIPE, stderr=self.log, text=True)
        line = self.process.stdout.readline()
        match = re.search(r"serving on (http://\S+)", line)
        if not match:
            self.process.kill()
            raise RuntimeError(f"server did not start: {line!r}; log: {self.read_log()[-3000:]}")
        self.url = match.group(1)
        self.api = self.url + "/api/v1"
        return self

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(timeout)
        self.process.stdout.close()
        self.log.close()
        return self.process.returncode

    def document_check(self):
        """The check of responses against this server's OpenAPI document (fetched once)."""
        if getattr(self, "_document_check", None) is None:
            document = requests.get(self.api + "/openapi.json", timeout=30).json()
            self._document_check = DocumentCheck(document)
        return self._document_check

    @property
    def running(self):
        return self.process is not None and self.process.poll() is None

    def read_log(self):
        with open(self.log_path) as handle:
            return handle.read()


STARTED = []


@pytest.fixture(autouse=True)
def _stop_servers_a_test_left_running():
    """A failing test must not leave its server process behind."""
    before = len(STARTED)
    yield
    for server in STARTED[before:]:
        if server.running:
            server.stop(signal.SIGKILL)
    del STARTED[before:]


class ApiUser:
    """An account's key and a requests session for the live server."""

    def __init__(self, server, key):
        self.server = server
        self.key = key
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"
        self.session.hooks["response"].append(requests_hook(server.document_check()))

    def get(self, path, **kwargs):
        return self.session.get(self.server.api + path, timeout=30, **kwargs)

    def post(self, path, json_body=None, **kwargs):
        return self.session.post(self.server.api + path, json=json_body, timeout=30, **kwargs)

    def submit(self, fitness_source, **params):
        """Submit a small GA with this fitness source; returns the 202 body."""
        body = {"num_generations": 5, "sol_per_pop": 6, "num_genes": 3, "num_parents_mating": 2,
                "fitness_func": fitness_source}
        body.update(params)
        response = self.post("/submissions", body)
        assert response.status_code == 202, response.text
        return response.json()

    def wait(self, submission_id, timeout=60):
        """Poll until the submission is terminal; returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.get(f"/submissions/{submission_id}").json()
            if body["status"] in ("succeeded", "failed", "cancelled"):
                return body
            time.sleep(0.05)
        raise AssertionError(f"submission {submission_id} not terminal after {timeout}s: {body}")

    def wait_status(self, submission_id, status, timeout=60):
        """Poll until the submission is in `status` (e.g. "running"); returns it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            body = self.get(f"/submissions/{submission_id}").json()
            if body["status"] == status:
                return body
            time.sleep(0.05)
        raise AssertionError(f"submission {submission_id} never became {status} in {timeout}s: {body}")

    def run(self, fitness_source, **params):
        """Submit and wait; returns the terminal submission."""
        return self.wait(self.submit(fitness_source, **params)["id"])


@pytest.fixture(scope="module")
def live_server(tmp_path_factory):
    """A real server (waitress, executor, zygote) on a free port, shared by one test module."""
    server = LiveServer(tmp_path_factory.mktemp("live") / "instance", {"WORKERS": 2, "MAX_CPU_SECONDS": 20}).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def api_user(live_server):
    """An account with 1000 credits and every scope, on the live server."""
    created = live_server.command("create-account", f"user{time.monotonic_ns()}@example.com", "--credits", "1000")
    return ApiUser(live_server, created["api_key"])
