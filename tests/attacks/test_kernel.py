"""Reaching for the kernel: namespaces, mounts, eBPF, io_uring, keys, foreign ABIs, identity, limits.

Layer at work: seccomp above all (an unlisted call kills the job with SIGSYS, which
the server reports as sandbox_violation); behind it no capabilities, NO_NEW_PRIVS,
hard rlimits. A job has ctypes: it can make any system call it likes, and run machine
code too, so the filter (with its architecture check) is what stands, not the absence
of shellcode.
"""
import os

import pytest

from conftest import jail_uids

SYSCALL = ("import ctypes, os\nlibc = ctypes.CDLL(None, use_errno=True)\n"
           "def fitness_func(ga, solution, idx):\n    libc.syscall({args})\n    return 1.0\n")


@pytest.mark.parametrize("name, args", [
    ("unshare(CLONE_NEWUSER)", "272, 0x10000000"),
    ("unshare(CLONE_NEWNS)", "272, 0x00020000"),
    ("setns", "308, 0, 0"),
    ("mount tmpfs", "165, b'none', b'/tmp', b'tmpfs', 0, None"),
    ("umount2", "166, b'/usr', 2"),
    ("pivot_root", "155, b'/tmp', b'/tmp'"),
    ("chroot", "161, b'/tmp'"),
    ("open_tree", "428, -100, b'/', 1"),
    ("fsopen", "430, b'tmpfs', 0"),
    ("bpf(BPF_PROG_LOAD)", "321, 5, None, 0"),
    ("io_uring_setup", "425, 8, None"),
    ("keyctl", "250, 0, 0"),
    ("add_key", "248, b'user', b'x', b'y', 1, -4"),
    ("request_key", "249, b'user', b'x', None, -4"),
    ("perf_event_open", "298, None, 0, -1, -1, 0"),
    ("userfaultfd", "323, 0"),
    ("kexec_load", "246, 0, 0, None, 0"),
    ("init_module", "175, None, 0, b''"),
    ("memfd_create", "319, b'x', 0"),
    ("personality", "135, 0x0400000"),
    ("modify_ldt", "154, 0, None, 0"),
    ("iopl", "172, 3"),
    ("clone(CLONE_THREAD|CLONE_NEWNS)", "56, 0x10000 | 0x800 | 0x100 | 0x20000, 0, 0, 0, 0"),
    ("prctl(PR_SET_DUMPABLE)", "157, 4, 1, 0, 0, 0"),
    ("seccomp(SET_MODE_STRICT)", "317, 0, 0, None"),
    ("syslog", "103, 3, None, 0"),
    ("x32 getpid", "0x40000000 | 39"),
    ("x32 socket", "0x40000000 | 41, 2, 1, 0"),
])
def test_forbidden_system_calls(hostile, name, args):
    hostile.expect(SYSCALL.format(args=args), "sandbox_violation")


def test_clone3_is_refused_softly(hostile):
    # clone3 hides its flags from seccomp: it fails with ENOSYS (glibc then uses clone, which is checked).
    source = ("import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
              "assert libc.syscall(435, None, 0) == -1 and ctypes.get_errno() == 38\n"
              "def fitness_func(ga, solution, idx):\n    return 1.0\n")
    hostile.expect(source, None)


def test_i386_int_0x80(hostile):
    source = """
import ctypes, mmap
def fitness_func(ga, solution, idx):
    code = bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3])  # mov eax, 20 (i386 getpid); int 0x80; ret
    memory = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    memory.write(code)
    return float(ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(memory)))())
"""
    # The shellcode runs; its i386 system call is killed by the filter's architecture check.
    hostile.expect(source, "sandbox_violation")


def test_x86_64_syscall_from_shellcode(hostile):
    source = """
import ctypes, mmap
def fitness_func(ga, solution, idx):
    # mov eax, 41 (socket); mov edi, 2; mov esi, 1; xor edx, edx; syscall; ret
    code = bytes([0xb8, 41, 0, 0, 0, 0xbf, 2, 0, 0, 0, 0xbe, 1, 0, 0, 0, 0x31, 0xd2, 0x0f, 0x05, 0xc3])
    memory = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    memory.write(code)
    return float(ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(memory)))())
"""
    hostile.expect(source, "sandbox_violation")


@pytest.mark.parametrize("call", ["os.setuid(0)", "os.setgid(0)", "os.setresuid(0, 0, 0)", "os.setgroups([0])",
                                  "os.seteuid(0)", "os.chown('/tmp', 0, 0)"])
def test_become_someone_else(hostile, call):
    hostile.expect(f"import os\ndef fitness_func(ga, solution, idx):\n    {call}\n    return 1.0\n",
                   "sandbox_violation")


def test_capabilities_are_gone(hostile):
    source = ("import ctypes\nlibc = ctypes.CDLL(None)\nhead = (ctypes.c_uint32 * 2)(0x20080522, 0)\n"
              "data = (ctypes.c_uint32 * 6)()\nassert libc.capget(head, data) == 0\n"
              "assert not any(data), list(data)\n"
              "import os\nassert os.getuid() != 0 and os.geteuid() != 0 and os.getgroups() == []\n"
              "def fitness_func(ga, solution, idx):\n    return 1.0\n")
    hostile.expect(source, None)


def test_raise_the_memory_limit_then_allocate(hostile):
    source = ("import resource\ntry:\n"
              "    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
              "except ValueError:\n    pass\n"
              "soft, hard = resource.getrlimit(resource.RLIMIT_AS)\n"
              "resource.setrlimit(resource.RLIMIT_AS, (hard, hard))\n"
              "def fitness_func(ga, solution, idx):\n    bytearray(1 << 30)\n    return 1.0\n")
    hostile.expect(source, "memory_limit", limits={"memory_mb": 64})


@pytest.mark.parametrize("limit", ["RLIMIT_CPU", "RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_FSIZE", "RLIMIT_CORE"])
def test_raise_other_limits(hostile, limit):
    source = (f"import resource\nresource.setrlimit(resource.{limit}, "
              "(resource.RLIM_INFINITY, resource.RLIM_INFINITY))\n"
              "def fitness_func(ga, solution, idx):\n    return 1.0\n")
    hostile.expect(source, "fitness_error", "not allowed to raise maximum limit")


def test_limits_of_another_process(hostile, attack_server):
    source = (f"import resource\nresource.prlimit({attack_server.process.pid}, resource.RLIMIT_NOFILE, (1, 1))\n"
              "def fitness_func(ga, solution, idx):\n    return 1.0\n")
    hostile.expect(source, "sandbox_violation")


def test_terminal_injection(hostile):
    # TIOCSTI (CVE-2017-5226 in bubblewrap): stdin is /dev/null here, and the ioctl is not allowed anyway.
    source = ("import fcntl, termios\ndef fitness_func(ga, solution, idx):\n"
              "    fcntl.ioctl(0, termios.TIOCSTI, b'x')\n    return 1.0\n")
    hostile.expect(source, "sandbox_violation")


def test_a_job_runs_as_a_uid_of_its_servers_own_range(hostile):
    # Two Vilvik nodes on one machine must never share a jail uid (RLIMIT_NPROC and signals are
    # per uid): each runs its jobs as SANDBOX_UID_BASE onwards; in a user namespace, as our own uid.
    submission = hostile.expect("import os\ndef fitness_func(ga, solution, idx):\n    return float(os.getuid())\n",
                                None)
    uid = int(hostile.result(submission)["best_solution_fitness"])
    if os.geteuid() == 0:
        assert uid in jail_uids()[:2]
    else:
        assert uid == os.getuid()
