"""Resource limits and the privilege drop, applied by the payload (B) to itself.

Order matters and is fixed by jail._confine(): rlimits while still privileged (so the
hard limits are ours, and cannot be raised again), then the uid change (root) or the
capability drop (user namespace), then PR_SET_PDEATHSIG again (the kernel clears it
on a uid change), then NO_NEW_PRIVS and "not dumpable".
"""
import os
import resource
import signal

from . import syscalls

UID_BASE = 60000  # slot n runs as uid/gid 60000 + n when the server runs as root
PROBE_SLOT = -1  # the start-up self-test runs as 59999, never as a job's uid
MAX_SLOTS = 4096
NOFILE = 64
FSIZE = 1 << 20
# Threads count against RLIMIT_NPROC (per real uid, and per user namespace since
# Linux 5.14): a job may use a few threads (seccomp refuses new processes anyway).
NPROC = 32


def slot_uid(slot):
    if not isinstance(slot, int) or not PROBE_SLOT <= slot < MAX_SLOTS:
        raise ValueError(f"bad slot {slot!r}")
    return UID_BASE + slot


def set_parent_death_signal():
    syscalls.prctl(syscalls.PR_SET_PDEATHSIG, signal.SIGKILL)


def apply_rlimits(limits, address_space, nproc=NPROC):
    """CPU (SIGKILL at the limit), address space, files, file size, core, memlock, processes."""
    cpu = int(limits["cpu_seconds"])
    memory = int(limits["memory_bytes"])
    if cpu < 1 or memory < 1:
        raise ValueError("limits must be positive")
    # At the hard limit the kernel sends SIGKILL, which nothing can ignore, before it would send
    # the soft limit's SIGXCPU: the two are equal. (A pid-namespace init, our payload, ignores
    # SIGXCPU: a hard limit above the soft one was CPU time the job used but never paid for.)
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_AS, (address_space + memory,) * 2)
    resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FSIZE, FSIZE))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_MEMLOCK, (0, 0))
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
    resource.setrlimit(resource.RLIMIT_MSGQUEUE, (0, 0))


def one_malloc_arena():
    """glibc reserves 64 MiB of address space per thread arena; under RLIMIT_AS that starves thread
    stacks (a job with a few threads could not start more). One arena: the GIL serialises us anyway."""
    M_ARENA_MAX = -8
    if not syscalls.libc.mallopt(M_ARENA_MAX, 1):
        raise OSError("mallopt(M_ARENA_MAX) failed")


def address_space_in_use():
    """This process's virtual size; read before the jail hides /proc."""
    with open("/proc/self/statm", "rb") as statm:
        pages = int(statm.read().split()[0])
    return pages * os.sysconf("SC_PAGE_SIZE")


def drop_bounding_set(last_cap):
    for cap in range(last_cap + 1):
        try:
            syscalls.prctl(syscalls.PR_CAPBSET_DROP, cap)
        except OSError as exc:
            if exc.errno != 22:  # EINVAL: a capability this kernel does not know
                raise


def become(uid, gid, last_cap):
    """Root: drop every supplementary group, then become uid/gid for real, saved and effective."""
    drop_bounding_set(last_cap)
    os.setgroups([])
    os.setresgid(gid, gid, gid)
    os.setresuid(uid, uid, uid)
    if os.getresuid() != (uid, uid, uid) or os.getresgid() != (gid, gid, gid) or os.getgroups():
        raise OSError("the uid change did not take")
    _check_no_capabilities()


def drop_capabilities(last_cap):
    """User namespace: we keep our (mapped) uid, and give up every capability we hold in it."""
    drop_bounding_set(last_cap)
    syscalls.prctl(syscalls.PR_CAP_AMBIENT, syscalls.PR_CAP_AMBIENT_CLEAR_ALL)
    syscalls.capset_empty()
    _check_no_capabilities()


def _check_no_capabilities():
    if any(syscalls.capget()):
        raise OSError("capabilities remain after the drop")


def no_new_privs():
    syscalls.prctl(syscalls.PR_SET_NO_NEW_PRIVS, 1)
    # Not dumpable: no core, and no ptrace attach even by a process of the same uid.
    syscalls.prctl(syscalls.PR_SET_DUMPABLE, 0)
    if syscalls.prctl(syscalls.PR_GET_NO_NEW_PRIVS) != 1:
        raise OSError("NO_NEW_PRIVS did not take")


def last_capability():
    try:
        with open("/proc/sys/kernel/cap_last_cap") as handle:
            return int(handle.read())
    except (OSError, ValueError):
        return 63
