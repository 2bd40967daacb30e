"""The job's view of the filesystem: a tmpfs root holding read-only binds of the runtime only.

Inside the job's mount namespace the keeper (A) mounts a small tmpfs, binds into it,
at their own paths and read-only, just what running Python needs:

- the Python prefixes (the venv, the interpreter's install) and /usr, /lib* (or the
  symlinks that stand for them), and the directory of *this package only* -- not the
  folder that holds it, which is the server's source tree and, by default, its
  instance folder with the database;
- the loader cache (/etc/ld.so.cache), so a lazy ``import`` that dlopen()s a system
  library still finds it; nothing else of /etc (no passwd, no resolv.conf, no hosts);
- /dev/null (read-write) and /dev/zero, /dev/random, /dev/urandom (read-only);
- /tmp: the job's working directory, a fresh noexec tmpfs of a few MiB owned by the
  job's uid, gone with the job.

No /proc, /sys, /etc, /home, /root (beyond the path to the interpreter), /var or /run.
Then it pivot_root()s into it, detaches the old root entirely and makes the new root
read-only. The plan (which paths, which mount flags) is computed once in the zygote;
`build()` runs per job.
"""
import os
import stat
import sys
from dataclasses import dataclass

from . import syscalls

WORKDIR = "/tmp"
WORKDIR_SIZE = 16 << 20
LOADER_CACHE = "/etc/ld.so.cache"
DEVICES = (("/dev/null", True), ("/dev/zero", False), ("/dev/random", False), ("/dev/urandom", False))
# Where the new root is assembled, inside the job's private mount namespace (the host
# never sees it): the first of these that is not on the way to a path we bind.
STAGING_CANDIDATES = ("/tmp", "/mnt", "/run", "/var/tmp", "/srv", "/media", "/opt", "/boot", "/home")
MS_STRICTATIME = 1 << 24


class FilesystemUnavailable(Exception):
    """This host's layout cannot be isolated this way (reported by probe as the reason)."""


@dataclass(frozen=True)
class Plan:
    staging: str
    dirs: tuple  # ((path, remount flags), ...) read-only directory binds
    files: tuple  # ((path, remount flags), ...) read-only file binds
    devices: tuple  # ((path, remount flags, writable), ...)
    symlinks: tuple  # ((path, target), ...)
    workdir: str = WORKDIR

    @property
    def read_only_paths(self):
        """What the job may read, by path (the same inside the jail as on the host)."""
        return [path for path, _ in self.dirs] + [path for path, _ in self.files] + \
            [path for path, _, writable in self.devices if not writable]

    @property
    def writable_files(self):
        return [path for path, _, writable in self.devices if writable]


def runtime_directories():
    """The directories a job's Python needs: its prefixes, this package, /usr, /lib*."""
    package_dir = os.path.dirname(os.path.abspath(__file__))
    wanted = [sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix, package_dir, "/usr"]
    symlinks = []
    for name in sorted(os.listdir("/")):
        if name.startswith("lib"):
            path = "/" + name
            if os.path.islink(path):
                symlinks.append((path, os.readlink(path)))
            elif os.path.isdir(path):
                wanted.append(path)
    real = []
    for path in wanted:
        path = os.path.realpath(path)
        if path == "/" or not os.path.isdir(path):
            raise FilesystemUnavailable(f"cannot bind {path!r} into the jail")
        real.append(path)
    kept = []
    for path in sorted(set(real), key=len):
        if not any(_within(path, other) for other in kept):
            kept.append(path)
    return kept, symlinks


