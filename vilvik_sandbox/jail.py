"""Forking one job into its keeper and payload processes, and confining the payload.

`launch()` forks the keeper (A) from the zygote. A leads a new session (the whole job
is one process group), dies with the zygote (PR_SET_PDEATHSIG), keeps nothing of the
zygote's open files but the job's result channel (as fd 3) and /dev/null on 0-2,
enters new namespaces and pivots into the job's minimal root (namespaces.py,
filesystem.py), then forks the payload (B), pid 1 of the new pid namespace. B
confines itself, in this order:

  rlimits -> uid/gid change (root) or capability drop (user namespace) -> PDEATHSIG
  again -> NO_NEW_PRIVS, not dumpable -> Landlock -> seccomp

writes the trusted hello line (`{"type": "hello", "layers": [...], "setup_cpu_seconds": s}`:
the layers it really applied, and the CPU time it has used so far, which is ours, not the
job's) on fd 3, and only then runs the job; when the job returns it shuts fd 3 for writing
(the end of the job's output) and exits once the server has closed its end (or after
END_OF_OUTPUT_WAIT). The keeper waits for the payload and exits with its
status: the exit code, or 128 + the signal that killed it. Given a report pipe (fd 4 in
the keeper; the payload closes its copy before anything else), the keeper writes two JSON
lines there: the payload's pid as soon as it has forked it, and that status with the job's
resource usage once it has reaped the payload, so the job's end is heard without waiting
for the keeper's own exit (tearing down its address space and namespaces takes a
millisecond or two).

Fail closed: a layer that the probe (probe.py) found working and that fails for a job
stops that job before any of its code runs (no hello line: the server fails it with
internal_error). Layers the probe found missing are skipped; the server refuses jobs
in that case unless the operator allowed a degraded sandbox. A jail that was never
probed launches nothing.

`prepare_keeper()` forks a keeper and its payload ahead of their job: the keeper enters its
namespaces, builds its root and forks the payload, which goes as far as it can without the
job (and runs the given warm-up: a fork's first run of PyGAD costs it a copy of every page it
writes to) and waits for `start_keeper()` to give it the job's limits and result channel; from
there on both are what launch() makes. `prepare()` does the expensive parts once in the zygote (the filesystem plan, the
compiled seccomp program, imports a job would otherwise do lazily) and returns the
`Jail` the zygote keeps and passes to every launch. Nothing here logs: the server does.
"""
import fcntl
import json
import os
import resource
import select
import signal
import socket
import sys
import time

from . import channel, filesystem, landlock, namespaces, privileges, processes, seccomp_filter, syscalls

KEEPER_FAILED = 70
RESULT_FD = 3
REPORT_FD = 4  # the keeper's end of its report pipe to the zygote (never the payload's)
END_OF_OUTPUT_WAIT = 0.1  # seconds a payload whose output has ended waits for the server to close its channel
LAYERS = ("namespaces", "filesystem", "rlimits", "privileges", "no_new_privs", "landlock", "seccomp")
# What the job's environment keeps (the zygote's is already scrubbed by the server).
KEPT_ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
                    "OPENBLAS_L2_SIZE", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "LANG", "LC_ALL", "TZ")


class Jail:
    """What prepare() computed and the probe found, kept by the zygote for every launch."""

    def __init__(self):
        self.identity = None  # "root" | "userns" | "unprivileged" (decided by the probe)
        self.plan = None
        self.runtime = None  # (read-only paths, writable files) for Landlock
        self.program = None
        self.landlock_abi = 0
        self.last_cap = 63
        self.reasons = {}
        self.layers = None  # the set launch() applies; None until probed


def prepare():
    """Once, in the zygote before it forks any job: everything that need not be done per job."""
    state = Jail()
    try:
        state.plan = filesystem.plan()
        state.runtime = (state.plan.read_only_paths, state.plan.writable_files)
    except (filesystem.FilesystemUnavailable, OSError) as exc:
        state.reasons["filesystem"] = str(exc)
    try:
        state.program = seccomp_filter.build()
    except (seccomp_filter.SeccompUnavailable, OSError) as exc:
        state.reasons["seccomp"] = str(exc)
    state.landlock_abi = landlock.abi_version()
    if not state.landlock_abi:
        state.reasons["landlock"] = "Landlock is not available in this kernel (or disabled at boot)"
    state.last_cap = privileges.last_capability()
    # A payload whose keeper was killed with it (a wall-clock timeout, a cancel) is
    # re-parented: to us, not to the host's init (which, in a container, may be a
    # process that never reaps), so a zombie cannot pile up against the slot uid's
    # RLIMIT_NPROC. (The zygote's reap loop collects them.)
    try:
        syscalls.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 1)
    except OSError:
        pass
    # The runner imports this per job; have it in memory already, so a job reads no file for it.
    from . import ga_build  # noqa: F401
    return state


