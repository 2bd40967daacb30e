"""The payload's seccomp filter: an allowlist, built once with libseccomp, loaded per job.

`build()` runs in the zygote (pyseccomp over the system's libseccomp2) and returns the
compiled classic-BPF program as bytes; `load()` installs those bytes with one
seccomp(2) call in the payload, right before the user's code runs (< 1 ms, where
compiling per job would cost ~7 ms).

Policy (derived from strace of PyGAD runs, batched and multi-objective runs, threads,
lazy imports and a battery of ordinary stdlib/numpy use; see tests/attacks):

- Anything not listed: the process is killed with SIGSYS (SECCOMP_RET_KILL_PROCESS).
  The server reports that as `sandbox_violation`. Killing rather than failing with
  EPERM makes an attempt visible and leaves the attacker no second try; nothing in
  the interpreter, numpy or PyGAD needs an unlisted call once the job is running
  (the payload is a fork of a warm process: no start-up, no exec).
- Architecture: only native x86_64 (or aarch64) calls. An i386 `int 0x80` or an x32
  call (nr | 0x40000000) is killed the same way (libseccomp's bad-arch action, and
  its x32 check).
- clone: only with CLONE_THREAD and no namespace flag (threads yes; fork, vfork,
  posix_spawn, subprocess, os.system no). clone3 returns ENOSYS (its flags live in
  memory seccomp cannot read), so glibc falls back to clone, which we can check.
- No socket() of any family (AF_UNIX included: a same-uid socket could be reached),
  nor any other socket call but shutdown() of fd 3: the job's one channel is an fd it
  inherits, used with read/write/select, and shut for writing when the job is done.
- Not listed, so killed, among others: ptrace, process_vm_readv/writev, pidfd_*,
  kcmp, mount/umount2/pivot_root/chroot/unshare/setns and the new mount API, bpf,
  io_uring_*, keyctl/add_key/request_key, kexec_*, perf_event_open, userfaultfd,
  setsid/setpgid, set*uid/set*gid/setgroups, capset, execve/execveat, memfd_create,
  symlink/link, mknod, chown, mlock*, personality, modify_ldt, iopl/ioperm, syslog,
  SysV IPC and message queues, seccomp itself, landlock_*.
- ioctl: only the terminal/fd queries Python's I/O makes (TCGETS for isatty and the
  like); prctl: only the harmless get/name options; prlimit64: only on itself (the
  kernel still refuses to raise a hard limit).
"""
import errno
import os

from . import syscalls

# Always allowed (argument-free rules). Grouped by what needs them.
ALLOWED = (
    # memory
    "brk", "mmap", "munmap", "mprotect", "mremap", "madvise", "msync",
    # descriptors and files (what the filesystem layers let through)
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
    "lseek", "close", "close_range", "dup", "dup2", "dup3", "fcntl", "open", "openat", "creat",
    "stat", "fstat", "lstat", "newfstatat", "statx", "access", "faccessat", "faccessat2",
    "readlink", "readlinkat", "getdents", "getdents64", "getcwd", "chdir", "fchdir",
    "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename", "renameat", "renameat2",
    "ftruncate", "truncate", "fallocate", "fsync", "fdatasync", "fchmod", "fchmodat", "chmod", "umask",
    "utimensat", "statfs", "fstatfs", "flock", "fadvise64", "sendfile", "copy_file_range",
    "getxattr", "lgetxattr", "fgetxattr", "listxattr", "llistxattr", "flistxattr",
    "pipe", "pipe2", "select", "pselect6", "poll", "ppoll",
    "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd2",
    # threads and their synchronisation (clone is conditional, below)
    "futex", "set_robust_list", "rseq", "set_tid_address", "sched_yield", "sched_getaffinity",
    "sched_getparam", "sched_getscheduler", "sched_get_priority_max", "sched_get_priority_min",
    "gettid", "exit", "exit_group",
    # signals (a pid-namespace init cannot reach anything outside it; Landlock scopes signals too)
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigpending", "rt_sigtimedwait",
    "sigaltstack", "kill", "tgkill", "tkill", "alarm", "setitimer", "getitimer", "pause", "restart_syscall",
    # time
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
    # who and where am I (read-only)
    "getpid", "getppid", "getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid", "getresgid",
    "getpgrp", "getpgid", "getsid", "getpriority", "uname", "sysinfo", "getrusage", "times", "getcpu",
    "getrandom", "getrlimit", "capget",
)

# clone3 passes its flags in memory: refuse it softly so glibc falls back to clone.
ENOSYS = ("clone3",)

