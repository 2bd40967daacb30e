"""The server's side of the zygote: start it, ask it to spawn and kill jobs, hear their exits.

The zygote is a separate, clean interpreter (`vilvik_sandbox.zygote`) that never
imports this package, so forked jobs cannot find the server's secrets in memory.
Its only link to us is a Unix socket; when this process dies the socket closes and
the zygote kills every job and exits.
"""
import importlib.util
import logging
import os
import secrets
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass

from vilvik_sandbox import channel

log = logging.getLogger("vilvik.zygote")

# Variables a job's numpy may need; nothing else of ours crosses over.
_PASSED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "LANG", "LC_ALL", "TZ")
_FIXED_ENV = {"PATH": "/usr/bin:/bin", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1",
              "MKL_NUM_THREADS": "1", "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"}
START_TIMEOUT = 60
SPAWN_TIMEOUT = 30  # seconds for the zygote to answer a spawn request


class ZygoteUnavailable(Exception):
    """The zygote is not running (it failed to start or died)."""


class _Pending:
    def __init__(self):
        self.event = threading.Event()
        self.message = None

    def set(self, message):
        self.message = message
        self.event.set()


@dataclass(frozen=True)
class Spawned:
    """A job the zygote started: its keeper's pid (also its process group), and the read end of
    the keeper's report (the payload's pid, then the job's end once it has reaped the payload:
    see vilvik_sandbox.jail), now the caller's to read and close; None if the zygote sent none."""

    pid: int
    report_fd: int | None


class Spawning:
    """A spawn request on its way: wait() gives the zygote's answer."""

    def __init__(self, zygote, job_id, pending):
        self.zygote, self.job_id, self.pending = zygote, job_id, pending
        self.spawned = None

    def wait(self, timeout=SPAWN_TIMEOUT):
        """The `Spawned` job, or ZygoteUnavailable if the zygote could not start it (or never said)."""
        if self.spawned is None:
            pending = self.pending
            if not pending.event.wait(timeout) or pending.message.get("op") != "spawned":
                self.zygote.forget(self.job_id)  # under the lock: no answer is taken for it from now on
                if pending.message and pending.message.get("report_fd") is not None:
                    os.close(pending.message.pop("report_fd"))
                reason = pending.message.get("error") if pending.message else "no answer"
                raise ZygoteUnavailable(f"the zygote could not start the job: {reason}")
            self.spawned = Spawned(pending.message["pid"], pending.message.get("report_fd"))
        return self.spawned


class Zygote:
    def __init__(self):
        self.process = None
        self.sock = None
        self.ready = None  # the zygote's start-up report: sandbox layers and versions
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()
        self._tokens = {}  # job id -> the token the zygote knows the job by (see spawn)
        self._spawns = {}  # token -> its spawn's answer
        self._exits = {}  # token -> its keeper's exit
        self._reader = None

    def start(self):
        """Start the zygote and wait until it is warm (call from the main thread)."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        env = {name: os.environ[name] for name in _PASSED_ENV if name in os.environ}
        env.update(_FIXED_ENV)
        package_root = os.path.dirname(os.path.dirname(importlib.util.find_spec("vilvik_sandbox").origin))
        bootstrap = ("import sys; sys.path.insert(0, sys.argv[1]); "
                     "import vilvik_sandbox.zygote as z; sys.exit(z.main(int(sys.argv[2])))")
        with theirs:
            self.process = subprocess.Popen(
                [sys.executable, "-I", "-c", bootstrap, package_root, str(theirs.fileno())],
                pass_fds=(theirs.fileno(),), env=env, cwd="/", stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, close_fds=True)
        self.sock = ours
        self.sock.settimeout(START_TIMEOUT)
        try:
            message, _ = channel.recv_message(self.sock)
        except (OSError, channel.ChannelClosed) as exc:
            self.close()
            raise ZygoteUnavailable(f"the zygote did not start: {exc}") from None
        self.sock.settimeout(None)
        if message.get("op") != "ready":
            self.close()
            raise ZygoteUnavailable(f"unexpected first message from the zygote: {message.get('op')}")
        self.ready = message
        self._reader = threading.Thread(target=self._read_loop, name="vilvik-zygote-reader", daemon=True)
        self._reader.start()
        return message

    @property
    def alive(self):
        return self.process is not None and self.process.poll() is None and self.sock is not None

    def spawn(self, job_id, limits, slot, output_fd, meanwhile=None):
        """Ask for one job on `output_fd` (it then waits there for its spec); returns a `Spawning`.

        `meanwhile()`, if given, runs once the request is on its way: the server sends the spec
        then, so it is there when the payload is confined. The zygote's answer is not awaited
        here: the job's output can be read at once, and Spawning.wait() gives the answer later.

        The zygote knows the job by a random token, never by its id: every job is a fork of the
        zygote, and would find the ids of the jobs running beside it in the zygote's memory."""
        pending = _Pending()
        token = secrets.token_hex(8)
        with self._lock:
            self._tokens[job_id] = token
            self._spawns[token] = pending
            self._exits[token] = _Pending()
        try:
            self._send({"op": "spawn", "job": token, "limits": limits, "slot": slot}, fds=[output_fd])
        except ZygoteUnavailable:
            self.forget(job_id)
            raise
        if meanwhile is not None:
            meanwhile()
        return Spawning(self, job_id, pending)

    def wait_exit(self, job_id, timeout):
        """The job's exit as the zygote saw it when it reaped the keeper, or None after `timeout`."""
        with self._lock:
            pending = self._exits.get(self._tokens.get(job_id))
        if pending is None or not pending.event.wait(timeout):
            return None
        self.forget(job_id)
        return pending.message

    def kill(self, job_id):
        """Kill the job's whole process group (the zygote has not reaped it, so the pid is its own)."""
        with self._lock:
            token = self._tokens.get(job_id)
        if token is None:
            return  # forgotten: its end was heard, or it never started
        try:
            self._send({"op": "kill", "job": token})
        except ZygoteUnavailable:
            pass

    def forget(self, job_id):
        with self._lock:
            token = self._tokens.pop(job_id, None)
            self._spawns.pop(token, None)
            self._exits.pop(token, None)

    def close(self):
        """Stop the zygote: closing the socket makes it kill its jobs and exit."""
        sock, self.sock = self.sock, None
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
        if self.process is not None:
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def _send(self, message, fds=()):
        with self._send_lock:
            if self.sock is None:
                raise ZygoteUnavailable("the zygote is not running")
            try:
                channel.send_message(self.sock, message, fds)
            except OSError as exc:
                raise ZygoteUnavailable(f"the zygote is not answering: {exc}") from None

    def _read_loop(self):
        sock = self.sock
        try:
            while True:
                message, fds = channel.recv_message(sock)
                op = message.get("op")
                table = self._exits if op == "exited" else self._spawns
                with self._lock:
                    pending = table.get(message.get("job"))
                    if pending is not None:
                        if op == "spawned" and len(fds) == 1:
                            message["report_fd"] = fds.pop()
                        pending.set(message)
                for fd in fds:
                    os.close(fd)
        except (OSError, ValueError, channel.ChannelClosed) as exc:
            if self.sock is not None:
                log.error("the zygote stopped unexpectedly (%s); its running jobs are lost", exc)
        finally:
            with self._lock:
                waiting = list(self._spawns.values()) + list(self._exits.values())
            for pending in waiting:
                if not pending.event.is_set():
                    pending.set({"op": "lost"})
