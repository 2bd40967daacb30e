"""A real Redis, a control plane (EXECUTOR=celery) and `vilvik-server worker` processes, for tests.

Redis is Debian's `redis-server` (scripts/test installs it): started on a free port in a
temporary folder with an append-only file, so a restart keeps what it held. Workers start
from another working directory with nothing of the instance: only the broker URL (and
this test session's jail uids).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import redis

from conftest import STARTED, ApiUser, LiveServer


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    def __init__(self, folder):
        self.folder = str(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed: scripts/test installs it (apt-get install redis-server)"
        self.log = open(os.path.join(self.folder, "redis.log"), "a")
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", self.folder, "--save", "",
             "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "yes"],
            stdout=self.log, stderr=subprocess.STDOUT)
        client = self.client()
        for _ in range(200):
            try:
                client.ping()
                return self
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def client(self):
        return redis.Redis.from_url(self.url)

    def stop(self, sig=signal.SIGTERM):
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(30)
        self.log.close()


class Worker:
    """`vilvik-server worker` in its own process group, started elsewhere with only the broker URL."""

    def __init__(self, folder, broker_url, name, concurrency=1, prefix=(), settings=None):
        self.folder = str(folder)
        os.makedirs(self.folder, exist_ok=True)
        self.name = name
        self.env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "VILVIK_BROKER_URL": broker_url,
                    "VILVIK_SANDBOX_UID_BASE": os.environ["VILVIK_SANDBOX_UID_BASE"], "VILVIK_LOG_LEVEL": "INFO"}
        for key, value in (settings or {}).items():
            self.env[f"VILVIK_{key}"] = str(value)
        self.args = [*prefix, sys.executable, "-m", "vilvik_server", "worker", "--concurrency", str(concurrency),
                     "--name", name]
        self.log_path = os.path.join(self.folder, f"{name}.log")
        self.process = None

    def start(self):
        WORKERS_STARTED.append(self)
        self.log = open(self.log_path, "a")
        self.process = subprocess.Popen(self.args, cwd=self.folder, env=self.env, stdout=self.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def kill(self, sig=signal.SIGKILL):
        """Signal the worker's whole process group: its main process, pool processes and zygotes."""
        if self.process and self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass
            self.process.wait(60)
        self.log.close()

    def stop(self):
        self.kill(signal.SIGTERM)

    def read_log(self):
        with open(self.log_path) as handle:
            return handle.read()


WORKERS_STARTED = []


def control_plane(folder, broker_url, **settings):
    return LiveServer(folder, dict({"EXECUTOR": "celery", "BROKER_URL": broker_url, "LEASE_SECONDS": 3}, **settings))


def user_of(server, credits=1000):
    created = server.command("create-account", f"user{time.monotonic_ns()}@example.com", "--credits", str(credits))
    return ApiUser(server, created["api_key"])


def wait_workers(user, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        executor = user.get("/health").json()["executor"]
        if executor["workers"] == count and all(n["accepting"] for n in executor["nodes"]):
            return executor
        time.sleep(0.2)
    raise AssertionError(f"{count} workers never showed up: {executor}")


def heartbeats(redis_server):
    return {name.decode(): json.loads(raw) for name, raw in redis_server.client().hgetall("vilvik:workers").items()}


def stop_all(*things):
    for thing in things:
        try:
            thing.stop()
        except Exception:  # noqa: B902 - stop the rest whatever one does
            pass


def kill_leftovers():
    for worker in WORKERS_STARTED:
        worker.kill()
    del WORKERS_STARTED[:]
    for server in STARTED:
        if server.running:
            server.stop(signal.SIGKILL)