def launch(state, job_main, *, slot, limits, result_fd, report_fd=None):
    """Fork the keeper for one job confined as the probed `state` says; returns its pid, also its process group.

    With `report_fd` (a pipe's write end), the keeper writes {"payload_pid"} there once it has
    forked the payload, and {"exit_code", "cpu_seconds", "peak_memory_bytes"} of the whole job
    once it has reaped it, each as one JSON line.
    """
    check_job(state, slot, limits)
    pid = os.fork()
    if pid:
        return pid
    try:
        _become_keeper(result_fd, report_fd)
        address_space = _enter_jail(state, slot)
        _keeper(job_main, state, slot, limits, address_space, report=report_fd is not None)
    except BaseException:  # noqa: B902 - a keeper must never return into the zygote
        pass
    os._exit(KEEPER_FAILED)


def prepare_keeper(state, job_main, *, slot, warm_up=None):
    """Fork a keeper and its payload for the next job on `slot`, as far as they go without the job.

    Returns (pid, socket). The keeper enters its new namespaces and builds its root, then
    forks the payload, which takes the steps that do not depend on the job (PDEATHSIG, the
    checks of its pid namespace and root, its working directory and environment, building
    its Landlock ruleset, then `warm_up()`, our own code: no job is there yet) and waits
    on the socket for start_keeper(): the job's limits and its result channel. Only then does
    it apply its first layer that depends on the job (the rlimits) and every one after it,
    in the same order as launch()'s payload. The keeper reports on the same socket as
    launch()'s keeper on its report pipe. One keeper serves one job; closing the socket
    before start_keeper() ends it.
    """
    check_job(state, slot, None)
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    pid = os.fork()
    if pid:
        theirs.close()
        return pid, ours
    try:
        _become_keeper(None, theirs.fileno())
        os.dup2(0, RESULT_FD)  # /dev/null holds fd 3 until the job's channel arrives: no pipe takes it
        address_space = _enter_jail(state, slot)
        _keeper(job_main, state, slot, None, address_space, report=True, warm_up=warm_up)
    except BaseException:  # noqa: B902 - a keeper must never return into the zygote
        pass
    os._exit(KEEPER_FAILED)


def start_keeper(sock, *, limits, result_fd):
    """Hand a keeper from prepare_keeper() its job: the limits and the job's result channel."""
    channel.send_message(sock, {"limits": limits}, fds=[result_fd])


def check_job(state, slot, limits):
    """OSError unless the jail was probed and the slot (and the limits, when given) are valid."""
    if state.layers is None:
        raise OSError("the jail was not probed: it launches nothing")
    try:
        privileges.slot_uid(slot)
        if limits is not None:
            int(limits["cpu_seconds"]), int(limits["memory_bytes"])
    except (ValueError, TypeError, KeyError) as exc:
        raise OSError(22, f"bad job parameters: {exc}") from None


def _enter_jail(state, slot):
    """The keeper's part of the jail: new namespaces and the job's root. Returns the address space in use."""
    layers = state.layers
    # Read while /proc is still there: the payload is a fork of us, the same size.
    address_space = privileges.address_space_in_use() if "rlimits" in layers else 0
    if "namespaces" in layers:
        namespaces.enter(state.identity == "userns")
    if "filesystem" in layers:
        uid, gid = jail_ids(state, slot)
        filesystem.build(state.plan, uid, gid)
    return address_space


