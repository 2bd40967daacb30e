"""Reading the host's files, writing to it, planting files and links.

Layers at work: the mount namespace + pivot_root (the host's files are not in the
job's view at all), read-only binds, Landlock (no listing outside the runtime, no
writes outside /tmp, no symlinks), seccomp (link/symlink/mknod are killed), rlimits
(file size), a per-job noexec tmpfs as /tmp.
"""
import os
import site
import uuid

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# An attack that finds every door shut raises Contained; one that gets through returns or prints its loot.
CONTAINED = "class Contained(Exception):\n    pass\n\n"


def attempt_all(paths, action):
    """Source that tries `action` on every path; Contained (with the errors) if none worked."""
    return CONTAINED + f"""
import os
errors = []
loot = []
for path in {list(paths)!r}:
    try:
        loot.append((path, {action}))
    except OSError as exc:
        errors.append(type(exc).__name__)
if loot:
    print("LOOT", loot)
else:
    raise Contained(sorted(set(errors)))

def fitness_func(ga, solution, idx):
    return 1.0
"""


def test_read_etc_passwd_and_shadow(hostile):
    source = attempt_all(["/etc/passwd", "/etc/shadow", "/etc/hostname", "/etc/resolv.conf"],
                         "open(path).read()")
    submission = hostile.expect(source, "fitness_error", "Contained: ['FileNotFoundError']")
    assert "root:" not in hostile.logs(submission)


def test_read_the_database_and_instance_config(hostile, attack_server):
    instance = attack_server.instance
    paths = [os.path.join(instance, name) for name in ("vilvik.sqlite3", "vilvik.sqlite3-wal", "secret_key",
                                                        "config.py", "server.log")]
    assert os.path.exists(paths[0]) and os.path.exists(paths[2])  # they are there, on the host
    hostile.expect(attempt_all(paths, "open(path, 'rb').read()"), "fitness_error", "Contained: ['FileNotFoundError']")


def test_secret_key_not_reachable_by_listing_instance(hostile, attack_server):
    with open(os.path.join(attack_server.instance, "secret_key")) as handle:
        secret = handle.read().strip()
    source = attempt_all([attack_server.instance, os.path.dirname(attack_server.instance), "/tmp/.."],
                         "os.listdir(path)")
    submission = hostile.expect(source, "fitness_error", "Contained")
    assert secret not in hostile.logs(submission)


def test_read_proc_of_the_parent_and_the_server(hostile, attack_server):
    server_pid = attack_server.process.pid
    paths = ["/proc/self/environ", "/proc/1/environ", "/proc/1/cmdline", f"/proc/{server_pid}/environ",
             f"/proc/{server_pid}/maps", f"/proc/{os.getpid()}/cmdline", "/proc/self/mountinfo", "/sys/kernel/notes"]
    hostile.expect(attempt_all(paths, "open(path, 'rb').read()"), "fitness_error", "Contained: ['FileNotFoundError']")


def test_list_host_directories(hostile):
    paths = ["/", "/root", "/home", "/etc", "/var", "/usr/../..", "/tmp/../.."]
    hostile.expect(attempt_all(paths, "os.listdir(path)"), "fitness_error", "Contained")


def test_read_the_server_source_and_import_it(hostile):
    source = attempt_all([os.path.join(REPO, "vilvik_server", "config.py"), os.path.join(REPO, "setup.cfg"),
                          os.path.join(REPO, ".git", "config")], "open(path).read()")
    hostile.expect(source, "fitness_error", "Contained: ['FileNotFoundError']")
    hostile.expect("import vilvik_server\n" + source, "fitness_error", "ModuleNotFoundError")


def test_write_a_marker_in_host_tmp(hostile):
    marker = f"/tmp/vilvik-attack-{uuid.uuid4().hex}"
    # Inside the jail /tmp is the job's own tmpfs: the write succeeds there and nowhere else.
    source = f"open({marker!r}, 'w').write('owned')\ndef fitness_func(ga, solution, idx):\n    return 1.0\n"
    hostile.expect(source, None)
    assert not os.path.exists(marker)