def plan():
    """Compute, once, what every job's root holds."""
    dirs, symlinks = runtime_directories()
    files = [LOADER_CACHE] if os.path.isfile(LOADER_CACHE) else []
    devices = [(path, writable) for path, writable in DEVICES
               if os.path.exists(path) and stat.S_ISCHR(os.stat(path).st_mode)]
    if not any(path == "/dev/null" for path, _ in devices):
        raise FilesystemUnavailable("/dev/null is not a character device here")
    bound = dirs + files + [path for path, _ in devices]
    staging = next((candidate for candidate in STAGING_CANDIDATES
                    if os.path.isdir(candidate) and not os.path.islink(candidate)
                    and not any(_within(candidate, path) or _within(path, candidate) for path in bound)), None)
    if staging is None:
        raise FilesystemUnavailable("no directory to assemble the jail's root on")
    read_only = syscalls.MS_RDONLY | syscalls.MS_NOSUID | syscalls.MS_NODEV
    return Plan(
        staging=staging,
        dirs=tuple((path, read_only | _kept_flags(path)) for path in dirs),
        files=tuple((path, read_only | _kept_flags(path)) for path in files),
        devices=tuple((path, syscalls.MS_NOSUID | syscalls.MS_NOEXEC | _kept_flags(path)
                       | (0 if writable else syscalls.MS_RDONLY), writable) for path, writable in devices),
        symlinks=tuple(symlinks),
    )


def build(plan, owner_uid, owner_gid):
    """In a fresh mount namespace: assemble the root, pivot into it, drop the old one."""
    os.umask(0o022)
    staging = plan.staging
    # Nothing we mount may propagate back to the host (systemd makes / shared).
    syscalls.mount(None, "/", None, syscalls.MS_REC | syscalls.MS_PRIVATE)
    syscalls.mount("vilvik", staging, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV,
                   "size=1m,nr_inodes=1024,mode=0755")
    # The working directory first: a runtime path that lives under it (a checkout or venv
    # in /tmp, as CI may have) is then bound on top of it instead of being hidden by it.
    workdir = staging + plan.workdir
    os.makedirs(workdir, exist_ok=True)
    syscalls.mount("vilvik-tmp", workdir, "tmpfs", syscalls.MS_NOSUID | syscalls.MS_NODEV | syscalls.MS_NOEXEC,
                   f"size={WORKDIR_SIZE},nr_inodes=1024,mode=0700,uid={owner_uid},gid={owner_gid}")
    for path, flags in plan.dirs:
        target = staging + path
        os.makedirs(target, exist_ok=True)
        _bind(path, target, flags)
    for path, flags in plan.files:
        _bind(path, _mount_point_file(staging + path), flags)
    for path, flags, _writable in plan.devices:
        _bind(path, _mount_point_file(staging + path), flags)
    for path, target in plan.symlinks:
        os.symlink(target, staging + path)
    # pivot_root(".", ".") stacks the old root on the new one; detaching it leaves
    # nothing of the host reachable, not even through a path we forgot.
    os.chdir(staging)
    syscalls.pivot_root(".", ".")
    syscalls.umount2(".", syscalls.MNT_DETACH)
    os.chdir("/")
    syscalls.mount(None, "/", None, syscalls.MS_REMOUNT | syscalls.MS_BIND | syscalls.MS_RDONLY
                   | syscalls.MS_NOSUID | syscalls.MS_NODEV)


def _bind(source, target, flags):
    try:
        syscalls.mount(source, target, None, syscalls.MS_BIND)
    except OSError as exc:
        # In a user namespace, a tree with mounts the host locked can only be bound whole.
        if exc.errno != 22:
            raise
        syscalls.mount(source, target, None, syscalls.MS_BIND | syscalls.MS_REC)
    syscalls.mount(None, target, None, syscalls.MS_BIND | syscalls.MS_REMOUNT | flags)


def _mount_point_file(path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC, 0o644))
    return path


def _kept_flags(path):
    """Flags a bind remount must repeat: in a user namespace the host's are locked."""
    flags = os.statvfs(path).f_flag
    kept = syscalls.MS_NOEXEC if flags & os.ST_NOEXEC else 0
    if flags & os.ST_NOATIME:
        kept |= syscalls.MS_NOATIME
    elif flags & os.ST_RELATIME:
        kept |= syscalls.MS_RELATIME
    else:
        kept |= MS_STRICTATIME
    if flags & os.ST_NODIRATIME:
        kept |= syscalls.MS_NODIRATIME
    return kept


def _within(path, parent):
    return path == parent or path.startswith(parent.rstrip("/") + "/")
