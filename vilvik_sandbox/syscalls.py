"""Thin ctypes wrappers over the Linux calls the jail needs that Python's `os` lacks.

Every wrapper raises OSError on failure, so a layer that fails never goes unnoticed.
Syscall numbers are per architecture; Landlock's are the same everywhere.
"""
import ctypes
import os
import platform

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p)
libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
libc.unshare.argtypes = (ctypes.c_int,)
libc.sethostname.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong)

MACHINE = platform.machine()
_NUMBERS = {
    "x86_64": {"pivot_root": 155, "seccomp": 317, "capget": 125, "capset": 126},
    "aarch64": {"pivot_root": 41, "seccomp": 277, "capget": 90, "capset": 91},
}
NR = _NUMBERS.get(MACHINE, {})
NR_LANDLOCK_CREATE_RULESET = 444
NR_LANDLOCK_ADD_RULE = 445
NR_LANDLOCK_RESTRICT_SELF = 446

# clone/unshare flags
CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
CLONE_THREAD = 0x00010000

# mount flags
MS_RDONLY = 1
MS_NOSUID = 2
MS_NODEV = 4
MS_NOEXEC = 8
MS_REMOUNT = 32
MS_NOATIME = 1024
MS_NODIRATIME = 2048
MS_BIND = 4096
MS_REC = 16384
MS_PRIVATE = 1 << 18
MS_RELATIME = 1 << 21
MNT_DETACH = 2

# prctl options
PR_SET_PDEATHSIG = 1
PR_GET_DUMPABLE = 3
PR_SET_DUMPABLE = 4
PR_SET_NAME = 15
PR_GET_NAME = 16
PR_GET_SECCOMP = 21
PR_CAPBSET_READ = 23
PR_CAPBSET_DROP = 24
PR_SET_CHILD_SUBREAPER = 36
PR_SET_NO_NEW_PRIVS = 38
PR_GET_NO_NEW_PRIVS = 39
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4


def _check(result, what):
    if result == -1:
        err = ctypes.get_errno()
        raise OSError(err, f"{what}: {os.strerror(err)}")
    return result


def _path(value):
    return None if value is None else os.fsencode(value)


def unshare(flags):
    _check(libc.unshare(flags), "unshare")


def mount(source, target, fstype, flags, data=None):
    _check(libc.mount(_path(source), _path(target), _path(fstype), flags, _path(data)), f"mount {target}")


def umount2(target, flags):
    _check(libc.umount2(_path(target), flags), f"umount {target}")


def pivot_root(new_root, put_old):
    _check(libc.syscall(NR["pivot_root"], ctypes.c_char_p(_path(new_root)), ctypes.c_char_p(_path(put_old))),
           "pivot_root")


def sethostname(name):
    raw = name.encode()
    _check(libc.sethostname(raw, len(raw)), "sethostname")


def shutdown_write(fd):
    """shutdown(fd, SHUT_WR) on a socket given by its descriptor alone (socket.socket(fileno=) would
    query it with calls a confined job may not make)."""
    _check(libc.shutdown(fd, 1), "shutdown")


def prctl(option, arg2=0, arg3=0, arg4=0, arg5=0):
    return _check(libc.prctl(option, arg2, arg3, arg4, arg5), f"prctl({option})")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


_LINUX_CAPABILITY_VERSION_3 = 0x20080522


def capget():
    """(effective, permitted, inheritable) of this thread, as 64-bit masks."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(libc.syscall(NR["capget"], ctypes.byref(header), ctypes.byref(data)), "capget")
    return tuple(getattr(data[0], name) | getattr(data[1], name) << 32
                 for name in ("effective", "permitted", "inheritable"))


def capset_empty():
    """Clear this thread's effective, permitted and inheritable capabilities."""
    header = _CapHeader(_LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(libc.syscall(NR["capset"], ctypes.byref(header), ctypes.byref(data)), "capset")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def seccomp_set_mode_filter(program):
    """Install a classic BPF program (bytes of 8-byte sock_filter records) as a seccomp filter."""
    buffer = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buffer, ctypes.c_void_p))
    SECCOMP_SET_MODE_FILTER = 1
    _check(libc.syscall(NR["seccomp"], SECCOMP_SET_MODE_FILTER, 0, ctypes.byref(fprog)), "seccomp")


def landlock_create_ruleset(attr, size, flags):
    return _check(libc.syscall(NR_LANDLOCK_CREATE_RULESET, attr, ctypes.c_size_t(size), ctypes.c_uint32(flags)),
                  "landlock_create_ruleset")


def landlock_add_rule(ruleset_fd, rule_type, attr):
    _check(libc.syscall(NR_LANDLOCK_ADD_RULE, ruleset_fd, rule_type, attr, ctypes.c_uint32(0)), "landlock_add_rule")


def landlock_restrict_self(ruleset_fd):
    _check(libc.syscall(NR_LANDLOCK_RESTRICT_SELF, ruleset_fd, ctypes.c_uint32(0)), "landlock_restrict_self")