IOCTLS = (
    0x5401,  # TCGETS: isatty(), done by open() and print
    0x5413,  # TIOCGWINSZ: shutil.get_terminal_size
    0x541B,  # FIONREAD
    0x5421,  # FIONBIO
    0x5450,  # FIONCLEX
    0x5451,  # FIOCLEX
)
PRCTLS = (
    syscalls.PR_GET_DUMPABLE, syscalls.PR_SET_NAME, syscalls.PR_GET_NAME, syscalls.PR_GET_SECCOMP,
    syscalls.PR_CAPBSET_READ, syscalls.PR_GET_NO_NEW_PRIVS,
)
CHANNEL_FD = 3  # the job's channel to the server (jail.RESULT_FD)
NAMESPACE_FLAGS = (syscalls.CLONE_NEWNS | syscalls.CLONE_NEWCGROUP | syscalls.CLONE_NEWUTS | syscalls.CLONE_NEWIPC
                   | syscalls.CLONE_NEWUSER | syscalls.CLONE_NEWPID | syscalls.CLONE_NEWNET)


class SeccompUnavailable(Exception):
    pass


def build(pfc=False):
    """Compile the filter; returns the BPF program as bytes (or its pseudo-code, with pfc)."""
    try:
        import pyseccomp as seccomp
    except (ImportError, RuntimeError, OSError) as exc:  # RuntimeError: libseccomp not found
        raise SeccompUnavailable(f"pyseccomp/libseccomp unavailable: {exc}") from None
    if "seccomp" not in syscalls.NR:
        raise SeccompUnavailable(f"unsupported architecture {syscalls.MACHINE}")
    flt = seccomp.SyscallFilter(seccomp.KILL_PROCESS)
    # Foreign architectures (i386 via int 0x80; x32 is checked by libseccomp's x86_64 code).
    flt.set_attr(seccomp.Attr.ACT_BADARCH, seccomp.KILL_PROCESS)
    # We set NO_NEW_PRIVS ourselves, earlier; never let the library do it implicitly.
    flt.set_attr(seccomp.Attr.CTL_NNP, 0)
    for name in ALLOWED:
        _add(seccomp, flt, seccomp.ALLOW, name)
    for name in ENOSYS:
        _add(seccomp, flt, seccomp.ERRNO(errno.ENOSYS), name)
    # Threads only: CLONE_THREAD set and no namespace flag, in one masked comparison.
    _add(seccomp, flt, seccomp.ALLOW, "clone",
         seccomp.Arg(0, seccomp.MASKED_EQ, syscalls.CLONE_THREAD | NAMESPACE_FLAGS, syscalls.CLONE_THREAD))
    for request in IOCTLS:
        _add(seccomp, flt, seccomp.ALLOW, "ioctl", seccomp.Arg(1, seccomp.EQ, request))
    for option in PRCTLS:
        _add(seccomp, flt, seccomp.ALLOW, "prctl", seccomp.Arg(0, seccomp.EQ, option))
    # getrlimit/setrlimit of this process only (pid 0); raising a hard limit still fails.
    _add(seccomp, flt, seccomp.ALLOW, "prlimit64", seccomp.Arg(0, seccomp.EQ, 0))
    # The end of the job's output (jail._end_output): its channel, fd 3, and nothing else.
    _add(seccomp, flt, seccomp.ALLOW, "shutdown", seccomp.Arg(0, seccomp.EQ, CHANNEL_FD))
    return _export(flt, pfc)


def _add(seccomp, flt, action, name, *args):
    number = seccomp.resolve_syscall(seccomp.Arch.NATIVE, name)
    if number < 0:
        return  # no such call on this architecture (e.g. "open" on aarch64)
    flt.add_rule(action, number, *args)


def _export(flt, pfc=False):
    fd = os.memfd_create("vilvik-seccomp", os.MFD_CLOEXEC)
    with os.fdopen(fd, "w+b") as buffer:
        (flt.export_pfc if pfc else flt.export_bpf)(buffer)
        buffer.seek(0)
        program = buffer.read()
    if not pfc and (not program or len(program) % 8):
        raise SeccompUnavailable("libseccomp exported no program")
    return program


def describe():
    """The filter in libseccomp's pseudo-code (for docs and debugging)."""
    return build(pfc=True).decode()


def load(program):
    """Install the filter in this process (NO_NEW_PRIVS must be set, or CAP_SYS_ADMIN held)."""
    syscalls.seccomp_set_mode_filter(program)