def _keeper(job_main, state, slot, limits, address_space, report, warm_up=None):
    layers = frozenset(state.layers)
    # The payload watches this pipe to learn whether we died before it re-armed PDEATHSIG.
    alive_read, alive_write = os.pipe()
    payload = os.fork()
    if payload == 0:
        try:
            os.close(alive_write)
            if report and limits is not None:
                os.close(REPORT_FD)  # (a payload prepared ahead closes it once it has its job)
            _payload(job_main, state, layers, slot, limits, address_space, alive_read, warm_up)
        finally:
            os._exit(KEEPER_FAILED)
    os.close(alive_read)
    os.close(RESULT_FD)
    if report:
        _report_payload(payload)
    # Asked to stop (SIGTERM), the keeper kills the payload itself and still reports,
    # with the payload's CPU time in its own usage; SIGKILL to the group does not allow that.
    signal.signal(signal.SIGTERM, lambda *_: os.kill(payload, signal.SIGKILL))
    while True:
        _, status = os.waitpid(payload, 0)
        if os.WIFEXITED(status):
            code = min(os.WEXITSTATUS(status), 127)
        elif os.WIFSIGNALED(status):
            code = 128 + os.WTERMSIG(status)
        else:
            continue
        if report:
            _report_end(code)
        os._exit(code)


def _report_payload(pid):
    """The payload's pid, first on the report: the server reads the job's CPU time from the kernel
    once the job's output has closed, without waiting for its exit (see vilvik_server.engine.job)."""
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a zygote gone or done with us: EPIPE, not death
    try:
        os.write(REPORT_FD, json.dumps({"payload_pid": pid}).encode() + b"\n")
    except OSError:
        pass


def _report_end(code):
    """The job's end, for the zygote: the payload is reaped (nothing of the job runs any more)."""
    own, payload = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    line = json.dumps({"exit_code": code,
                       "cpu_seconds": own.ru_utime + own.ru_stime + payload.ru_utime + payload.ru_stime,
                       "peak_memory_bytes": max(own.ru_maxrss, payload.ru_maxrss) * 1024})
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)  # a zygote gone or done with us: EPIPE, not death
    try:
        os.write(REPORT_FD, line.encode() + b"\n")
    except OSError:
        pass  # the zygote hears the end from our exit instead


def _become_keeper(result_fd, report_fd):
    os.setsid()
    privileges.set_parent_death_signal()
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    # Nothing of the zygote's (its control socket above all) may reach the job: the
    # result channel becomes fd 3, the report pipe or socket (if any) fd 4, 0-2 are /dev/null,
    # everything else is closed. (Each is first copied above 4, so no dup2 can overwrite another.)
    copies = [(fcntl.fcntl(fd, fcntl.F_DUPFD, REPORT_FD + 1), target)
              for fd, target in ((result_fd, RESULT_FD), (report_fd, REPORT_FD)) if fd is not None]
    for copy, target in copies:
        os.dup2(copy, target)
    for fd in {RESULT_FD, REPORT_FD} - {target for _, target in copies}:
        try:
            os.close(fd)
        except OSError:
            pass
    os.closerange(REPORT_FD + 1, os.sysconf("SC_OPEN_MAX"))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _payload(job_main, state, layers, slot, limits, address_space, alive_read, warm_up=None):
    try:
        applied = _confine(state, layers, slot, limits, address_space, alive_read, warm_up)
        # The CPU time so far is the jail's and the warm-up's: the server does not charge it to the job.
        setup = resource.getrusage(resource.RUSAGE_SELF)
        os.write(RESULT_FD, json.dumps({"type": "hello", "layers": applied,
                                        "setup_cpu_seconds": setup.ru_utime + setup.ru_stime}).encode() + b"\n")
    except BaseException as exc:  # noqa: B902 - fail closed: no hello, no user code
        # Still trusted (no user code has run): say why, for the operator. It is not a hello,
        # so the server fails the job as internal_error.
        try:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            os.write(RESULT_FD, json.dumps({"type": "jail_failed", "error": reason}).encode() + b"\n")
        finally:
            os._exit(KEEPER_FAILED)
    code = KEEPER_FAILED
    try:
        code = job_main(RESULT_FD)
    finally:
        _end_output()
        os._exit(code if isinstance(code, int) and 0 <= code <= 255 else KEEPER_FAILED)


def _end_output():
    """The job's output ends here, not when the kernel has torn this process down (milliseconds later).

    Its channel is shut for writing, which the server reads as the end of the output at once
    (even if the job's code holds a copy of fd 3), and the process waits until the server has
    closed its end, for END_OF_OUTPUT_WAIT at most: meanwhile the server reads this process's
    CPU time and peak memory from the kernel (vilvik_server.engine.job). A failure here only
    means the server waits for the exit instead; it kills a process that does not go.
    """
    try:
        syscalls.shutdown_write(RESULT_FD)
        processes.read_all(RESULT_FD, time.monotonic() + END_OF_OUTPUT_WAIT)  # until the server's end closes
    except OSError:
        pass


