"""Looking for the server's secrets in the job's own memory and environment.

Jobs are forked from the zygote, a clean interpreter that never imported the server
and was started with a scrubbed environment; the payload scrubs its environment
again. So neither `sys.modules`, `gc.get_objects()`, `os.environ` nor a raw scan of
the heap holds the server's secret key, API keys, database path or another job's code.
"""
import os
import time
import uuid

CONTAINED = "class Contained(Exception):\n    pass\n\n"


def heap_scan(needles):
    """A job's source that scans every page it can read around its heap for `needles` (other than its
    own copies) and prints FOUND, or raises Contained('scanned', pages). The needles are written
    reversed into the source, so its compiled constants are no hit. Probing with write() to a pipe:
    EFAULT instead of a crash on an unmapped page."""
    return CONTAINED + f"""
import ctypes, gc, os
libc = ctypes.CDLL(None)
libc.sbrk.restype = ctypes.c_void_p
read, write = os.pipe()
os.set_blocking(write, False)
def mapped(address):
    if libc.write(write, ctypes.c_void_p(address), 1) == 1:
        os.read(read, 1)
        return True
    return False
needles = [reversed_needle[::-1].encode() for reversed_needle in {[n[::-1] for n in needles]!r}]
own = {{id(needle) + 32 for needle in needles}}
top = libc.sbrk(0) >> 20
regions = {{id(thing) >> 20 for thing in gc.get_objects()}} | set(range(top - 64, top + 1))
hits = pages = 0
for region in sorted(regions):
    for page in range(region << 20, (region + 1) << 20, 4096):
        if mapped(page):
            pages += 1
            data = ctypes.string_at(page, 4096)
            for needle in needles:
                at = data.find(needle)
                while at >= 0:
                    hits += page + at not in own
                    at = data.find(needle, at + 1)
if hits:
    print('FOUND', hits)
else:
    raise Contained('scanned', pages)
def fitness_func(ga, solution, idx):
    return 1.0
"""


def test_server_modules_are_not_loaded(hostile):
    source = CONTAINED + """
import sys
found = sorted(name for name in sys.modules
               if name.split('.')[0] in ('vilvik_server', 'vilvik', 'flask', 'waitress', 'sqlite3', 'werkzeug',
                                        'requests', 'marshmallow'))
if found:
    print('LOADED', found)
else:
    raise Contained('no server module')
def fitness_func(ga, solution, idx):
    return 1.0
"""
    hostile.expect(source, "fitness_error", "Contained: no server module")


def test_environment_is_scrubbed(hostile):
    source = CONTAINED + """
import os
allowed = {'PATH', 'HOME', 'TMPDIR', 'LANG', 'LC_ALL', 'TZ', 'PYTHONHASHSEED', 'PYTHONDONTWRITEBYTECODE',
           'OPENBLAS_NUM_THREADS', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'OPENBLAS_CORETYPE', 'OPENBLAS_L2_SIZE'}
extra = sorted(set(os.environ) - allowed)
if extra:
    print('ENV', {name: os.environ[name] for name in extra})
else:
    raise Contained('clean environment')
def fitness_func(ga, solution, idx):
    return 1.0
"""
    hostile.expect(source, "fitness_error", "Contained: clean environment")


def test_secrets_through_gc(hostile, attack_server, attacker):
    with open(os.path.join(attack_server.instance, "secret_key")) as handle:
        secret_key = handle.read().strip()
    source = CONTAINED + """
import gc, linecache
own = ''.join(linecache.getlines('<fitness_func>'))
words = ('SECRET', 'sqlite3', 'instance', 'Bearer', 'api_key', 'secret_key', 'password', 'vk_')
suspicious = set()
for thing in gc.get_objects():
    # Exact types only: iterating a uname_result (a tuple subclass) would run `uname -p` (killed).
    items = dict.values(thing) if type(thing) is dict else thing if type(thing) in (list, tuple) else ()
    for text in items:
        if isinstance(text, str) and text not in own and any(word in text for word in words):
            suspicious.add(text[:120])
if suspicious:
    print('SUSPICIOUS', sorted(suspicious)[:50])
    raise Contained('suspicious strings printed')
raise Contained('nothing suspicious')
def fitness_func(ga, solution, idx):
    return 1.0
"""
    submission = hostile.expect(source, "fitness_error", "Contained")
    logs = hostile.logs(submission) + submission["error"]["message"]
    for secret in (secret_key, attacker.key, attack_server.instance):
        assert secret not in logs


def test_another_jobs_code_is_not_in_memory(hostile):
    """A job scans the heap it inherited from the zygote for a previous job's source."""
    marker = f"TOPSECRET-{uuid.uuid4().hex}"
    victim = f"# {marker} {'x' * 4000}\ndef fitness_func(ga, solution, idx):\n    return 1.0\n"
    hostile.expect(victim, None)
    source = heap_scan([marker])
    hostile.expect(source, "fitness_error", "Contained: ('scanned'", limits={"cpu_seconds": 10})


def test_other_jobs_ids_are_not_in_memory(hostile):
    """The zygote forks every job: it must not hold the submission ids of the jobs it ran (nor of
    those still running), neither live (its table of keepers) nor in memory it freed.

    The zygote kept each running job's submission id beside its keeper's pid: a job found another
    account's running job by walking its own stack back to the zygote's frames.
    """
    sleeper = hostile.user.submit("import time\ndef fitness_func(ga, solution, idx):\n    time.sleep(4)\n"
                                  "    return 1.0\n", num_generations=1, sol_per_pop=2, num_genes=1,
                                  num_parents_mating=1, limits={"cpu_seconds": 5, "wall_seconds": 20})["id"]
    hostile.user.wait_status(sleeper, "running")
    # A job on the other slot ends; its slot's next keeper is forked while the sleeper runs.
    ids = [sleeper, hostile.expect("def fitness_func(ga, solution, idx):\n    return 1.0\n", None)["id"]]
    time.sleep(0.3)
    source = heap_scan(ids)
    try:
        hostile.expect(source, "fitness_error", "Contained: ('scanned'", limits={"cpu_seconds": 10})
    finally:
        hostile.user.wait(sleeper)