def test_write_into_the_repository(hostile):
    targets = [os.path.join(REPO, f"pwned-{uuid.uuid4().hex}"), os.path.join(REPO, "vilvik_sandbox", "evil.py")]
    source = attempt_all(targets, "open(path, 'w').write('x')")
    # EROFS from the read-only bind (EACCES where the checkout lies under /tmp, as root-owned directories).
    submission = hostile.expect(source, "fitness_error", "Contained")
    assert "FileNotFoundError" not in submission["error"]["message"]
    for target in targets:
        assert not os.path.exists(target)


def test_plant_a_pth_file_in_site_packages(hostile):
    name = f"vilvik-evil-{uuid.uuid4().hex}"
    marker = f"/tmp/{name}.ran"
    payload = f"import os; open({marker!r}, 'w')"
    targets = [os.path.join(path, f"{name}.pth") for path in site.getsitepackages() + [site.getusersitepackages()]]
    hostile.expect(attempt_all(targets, f"open(path, 'w').write({payload!r})"), "fitness_error", "Contained")
    for target in targets:
        assert not os.path.exists(target)
    assert not os.path.exists(marker)


def test_plant_a_symlink(hostile):
    link = f"/tmp/vilvik-link-{uuid.uuid4().hex}"
    source = f"import os\nos.symlink('/etc/shadow', {link!r})\ndef fitness_func(ga, solution, idx):\n    return 1.0\n"
    hostile.expect(source, "sandbox_violation")
    assert not os.path.lexists(link)


def test_plant_a_hard_link(hostile):
    source = ("import os\nopen('/tmp/a', 'w').close()\nos.link('/tmp/a', '/tmp/b')\n"
              "def fitness_func(ga, solution, idx):\n    return 1.0\n")
    hostile.expect(source, "sandbox_violation")


def test_make_a_fifo_or_device(hostile):
    source = "import os\nos.mkfifo('/tmp/fifo')\ndef fitness_func(ga, solution, idx):\n    return 1.0\n"
    hostile.expect(source, "sandbox_violation")


def test_files_do_not_survive_into_the_next_job(hostile):
    name = f"/tmp/persist-{uuid.uuid4().hex}"
    hostile.expect(f"open({name!r}, 'w').write('left for later')\n"
                   "def fitness_func(ga, solution, idx):\n    return 1.0\n", None)
    hostile.expect(attempt_all([name], "open(path).read()"), "fitness_error", "Contained: ['FileNotFoundError']")


def test_fill_the_disk(hostile):
    source = CONTAINED + """
import os
try:
    with open('/tmp/big', 'wb') as handle:
        handle.write(b'x' * (64 << 20))
except OSError as exc:
    first = exc.errno
written = 0
try:
    for index in range(200):
        with open(f'/tmp/part{index}', 'wb') as handle:
            handle.write(b'x' * ((1 << 20) - 1))
        written += 1
except OSError as exc:
    raise Contained(first, exc.errno, written)
def fitness_func(ga, solution, idx):
    return 1.0
"""
    # EFBIG from RLIMIT_FSIZE, then ENOSPC when the job's small tmpfs is full.
    submission = hostile.expect(source, "fitness_error", "Contained: (27, 28,")
    assert int(submission["error"]["message"].rstrip(")").split(",")[-1]) < 32


def test_execute_a_file_written_to_tmp(hostile):
    source = """
import mmap
with open('/tmp/code', 'wb') as handle:
    handle.write(b'\\xc3' * 4096)
with open('/tmp/code', 'rb') as handle:
    mapped = mmap.mmap(handle.fileno(), 4096, prot=mmap.PROT_READ | mmap.PROT_EXEC)
def fitness_func(ga, solution, idx):
    return 1.0
"""
    hostile.expect(source, "fitness_error", "PermissionError")  # /tmp is noexec


def test_open_devices(hostile):
    paths = ["/dev/sda", "/dev/vda", "/dev/mem", "/dev/kmsg", "/dev/tty", "/dev/ptmx", "/dev/shm", "/dev/fuse"]
    hostile.expect(attempt_all(paths, "open(path, 'rb')"), "fitness_error", "Contained: ['FileNotFoundError']")


@pytest.mark.parametrize("path", ["/dev/null", "/dev/urandom"])
def test_harmless_devices_work(hostile, path):
    source = f"data = open({path!r}, 'rb').read(16)\ndef fitness_func(ga, solution, idx):\n    return 1.0\n"
    hostile.expect(source, None)
