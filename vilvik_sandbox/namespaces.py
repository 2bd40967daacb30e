"""New namespaces for one job, entered by its keeper (A) before it forks the payload (B).

mount: the job gets its own filesystem view (see filesystem.py); net: no interface but
a loopback that is down, so no network at all; pid: the payload is pid 1 of an empty
pid namespace and sees (and can signal) no other process; ipc: no System V IPC or
POSIX queues shared with the host; uts: its own host name. As root that is all; as
any other user, a user namespace comes first, which is what lets an unprivileged
process create the others (and then maps only our own uid and gid into it).
"""
import os

from . import syscalls

HOSTNAME = "vilvik"
BASE_FLAGS = (syscalls.CLONE_NEWNS | syscalls.CLONE_NEWNET | syscalls.CLONE_NEWPID | syscalls.CLONE_NEWIPC
              | syscalls.CLONE_NEWUTS)


def enter(user_namespace):
    """unshare() into new namespaces; the calling process's next child is pid 1 of the new pid namespace."""
    uid, gid = os.geteuid(), os.getegid()
    syscalls.unshare(BASE_FLAGS | (syscalls.CLONE_NEWUSER if user_namespace else 0))
    if user_namespace:
        # Only our own ids exist inside; "deny" first, as the kernel requires of an
        # unprivileged writer of gid_map (and so setgroups() can never drop a group
        # that was denying us something).
        _write("/proc/self/setgroups", "deny")
        _write("/proc/self/uid_map", f"{uid} {uid} 1")
        _write("/proc/self/gid_map", f"{gid} {gid} 1")
    # The host's name is nobody's business (socket.gethostname() in the job says this).
    syscalls.sethostname(HOSTNAME)


def _write(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)
