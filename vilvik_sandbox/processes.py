"""What the zygote, the jail and the probe do with child processes: wait, read, signal, describe.

Each tolerates the race every one of them meets: the process may already be gone.
"""
import os
import select
import signal
import time


def read_all(fd, deadline):
    """Everything written on fd until EOF (or the deadline, a time.monotonic() value); does not close fd."""
    chunks = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        readable, _, _ = select.select([fd], [], [], remaining)
        if not readable:
            break
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)


def wait(pid, timeout):
    """waitpid with a deadline; kills the child (and its group) when it is late. None if it never ended."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            kill_group(pid)
            send_signal(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.002)


def kill_group(pid):
    """SIGKILL the process group `pid` leads (a keeper leads its job's group), if it still exists."""
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def send_signal(pid, signum):
    """Signal one process, if it still exists."""
    try:
        os.kill(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


def drain(fd):
    """Read a non-blocking fd (a signal wake-up pipe) until it is empty."""
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def describe(status):
    """A wait status as words: "exit 3", "signal 9", or "no status"."""
    if status is None:
        return "no status"
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit {os.WEXITSTATUS(status)}"
