"""Forking one job into its keeper and payload processes, and confining the payload.

`launch()` forks the keeper (A) from the zygote. A leads a new session (the whole job
is one process group), dies with the zygote (PR_SET_PDEATHSIG), keeps nothing of the
zygote's open files but the job's result channel (as fd 3) and /dev/null on 0-2,
enters new namespaces and pivots into the job's minimal root (namespaces.py,
filesystem.py), then forks the payload (B), pid 1 of the new pid namespace. B
confines itself, in this order:

  rlimits -> uid/gid change (root) or capability drop (user namespace) -> PDEATHSIG
  again -> NO_NEW_PRIVS, not dumpable -> Landlock -> seccomp

writes the trusted hello line (`{"type": "hello", "layers": [...]}`, the layers it
really applied) on fd 3, and only then runs the job. The keeper waits for the payload
and exits with its status: the exit code, or 128 + the signal that killed it.

Fail closed: a layer that `probe()` found working and that fails for a job stops
that job before any of its code runs (no hello line: the server fails it with
internal_error). Layers `probe()` found missing are skipped; the server refuses jobs
in that case unless the operator allowed a degraded sandbox.

`prepare()` does the expensive parts once in the zygote (the filesystem plan, the
compiled seccomp program, imports a job would otherwise do lazily); `probe()` really
tries each layer in a throwaway child and then runs a self-test job through
`launch()` itself, and reports. Neither logs: the server does.
"""
import json
import os
import select
import signal
import socket
import sys
import time

from . import filesystem, landlock, namespaces, privileges, seccomp_filter, syscalls

KEEPER_FAILED = 70
RESULT_FD = 3
LAYERS = ("namespaces", "filesystem", "rlimits", "privileges", "no_new_privs", "landlock", "seccomp")
PROBE_TIMEOUT = 10  # seconds for one probe child
# What the job's environment keeps (the zygote's is already scrubbed by the server).
KEPT_ENVIRONMENT = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
                    "OPENBLAS_L2_SIZE", "PYTHONHASHSEED", "PYTHONDONTWRITEBYTECODE", "LANG", "LC_ALL", "TZ")


class _State:
    """What prepare() computed and probe() found, kept in the zygote for every launch."""

    def __init__(self):
        self.identity = None  # "root" | "userns" | "unprivileged" (decided by probe)
        self.plan = None
        self.runtime = None  # (read-only paths, writable files) for Landlock
        self.program = None
        self.landlock_abi = 0
        self.last_cap = 63
        self.reasons = {}
        self.layers = None  # the set launch() applies; None until probed


_state = None


def prepare():
    """Once, in the zygote before it forks any job: everything that need not be done per job."""
    global _state
    if _state is not None:
        return _state
    state = _State()
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
    _state = state
    return state


# -- probing ---------------------------------------------------------------------------------


def probe():
    """Try each layer in a throwaway child, then a self-test job; returns the report for the server."""
    state = prepare()
    found = {}
    reasons = dict(state.reasons)
    root = os.geteuid() == 0
    state.identity = "root" if root else "userns"

    def check(name, function, *args):
        ok, why = _probe_child(function, state, *args)
        found[name] = ok
        if not ok:
            reasons[name] = why

    check("rlimits", _probe_rlimits)
    check("namespaces", _probe_namespaces)
    if not found["namespaces"]:
        if not root:
            state.identity = "unprivileged"
    if found["namespaces"] and state.plan is not None:
        check("filesystem", _probe_filesystem)
    else:
        found["filesystem"] = False
        reasons.setdefault("filesystem", "needs the mount namespace")
    if state.identity == "unprivileged":
        found["privileges"] = False
        reasons["privileges"] = "not root and no user namespace: the job runs as the server's own uid"
    else:
        check("privileges", _probe_privileges)
    check("no_new_privs", _probe_no_new_privs)
    if state.landlock_abi and state.runtime is not None:
        check("landlock", _probe_landlock)
    else:
        found["landlock"] = False
    if state.program is not None:
        check("seccomp", _probe_seccomp)
    else:
        found["seccomp"] = False
    if not found["no_new_privs"]:
        # Landlock and seccomp both rest on NO_NEW_PRIVS once the payload holds no capability.
        for name in ("landlock", "seccomp"):
            if found[name]:
                found[name] = False
                reasons[name] = "needs NO_NEW_PRIVS"
    state.layers = {name for name in LAYERS if found.get(name)}
    ok, why = _self_test(state)
    found["self_test"] = ok
    if not ok:
        reasons["self_test"] = why
    # Full: the host's files are out of reach (mount namespace or Landlock), the kernel's
    # surface is filtered, resources are bounded, and the job cannot signal or trace the
    # server: a pid namespace, a uid of its own, or Landlock's signal scoping (ABI 6+).
    found["process_isolation"] = bool(found["namespaces"] or (state.identity == "root" and found["privileges"])
                                      or (found["landlock"] and state.landlock_abi >= 6))
    if not found["process_isolation"]:
        reasons["process_isolation"] = ("no pid namespace, no uid of its own and Landlock older than ABI 6: "
                                        "a job could signal the server's processes")
    isolated = found["filesystem"] or found["landlock"]
    full = ok and isolated and found["seccomp"] and found["rlimits"] and found["process_isolation"]
    missing = [name for name in (*LAYERS, "process_isolation", "self_test") if not found.get(name)]
    return {"mode": "full" if full else "degraded", "layers": found, "missing": missing,
            "reasons": reasons, "identity": state.identity, "landlock_abi": state.landlock_abi}


