"""New processes, bombs, signals to others, tracing and process introspection.

Layers at work: seccomp (clone only with CLONE_THREAD, no execve, no ptrace,
process_vm_*, pidfd_*, setsid), RLIMIT_NPROC per slot uid (threads), the pid
namespace (the job is pid 1 and alone), Landlock signal scoping, the per-slot uid.
The host side: canary processes running as the slots' own uids must survive every
"kill everything" attempt, and no process of a jail uid outlives its job.
"""
import os
import subprocess
import uuid

import pytest

from conftest import jail_uids

from .conftest import assert_no_jail_processes


@pytest.fixture
def canaries():
    """Host processes running as the uids jobs run as: a job must not be able to signal them."""
    if os.geteuid() != 0:
        yield []
        return
    started = []
    for uid in jail_uids()[:2]:
        started.append(subprocess.Popen(["sleep", "120"], user=uid,
                                        group=uid, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL))
    yield started
    for process in started:
        process.kill()
        process.wait()


def assert_alive(canaries):
    for process in canaries:
        assert process.poll() is None, f"canary {process.pid} was killed by a job"


@pytest.mark.parametrize("call", [
    "os.fork()",
    "subprocess.run(['id'])",
    "os.system('id')",
    "os.execv('/usr/bin/id', ['id'])",
    "os.posix_spawn('/usr/bin/id', ['id'], {})",
    "multiprocessing.Process(target=print).start()",
])
def test_new_processes(hostile, call):
    source = ("import os, subprocess, multiprocessing, pty\n"
              f"def fitness_func(ga, solution, idx):\n    {call}\n    return 1.0\n")
    hostile.expect(source, "sandbox_violation")


def test_a_pseudo_terminal(hostile):
    # No /dev/ptmx in the jail: the pty is refused before any fork is tried.
    source = "import pty\ndef fitness_func(ga, solution, idx):\n    pty.fork()\n    return 1.0\n"
    hostile.expect(source, "fitness_error", "out of pty devices")


def test_fork_bomb(hostile):
    source = "import os\ndef fitness_func(ga, solution, idx):\n    while True:\n        os.fork()\n"
    hostile.expect(source, "sandbox_violation")
    assert_no_jail_processes()


def test_command_through_the_shell_leaves_no_marker(hostile):
    marker = f"/tmp/vilvik-system-{uuid.uuid4().hex}"
    source = f"import os\ndef fitness_func(ga, solution, idx):\n    os.system('touch {marker}')\n    return 1.0\n"
    hostile.expect(source, "sandbox_violation")
    assert not os.path.exists(marker)


def test_thread_bomb(hostile):
    source = ("import threading, time\nthreads = []\ndef fitness_func(ga, solution, idx):\n    while True:\n"
              "        thread = threading.Thread(target=time.sleep, args=(60,), daemon=True)\n"
              "        thread.start()\n        threads.append(thread)\n")
    hostile.expect(source, "fitness_error", "can't start new thread")


def test_a_few_threads_are_fine(hostile):
    source = ("from concurrent.futures import ThreadPoolExecutor\n"
              "def fitness_func(ga, solution, idx):\n"
              "    with ThreadPoolExecutor(4) as pool:\n"
              "        return float(sum(pool.map(float, solution)))\n")
    hostile.expect(source, None)


def test_kill_the_parent_and_everyone(hostile, canaries, attack_server):
    pids = [0, -1, 1, attack_server.process.pid, os.getpid()] + [canary.pid for canary in canaries]
    source = f"""
import os, signal
report = []
def fitness_func(ga, solution, idx):
    for pid in [os.getppid()] + {pids!r} + list(range(2, 4000)):
        for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGSTOP):
            try:
                os.kill(pid, sig)
            except OSError as exc:
                report.append(exc.errno)
    return 1.0
"""
    # The job is pid 1 of an empty pid namespace: nothing else exists for it, and
    # signals from inside never kill a namespace's init. Harmless, so it just succeeds.
    hostile.expect(source, None)
    assert_alive(canaries)
    assert attack_server.running


def test_kill_process_groups_and_sessions(hostile, canaries):
    pgids = [os.getpgid(canary.pid) for canary in canaries] + [os.getpgrp()]
    source = f"""
import os, signal
def fitness_func(ga, solution, idx):
    for pgid in [0] + {pgids!r}:
        try:
            os.killpg(pgid, signal.SIGKILL)
        except OSError:
            pass
    return 1.0
"""
    hostile.expect(source, None)
    assert_alive(canaries)


@pytest.mark.parametrize("call", [
    "libc.ptrace(0, 0, None, None)",  # PTRACE_TRACEME
    "libc.ptrace(16, SERVER, None, None)",  # PTRACE_ATTACH to the server
    "libc.syscall(310, SERVER, None, 0, None, 0, 0)",  # process_vm_readv
    "libc.syscall(434, SERVER, 0)",  # pidfd_open
    "libc.syscall(312, 1, 1, 0, 0, 0)",  # kcmp
    "os.setsid()",
    "os.setpgid(0, 0)",
])
def test_tracing_and_process_control(hostile, attack_server, call):
    source = (f"import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\nSERVER = {attack_server.process.pid}\n"
              f"def fitness_func(ga, solution, idx):\n    {call}\n    return 1.0\n")
    hostile.expect(source, "sandbox_violation")


def test_the_job_is_alone_in_its_pid_namespace(hostile):
    source = """
import os
others = []
for pid in range(1, 32768):
    try:
        os.kill(pid, 0)
        others.append(pid)
    except OSError:
        pass
assert others == [1] and os.getpid() == 1 and os.getppid() == 0, (others, os.getpid(), os.getppid())
def fitness_func(ga, solution, idx):
    return 1.0
"""
    if os.geteuid() != 0:
        pytest.fail("run the attack suite as root (as CI does): without it there is no pid namespace to test")
    hostile.expect(source, None)


def test_signal_handlers_do_not_outlive_a_timeout(hostile):
    # Ignore everything catchable and sleep: the wall clock kills the whole job anyway.
    source = """
import signal, time
for number in range(1, 65):
    try:
        signal.signal(number, signal.SIG_IGN)
    except (OSError, ValueError):
        pass
def fitness_func(ga, solution, idx):
    time.sleep(3600)
"""
    hostile.expect(source, "timeout", "wall-clock", limits={"wall_seconds": 1})
    assert_no_jail_processes()
