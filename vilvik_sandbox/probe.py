"""What this host's kernel allows: each sandbox layer tried for real, then self-test jobs.

`probe()` runs once in the zygote, after `jail.prepare()` and before any job: it tries
each layer in a throwaway child (a layer that does not take is reported missing, with
why), decides whom jobs run as (root: a uid per slot; otherwise a user namespace, or
the server's own uid when there is none), then launches two real jobs through the
jail itself: one checks its view from inside, one must die on a forbidden call. The
report says "full" only when the host's files, the kernel's surface, resources and the
server's processes are all out of a job's reach. Nothing here logs: the server does.
"""
import functools
import json
import os
import signal
import socket
import time

from . import filesystem, jail, landlock, namespaces, privileges, processes, seccomp_filter, syscalls

PROBE_TIMEOUT = 10  # seconds for one probe child


def probe(state):
    """Try each layer of a prepared jail in a throwaway child, then self-test jobs; returns the report.

    It also records in `state` what it found: the identity jobs run as and the layers launch() applies.
    """
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
    state.layers = {name for name in jail.LAYERS if found.get(name)}
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
    missing = [name for name in (*jail.LAYERS, "process_isolation", "self_test") if not found.get(name)]
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
        message = processes.read_all(read, time.monotonic() + PROBE_TIMEOUT)
    finally:
        os.close(read)
    status = processes.wait(pid, PROBE_TIMEOUT)
    text = message.decode(errors="replace")
    if status is None:
        return False, "the probe did not finish"
    if os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0:
        return True, ""
    return False, text or f"the probe died ({processes.describe(status)})"


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
    status = processes.wait(pid, PROBE_TIMEOUT)
    if status is None or not os.WIFEXITED(status) or os.WEXITSTATUS(status):
        raise OSError("the new pid/uts namespaces did not take")


def _probe_filesystem(state, fd):
    namespaces.enter(state.identity == "userns")
    uid, gid = jail.jail_ids(state, privileges.PROBE_SLOT)
    filesystem.build(state.plan, uid, gid)
    jail.check_filesystem_view()


def _probe_privileges(state, fd):
    if state.identity == "userns":
        namespaces.enter(True)
        privileges.drop_capabilities(state.last_cap)
    else:
        uid, gid = jail.jail_ids(state, privileges.PROBE_SLOT)
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
    status = processes.wait(pid, PROBE_TIMEOUT)
    if status is None or not os.WIFSIGNALED(status) or os.WTERMSIG(status) != signal.SIGSYS:
        raise OSError(f"socket() under the filter did not die with SIGSYS ({processes.describe(status)})")


def _self_test(state):
    """Two real jobs through launch(): one checks its view from inside, one must die on socket()."""
    try:
        facts, status = _run_probe_job(state, functools.partial(_self_test_job, state))
        expected = sorted(state.layers)
        if facts.get("error"):
            return False, facts["error"]
        if facts.get("hello") != expected:
            return False, f"the jail applied {facts.get('hello')}, expected {expected}"
        if not os.WIFEXITED(status) or os.WEXITSTATUS(status):
            return False, f"the self-test job ended badly ({processes.describe(status)})"
        if "seccomp" in state.layers:
            facts, status = _run_probe_job(state, _self_test_socket_job)
            if not (os.WIFEXITED(status) and os.WEXITSTATUS(status) == 128 + signal.SIGSYS):
                return False, f"a forbidden call in a job was not killed by seccomp ({processes.describe(status)})"
    except OSError as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return True, ""


def _run_probe_job(state, job_main):
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    with ours:
        try:
            pid = jail.launch(state, job_main, slot=privileges.PROBE_SLOT,
                              limits={"cpu_seconds": 5, "memory_bytes": 256 << 20}, result_fd=theirs.fileno())
        finally:
            theirs.close()
        output = processes.read_all(ours.fileno(), time.monotonic() + PROBE_TIMEOUT)
    status = processes.wait(pid, PROBE_TIMEOUT)
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


def _self_test_job(state, fd):
    """Runs inside the jail as a job would: checks what it can see and do."""
    error = None
    try:
        if "filesystem" in state.layers:
            jail.check_filesystem_view()
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