def _probe_child(function, state, *args):
    """Run function(state, report_fd, *args) in a forked child; True when it exits 0."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(read)
            signal.set_wakeup_fd(-1)
            function(state, write, *args)
            code = 0
        except BaseException as exc:  # noqa: B902 - reported, never raised into the zygote
            try:
                os.write(write, f"{type(exc).__name__}: {exc}"[:500].encode())
            except OSError:
                pass
        finally:
            os._exit(code)
    os.close(write)
    try:
        message = _read_all(read, time.monotonic() + PROBE_TIMEOUT)
    finally:
        os.close(read)
    status = _wait(pid, PROBE_TIMEOUT)
    text = message.decode(errors="replace")
    if status is None:
        return False, "the probe did not finish"
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return True, ""
    return False, text or f"the probe died ({_describe(status)})"


def _probe_rlimits(state, fd):
    privileges.one_malloc_arena()
    privileges.apply_rlimits({"cpu_seconds": 5, "memory_bytes": 64 << 20}, privileges.address_space_in_use())
    import resource

    if resource.getrlimit(resource.RLIMIT_NOFILE) != (privileges.NOFILE, privileges.NOFILE):
        raise OSError("RLIMIT_NOFILE did not take")
    try:
        bytearray(256 << 20)
    except MemoryError:
        return
    raise OSError("RLIMIT_AS did not stop a 256 MiB allocation")


def _probe_namespaces(state, fd):
    namespaces.enter(state.identity == "userns")
    pid = os.fork()
    if pid == 0:
        os._exit(0 if os.getpid() == 1 and socket.gethostname() == namespaces.HOSTNAME else 1)
    status = _wait(pid, PROBE_TIMEOUT)
    if status is None or not os.WIFEXITED(status) or os.WEXITSTATUS(status):
        raise OSError("the new pid/uts namespaces did not take")


def _probe_filesystem(state, fd):
    namespaces.enter(state.identity == "userns")
    uid, gid = _jail_ids(state, privileges.PROBE_SLOT)
    filesystem.build(state.plan, uid, gid)
    _check_filesystem_view(state)


def _check_filesystem_view(state):
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


def _probe_privileges(state, fd):
    if state.identity == "userns":
        namespaces.enter(True)
        privileges.drop_capabilities(state.last_cap)
    else:
        uid, gid = _jail_ids(state, privileges.PROBE_SLOT)
        privileges.become(uid, gid, state.last_cap)
        try:
            os.setuid(0)
        except PermissionError:
            return
        raise OSError("could become root again")


def _probe_no_new_privs(state, fd):
    privileges.no_new_privs()


def _probe_landlock(state, fd):
    privileges.no_new_privs()
    read_only, writable = state.runtime
    landlock.restrict(state.landlock_abi, read_only, writable)
    try:
        os.listdir("/")
    except PermissionError:
        pass
    else:
        raise OSError("Landlock did not deny reading /")
    with open(os.__file__, "rb"):
        pass


def _probe_seccomp(state, fd):
    """Loaded, a thread still starts and getpid works; then socket() must kill us."""
    pid = os.fork()
    if pid == 0:
        try:
            privileges.no_new_privs()
            seccomp_filter.load(state.program)
            import threading

            thread = threading.Thread(target=os.getpid)
            thread.start()
            thread.join()
            os.write(fd, b"loaded")
            socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        finally:
            os._exit(3)
    status = _wait(pid, PROBE_TIMEOUT)
    if status is None or not os.WIFSIGNALED(status) or os.WTERMSIG(status) != signal.SIGSYS:
        raise OSError(f"socket() under the filter did not die with SIGSYS ({_describe(status)})")


def _self_test(state):
    """Two real jobs through launch(): one checks its view from inside, one must die on socket()."""
    try:
        facts, status = _run_probe_job(state, _self_test_job)
        expected = sorted(state.layers)
        if facts.get("error"):
            return False, facts["error"]
        if facts.get("hello") != expected:
            return False, f"the jail applied {facts.get('hello')}, expected {expected}"
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status):
            return False, f"the self-test job ended badly ({_describe(status)})"
        if "seccomp" in state.layers:
            facts, status = _run_probe_job(state, _self_test_socket_job)
            if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 128 + signal.SIGSYS):
                return False, f"a forbidden call in a job was not killed by seccomp ({_describe(status)})"
    except OSError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def _run_probe_job(state, job_main):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours:
        try:
            pid = launch(job_main, slot=privileges.PROBE_SLOT, limits={"cpu_seconds": 5, "memory_bytes": 256 << 20},
                         result_fd=theirs.fileno())
        finally:
            theirs.close()
        output = _read_all(ours.fileno(), time.monotonic() + PROBE_TIMEOUT)
    status = _wait(pid, PROBE_TIMEOUT)
    if status is None:
        raise OSError("the self-test job did not finish")
    lines = output.decode(errors="replace").splitlines()
    facts = {}
    try:
        first = json.loads(lines[0]) if lines else {}
        if first.get("type") == "jail_failed":
            facts["error"] = f"the jail failed: {first.get('error')}"
        elif lines:
            facts["hello"] = sorted(first["layers"])
        if len(lines) > 1:
            facts.update(json.loads(lines[1]))
    except (ValueError, KeyError, TypeError):
        facts["error"] = f"unreadable self-test output {output[:200]!r}"
    return facts, status


def _self_test_job(fd):
    """Runs inside the jail as a job would: checks what it can see and do."""
    state = _state
    error = None
    try:
        if "filesystem" in state.layers:
            _check_filesystem_view(state)
            with open(os.path.join(filesystem.WORKDIR, "probe"), "w") as handle:
                handle.write("x")
            if os.getcwd() != filesystem.WORKDIR:
                raise OSError("the job does not start in its working directory")
        if "namespaces" in state.layers and os.getpid() != 1:
            raise OSError("the payload is not pid 1 of its own pid namespace")
        if "privileges" in state.layers and (os.getuid() == 0 or any(syscalls.capget())):
            raise OSError("the payload kept root or capabilities")
        if "landlock" in state.layers:
            try:
                os.listdir("/")
            except PermissionError:
                pass
            else:
                raise OSError("Landlock let the job list /")
        if "namespaces" not in state.layers and (state.identity == "root" or state.landlock_abi >= 6):
            try:
                os.kill(os.getppid(), 0)
            except PermissionError:
                pass
            else:
                raise OSError("the job can signal its keeper")
        import numpy

        numbers = [float(numpy.dot([1.0, 2.0], [3.0, 4.0]))]
        if state.identity != "unprivileged":  # sharing the server's uid, a job gets no threads
            import threading

            thread = threading.Thread(target=lambda: numbers.append(numbers[0]))
            thread.start()
            thread.join()
            numbers = numbers[1:]
        if numbers != [11.0]:
            raise OSError("numpy (in a thread) did not work in the jail")
    except Exception as exc:  # noqa: B902
        error = f"{type(exc).__name__}: {exc}"
    os.write(fd, (json.dumps({"error": error}) + "\n").encode())
    return 0


def _self_test_socket_job(fd):
    socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    return 0


# -- launching -------------------------------------------------------------------------------


def launch(job_main, *, slot, limits, result_fd):
    """Fork the keeper for one job; returns its pid, which is also its process group."""
    state = prepare()
    if state.layers is None:
        probe()
    try:
        privileges.slot_uid(slot)
        int(limits["cpu_seconds"]), int(limits["memory_bytes"])
    except (ValueError, TypeError, KeyError) as exc:
        raise OSError(22, f"bad job parameters: {exc}") from None
    pid = os.fork()
    if pid:
        return pid
    try:
        _keeper(job_main, state, slot, limits, result_fd)
    except BaseException:  # noqa: B902 - a keeper must never return into the zygote
        pass
    os._exit(KEEPER_FAILED)


def _keeper(job_main, state, slot, limits, result_fd):
    layers = frozenset(state.layers)
    _become_keeper(result_fd)
    # Read while /proc is still there: the payload is a fork of us, the same size.
    address_space = privileges.address_space_in_use() if "rlimits" in layers else 0
    # The payload watches this pipe to learn whether we died before it re-armed PDEATHSIG.
    alive_read, alive_write = os.pipe()
    if "namespaces" in layers:
        namespaces.enter(state.identity == "userns")
    if "filesystem" in layers:
        uid, gid = _jail_ids(state, slot)
        filesystem.build(state.plan, uid, gid)
    payload = os.fork()
    if payload == 0:
        try:
            os.close(alive_write)
            _payload(job_main, state, layers, slot, limits, address_space, alive_read)
        finally:
            os._exit(KEEPER_FAILED)
    os.close(alive_read)
    os.close(RESULT_FD)
    # Asked to stop (SIGTERM), the keeper kills the payload itself and still reports,
    # with the payload's CPU time in its own usage; SIGKILL to the group does not allow that.
    signal.signal(signal.SIGTERM, lambda *_: os.kill(payload, signal.SIGKILL))
    while True:
        _, status = os.waitpid(payload, 0)
        if os.WIFEXITED(status):
            os._exit(min(os.WEXITSTATUS(status), 127))
        if os.WIFSIGNALED(status):
            os._exit(128 + os.WTERMSIG(status))


def _become_keeper(result_fd):
    os.setsid()
    privileges.set_parent_death_signal()
    for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGPIPE):
        signal.signal(signum, signal.SIG_DFL)
    signal.set_wakeup_fd(-1)
    # Nothing of the zygote's (its control socket above all) may reach the job: the
    # result channel becomes fd 3, 0-2 are /dev/null, everything else is closed.
    if result_fd != RESULT_FD:
        os.dup2(result_fd, RESULT_FD)
    os.closerange(RESULT_FD + 1, os.sysconf("SC_OPEN_MAX"))
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)


def _payload(job_main, state, layers, slot, limits, address_space, alive_read):
    try:
        applied = _confine(state, layers, slot, limits, address_space, alive_read)
        os.write(RESULT_FD, json.dumps({"type": "hello", "layers": applied}).encode() + b"\n")
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
        os._exit(code if isinstance(code, int) and 0 <= code <= 255 else KEEPER_FAILED)


def _confine(state, layers, slot, limits, address_space, alive_read):
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
    if "rlimits" in layers:
        privileges.one_malloc_arena()
        shared_uid = state.identity == "unprivileged"
        # Sharing the server's uid, any thread would count against all of its processes: none then.
        privileges.apply_rlimits(limits, address_space, nproc=1 if shared_uid else privileges.NPROC)
        applied.append("rlimits")
    ruleset = None
    if "landlock" in layers:
        read_only, writable = state.runtime
        ruleset = landlock.build(state.landlock_abi, read_only, writable, [workdir] if workdir else [])
    if "privileges" in layers:
        if state.identity == "root":
            uid, gid = _jail_ids(state, slot)
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


def _jail_ids(state, slot):
    """The uid/gid the job's files and processes have: the slot's as root, our own in a user namespace."""
    if state.identity == "root":
        uid = privileges.slot_uid(slot)
        return uid, uid
    return os.geteuid(), os.getegid()


def _scrub_environment(workdir):
    for name in list(os.environ):
        if name not in KEPT_ENVIRONMENT:
            del os.environ[name]
    home = workdir or "/nonexistent"
    os.environ.update(PATH="/usr/bin:/bin", HOME=home, TMPDIR=home)
    tempfile = sys.modules.get("tempfile")
    if tempfile is not None:
        tempfile.tempdir = None  # computed again, inside the jail, if the job asks


# -- helpers ---------------------------------------------------------------------------------


def _read_all(fd, deadline):
    """Everything written on fd until EOF (or the deadline); does not close fd."""
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


def _wait(pid, timeout):
    """waitpid with a deadline; kills the child (and its group) when it is late. None if it never ended."""
    deadline = time.monotonic() + timeout
    while True:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        if time.monotonic() > deadline:
            for kill in (lambda: os.killpg(pid, signal.SIGKILL), lambda: os.kill(pid, signal.SIGKILL)):
                try:
                    kill()
                except OSError:
                    pass
            _, status = os.waitpid(pid, 0)
            return None
        time.sleep(0.002)


def _describe(status):
    if status is None:
        return "no status"
    if os.WIFSIGNALED(status):
        return f"signal {os.WTERMSIG(status)}"
    return f"exit {os.WEXITSTATUS(status)}"
