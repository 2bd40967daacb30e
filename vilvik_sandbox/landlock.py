"""Landlock, through the raw syscalls (no library): what the payload may touch, by path.

The ruleset handles every filesystem right the running kernel's ABI knows, so
anything not granted below is denied:

- runtime paths (the interpreter, the venv, /usr, ...): read files, list directories;
  never execute (execve is also refused by seccomp and by noexec/no-exec-rights);
- the working directory: read, write, create and remove regular files and
  directories, rename within it; no symlinks, sockets, fifos or devices in it;
- /dev/null read-write; the other devices read-only; no device ioctls (ABI 5).

ABI 4+: TCP bind and connect are handled with no rule, so both are refused (seccomp
refuses socket() before that; this holds even if a socket fd were ever inherited).
ABI 6+: scoped: no signals to processes outside the job's Landlock domain (the
keeper, the zygote, the server, other jobs), no connecting to abstract Unix sockets
created outside it.

When the mount namespace is unavailable, the same rules on host paths are the
filesystem isolation (then without a working directory: the job can write nowhere).
"""
import ctypes
import os
import stat

from . import syscalls

LANDLOCK_CREATE_RULESET_VERSION = 1
LANDLOCK_RULE_PATH_BENEATH = 1

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13  # ABI 2
TRUNCATE = 1 << 14  # ABI 3
IOCTL_DEV = 1 << 15  # ABI 5

NET_BIND_TCP = 1 << 0  # ABI 4
NET_CONNECT_TCP = 1 << 1

SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0  # ABI 6
SCOPE_SIGNAL = 1 << 1

_FS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1, 5: (1 << 16) - 1}
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV  # the only rights a file rule may carry


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64),
                ("scoped", ctypes.c_uint64)]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi_version():
    """The kernel's Landlock ABI (0 when Landlock is absent or disabled)."""
    try:
        return syscalls.landlock_create_ruleset(None, 0, LANDLOCK_CREATE_RULESET_VERSION)
    except OSError:
        return 0


def handled_fs(abi):
    return _FS_BY_ABI.get(abi, (1 << 16) - 1)


def restrict(abi, read_paths, write_files=(), write_dirs=()):
    """Create the ruleset and confine this process (NO_NEW_PRIVS must already be set)."""
    enforce(build(abi, read_paths, write_files, write_dirs))


def build(abi, read_paths, write_files=(), write_dirs=()):
    """The ruleset, as an fd. Built while still privileged: the paths are opened (O_PATH) now,
    so a uid change in between does not matter (e.g. an interpreter under a 0700 /root)."""
    handled = handled_fs(abi)
    attr = _RulesetAttr(handled, NET_BIND_TCP | NET_CONNECT_TCP if abi >= 4 else 0,
                        SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL if abi >= 6 else 0)
    size = 8 if abi < 4 else 16 if abi < 6 else 24
    ruleset = syscalls.landlock_create_ruleset(ctypes.byref(attr), size, 0)
    try:
        read = READ_FILE | READ_DIR
        write = read | WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | REFER | TRUNCATE
        for path in read_paths:
            _allow(ruleset, path, read & handled)
        for path in write_files:
            _allow(ruleset, path, (READ_FILE | WRITE_FILE | TRUNCATE) & handled)
        for path in write_dirs:
            _allow(ruleset, path, write & handled)
    except BaseException:
        os.close(ruleset)
        raise
    return ruleset


def enforce(ruleset):
    """Confine this process with the ruleset (and close it). Needs NO_NEW_PRIVS or CAP_SYS_ADMIN."""
    try:
        syscalls.landlock_restrict_self(ruleset)
    finally:
        os.close(ruleset)


def _allow(ruleset, path, access):
    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    try:
        if not stat.S_ISDIR(os.fstat(fd).st_mode):
            access &= FILE_RIGHTS
        rule = _PathBeneathAttr(access, fd)
        syscalls.landlock_add_rule(ruleset, LANDLOCK_RULE_PATH_BENEATH, ctypes.byref(rule))
    finally:
        os.close(fd)