def _confine(state, layers, slot, limits, address_space, alive_read, warm_up=None):
    """Every layer probe() found working, in order, or an exception (and no job)."""
    privileges.set_parent_death_signal()
    applied = []
    if "namespaces" in layers:
        if os.getpid() != 1:
            raise OSError("not pid 1 of a new pid namespace")
        applied.append("namespaces")
    workdir = None
    if "filesystem" in layers:
        if os.path.lexists("/proc/self") or os.path.lexists("/etc/passwd"):
            raise OSError("the host's filesystem is visible")
        workdir = state.plan.workdir
        applied.append("filesystem")
    os.chdir(workdir or "/")
    _scrub_environment(workdir)
    ruleset = None
    if "landlock" in layers:  # built here, enforced in its turn below
        read_only, writable = state.runtime
        ruleset = landlock.build(state.landlock_abi, read_only, writable, [workdir] if workdir else [])
    if limits is None:  # prepared ahead: the job arrives now, before the first layer that depends on it
        if warm_up is not None:
            warm_up()
        limits = _receive_job(state, slot)
    if "rlimits" in layers:
        privileges.one_malloc_arena()
        shared_uid = state.identity == "unprivileged"
        # Sharing the server's uid, any thread would count against all of its processes: none then.
        privileges.apply_rlimits(limits, address_space, nproc=1 if shared_uid else privileges.NPROC)
        applied.append("rlimits")
    if "privileges" in layers:
        if state.identity == "root":
            uid, gid = jail_ids(state, slot)
            privileges.become(uid, gid, state.last_cap)
        else:
            privileges.drop_capabilities(state.last_cap)
        applied.append("privileges")
    # The uid change cleared PDEATHSIG: arm it again, then make sure the keeper did not die meanwhile.
    privileges.set_parent_death_signal()
    readable, _, _ = select.select([alive_read], [], [], 0)
    if readable:
        raise OSError("the keeper is gone")
    os.close(alive_read)
    if "no_new_privs" in layers:
        privileges.no_new_privs()
        applied.append("no_new_privs")
    if ruleset is not None:
        landlock.enforce(ruleset)
        applied.append("landlock")
    if "seccomp" in layers:
        seccomp_filter.load(state.program)  # last: from here on, only the allowlist
        applied.append("seccomp")
    return applied


def _receive_job(state, slot):
    """A payload prepared ahead gets its job from the zygote: the limits, and the result channel as fd 3.

    It closes its end of the socket to the zygote (fd 4) before anything else happens.
    """
    control = socket.socket(fileno=REPORT_FD)
    try:
        message, fds = channel.recv_message(control)
    finally:
        control.close()
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise OSError("no result channel")
    os.dup2(fds[0], RESULT_FD)
    os.close(fds[0])
    limits = message["limits"]
    check_job(state, slot, limits)
    return limits


def _scrub_environment(workdir):
    for name in list(os.environ):
        if name not in KEPT_ENVIRONMENT:
            del os.environ[name]
    home = workdir or "/nonexistent"
    os.environ.update(PATH="/usr/bin:/bin", HOME=home, TMPDIR=home)
    tempfile = sys.modules.get("tempfile")
    if tempfile is not None:
        tempfile.tempdir = None  # computed again, inside the jail, if the job asks


def jail_ids(state, slot):
    """The uid/gid the job's files and processes have: the slot's as root, our own in a user namespace."""
    if state.identity == "root":
        uid = privileges.slot_uid(slot)
        return uid, uid
    return os.geteuid(), os.getegid()


def check_filesystem_view():
    """Inside the jail's root: the host's files are out of sight, the runtime is there, the root is read-only."""
    for path in ("/etc/passwd", "/etc/hostname", "/proc/self", "/sys/kernel", "/var", "/run"):
        if os.path.lexists(path):
            raise OSError(f"{path} is visible in the jail")
    if not os.path.isfile(os.__file__):
        raise OSError("the Python runtime is missing from the jail")
    try:
        os.mkdir("/vilvik-probe")
    except OSError:
        pass
    else:
        raise OSError("the jail's root is writable")
