"""Forking one job into its keeper and payload processes, and confining the payload.

`launch()` forks the keeper (A): it leads a new session so the whole job can be
killed as one process group, dies with the zygote, and forks the payload (B), which
confines itself and then runs the job. The keeper waits for the payload and exits
with its status: the exit code, or 128 + the signal that killed it.
"""
import ctypes
import json
import os
import resource
import signal

PR_SET_PDEATHSIG = 1
KEEPER_FAILED = 70

_libc = ctypes.CDLL(None, use_errno=True)


def probe():
    """Report which confinement layers this host provides (run once at start-up)."""
    layers = {"rlimits": True}
    return {"mode": "degraded", "layers": layers, "missing": ["namespaces", "filesystem", "seccomp"]}


def launch(job_main, *, slot, limits, result_fd):
    """Fork the keeper for one job; returns its pid, which is also its process group."""
    pid = os.fork()
    if pid:
        return pid
    try:
        _become_keeper(result_fd)
        payload = os.fork()
        if payload == 0:
            _run_payload(job_main, limits, result_fd)
        os.close(result_fd)
        while True:
            _, status = os.waitpid(payload, 0)
            if os.WIFEXITED(status):
                os._exit(min(os.WEXITSTATUS(status), 127))
            if os.WIFSIGNALED(status):
                os._exit(128 + os.WTERMSIG(status))
    except BaseException:  # noqa: B902 - a keeper must never return into the zygote
        os._exit(KEEPER_FAILED)


def _become_keeper(result_fd):
    os.setsid()
    _set_parent_death_signal()
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    # Nothing of the zygote's (its control socket above all) may reach the job.
    keep = sorted({0, 1, 2, result_fd})
    for low, high in zip(keep, keep[1:] + [os.sysconf("SC_OPEN_MAX")]):
        os.closerange(low + 1, high)


def _run_payload(job_main, limits, result_fd):
    code = KEEPER_FAILED
    try:
        _set_parent_death_signal()
        layers = _apply_rlimits(limits)
        _write_hello(result_fd, layers)
        code = job_main(result_fd)
    finally:
        os._exit(code)


def _set_parent_death_signal():
    if _libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG)")


def _apply_rlimits(limits):
    cpu = int(limits["cpu_seconds"])
    # The soft limit sends SIGXCPU; the hard one a second later is a SIGKILL that
    # a handler cannot ignore.
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    memory = int(limits["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_AS, (_address_space_in_use() + memory,) * 2)
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (1 << 20, 1 << 20))
    return ["rlimits"]


def _address_space_in_use():
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def _write_hello(result_fd, layers):
    line = json.dumps({"type": "hello", "layers": layers}).encode() + b"\n"
    os.write(result_fd, line)
