"""The layers one by one, below the server: probe, the seccomp filter alone, fail-closed, PDEATHSIG,
and a seeded run inside the sandbox against bare PyGAD.

Each scenario runs in a fresh `python -I` (like the zygote) so the test process is never confined.
"""
import json
import os

import pytest

from vilvik_sandbox.jail import KEEPER_FAILED

from .conftest import assert_no_jail_processes, run_python

ROOT = os.geteuid() == 0


def test_probe_finds_every_layer():
    report = run_python("print(json.dumps(probed()[1]))")
    assert report["mode"] == "full", report
    assert report["layers"]["self_test"], report
    expected = {"namespaces", "filesystem", "rlimits", "privileges", "no_new_privs", "landlock", "seccomp"} \
        if ROOT else {"rlimits", "seccomp"}
    missing = sorted(name for name in expected if not report["layers"][name])
    assert not missing, f"missing layers {missing}: {report['reasons']}"
    assert report["identity"] == ("root" if ROOT else report["identity"])


def test_probe_reports_a_missing_layer_as_degraded():
    report = run_python("""
        from vilvik_sandbox import seccomp_filter
        def broken(*args, **kwargs):
            raise seccomp_filter.SeccompUnavailable("libseccomp removed for this test")
        seccomp_filter.build = broken
        print(json.dumps(probed()[1]))
    """)
    assert report["mode"] == "degraded"
    assert "seccomp" in report["missing"] and not report["layers"]["seccomp"]
    assert "libseccomp removed" in report["reasons"]["seccomp"]


SECCOMP_CHILD = """
    from vilvik_sandbox import privileges, seccomp_filter
    import ctypes, mmap, threading
    program = seccomp_filter.build()
    libc = ctypes.CDLL(None, use_errno=True)
    def under_filter(action):
        pid = os.fork()
        if pid == 0:
            try:
                privileges.no_new_privs()
                seccomp_filter.load(program)
                action()
            finally:
                os._exit(0)
        _, status = os.waitpid(pid, 0)
        return os.WTERMSIG(status) if os.WIFSIGNALED(status) else -os.WEXITSTATUS(status)
    def int80():
        memory = mmap.mmap(-1, 4096, prot=7)
        memory.write(bytes([0xb8, 20, 0, 0, 0, 0xcd, 0x80, 0xc3]))  # i386 getpid through int 0x80
        ctypes.CFUNCTYPE(ctypes.c_long)(ctypes.addressof(ctypes.c_char.from_buffer(memory)))()
    def thread():
        worker = threading.Thread(target=os.getpid)
        worker.start()
        worker.join()
    def clone3():
        if libc.syscall(435, None, 0) != -1 or ctypes.get_errno() != 38:
            os._exit(5)
    results = {
        "int 0x80": under_filter(int80),
        "x32": under_filter(lambda: libc.syscall(0x40000000 | 39)),
        "fork": under_filter(os.fork),
        "socket": under_filter(lambda: socket.socket(socket.AF_UNIX)),
        "thread": under_filter(thread),
        "clone3": under_filter(clone3),
        "getpid": under_filter(os.getpid),
    }
    print(json.dumps(results))
"""


def test_seccomp_filter_alone():
    """The filter by itself: foreign architectures and new processes die with SIGSYS (31)."""
    results = run_python(SECCOMP_CHILD)
    assert results == {"int 0x80": 31, "x32": 31, "fork": 31, "socket": 31, "thread": 0, "clone3": 0, "getpid": 0}


@pytest.mark.parametrize("broken", ["landlock.build", "landlock.enforce", "seccomp_filter.load",
                                    "privileges.apply_rlimits", "privileges.no_new_privs",
                                    "privileges.become" if ROOT else "privileges.drop_capabilities",
                                    "filesystem.build" if ROOT else "privileges.one_malloc_arena"])
def test_a_failing_layer_stops_the_job_before_its_code(broken):
    module, function = broken.split(".")
    result = run_python(f"""
        from vilvik_sandbox import {module}
        confinement, _ = probed()
        def broken(*args, **kwargs):
            raise OSError("broken for this test")
        setattr({module}, {function!r}, broken)
        ours, theirs = socket.socketpair()
        ran = os.pipe()
        def job_main(fd):
            os.write(ran[1], b"user code ran")
            return 0
        pid = jail.launch(confinement, job_main, slot=3, limits={{"cpu_seconds": 5, "memory_bytes": 256 << 20}},
                          result_fd=theirs.fileno())
        theirs.close()
        os.close(ran[1])
        output = b""
        while chunk := ours.recv(65536):
            output += chunk
        _, status = os.waitpid(pid, 0)
        print(json.dumps({{"output": output.decode(), "ran": os.read(ran[0], 100).decode(),
                           "exit": os.waitstatus_to_exitcode(status)}}))
    """)
    # No hello, no user code: at most the jail's own (trusted) account of why, which the
    # server does not take for a hello (it fails the job with internal_error).
    assert result["ran"] == "" and result["exit"] == KEEPER_FAILED, result
    assert '"hello"' not in result["output"]
    if result["output"]:
        assert json.loads(result["output"]) == {"type": "jail_failed", "error": "OSError: broken for this test"}




def test_payload_dies_with_its_keeper():
    """Kill only the keeper of a sleeping job: the payload (after its uid change) must die too."""
    result = run_python("""
        confinement, _ = probed()
        ours, theirs = socket.socketpair()
        pid = jail.launch(confinement, lambda fd: time.sleep(3600), slot=5,
                          limits={"cpu_seconds": 5, "memory_bytes": 256 << 20}, result_fd=theirs.fileno())
        theirs.close()
        hello = ours.recv(65536)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        ours.settimeout(5)
        eof = ours.recv(65536) == b""  # the payload held the other end: EOF means it is gone
        print(json.dumps({"hello": hello.decode().strip(), "eof": eof}))
    """)
    assert result["eof"] and '"type": "hello"' in result["hello"]
    assert_no_jail_processes()


def test_seeded_run_equals_bare_pygad(attacker):
    params = {"num_generations": 30, "sol_per_pop": 12, "num_genes": 5, "num_parents_mating": 4,
              "random_seed": 1234, "mutation_type": "random", "crossover_type": "two_points",
              "parent_selection_type": "tournament", "init_range_low": -2, "init_range_high": 2}
    fitness = ("import numpy\ndef fitness_func(ga, solution, idx):\n"
               "    return float(-numpy.sum((solution - 0.5) ** 2))\n")
    submission = attacker.run(fitness, **params)
    assert submission["status"] == "succeeded", submission
    assert "seccomp" in submission["sandbox"]
    result = attacker.get(f"/results?submission_id={submission['id']}").json()["data"][0]
    bare = run_python(f"""
        import pygad, numpy
        from vilvik_sandbox.ga_build import build_ga_kwargs
        namespace = {{}}
        exec({fitness!r}, namespace)
        ga = pygad.GA(**build_ga_kwargs({submission['params']!r}), fitness_func=namespace["fitness_func"],
                      suppress_warnings=True)
        ga.run()
        solution, value, index = ga.best_solution(ga.last_generation_fitness)
        print(json.dumps({{"best_solution": solution.tolist(), "best_solution_fitness": float(value),
                           "best_fitness_per_generation": [float(v) for v in ga.best_solutions_fitness],
                           "population": ga.population.tolist()}}))
    """)
    for name in ("best_solution", "best_solution_fitness", "best_fitness_per_generation", "population"):
        assert result[name] == bare[name], name


ORDINARY = '''
import math, random, json, statistics, itertools, functools, collections, datetime, time, re, decimal, fractions
import threading, hashlib, struct, array, heapq, bisect, copy, string, textwrap, operator, dataclasses, enum
import zlib, base64, io, csv, os, sys, tempfile, pickle, sqlite3, logging, warnings, locale, inspect, traceback
import secrets, uuid, gc, mmap, ctypes, shutil, glob, pathlib, zoneinfo, faulthandler, signal, select, selectors
import resource, concurrent.futures
import numpy as np

def fitness_func(ga, solution, idx):
    x = np.asarray(solution, dtype=float)
    value = float(np.dot(x, x)) + float(np.fft.fft(x).real.sum()) + float(np.linalg.inv(np.eye(2) * 2).sum())
    a = np.random.default_rng(0).random((20, 20))
    np.linalg.svd(a); np.linalg.eig(a); np.linalg.qr(a); np.einsum("ij,jk->ik", a, a); np.sort(a)
    random.random(); statistics.mean([1, 2, 3]); json.dumps({"a": 1}); time.time(); time.process_time()
    time.sleep(0.001); datetime.datetime.now(); datetime.datetime.now(zoneinfo.ZoneInfo("Europe/Paris"))
    re.match(r"a+", "aaa"); decimal.Decimal(1) / 3; hashlib.sha256(b"x").hexdigest(); zlib.compress(b"abc")
    pickle.loads(pickle.dumps([1, 2])); secrets.token_hex(8); uuid.uuid4(); gc.collect(); locale.getpreferredencoding()
    inspect.getsource(fitness_func); traceback.format_stack(); logging.getLogger("x").warning("hi")
    warnings.warn("careful"); os.getpid(); os.cpu_count(); os.urandom(8); os.sched_getaffinity(0)
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        value += sum(pool.map(float, range(5)))
    database = sqlite3.connect(":memory:")
    database.execute("create table t(x)")
    database.executemany("insert into t values (?)", [(i,) for i in range(100)])
    value += database.execute("select sum(x) from t").fetchone()[0]
    database.close()
    with tempfile.TemporaryDirectory() as directory:
        path = pathlib.Path(directory) / "f.txt"
        path.write_text("hello"); path.read_text(); os.listdir(directory); shutil.copy(path, path.with_suffix(".2"))
        np.save(os.path.join(directory, "a.npy"), x); np.load(os.path.join(directory, "a.npy"))
        memory = np.memmap(os.path.join(directory, "m.dat"), dtype="float64", mode="w+", shape=(10,))
        memory[:] = 1.0; memory.flush(); del memory
    with tempfile.TemporaryFile() as handle:
        handle.write(b"x"); handle.seek(0); handle.read()
    mapping = mmap.mmap(-1, 1 << 16); mapping[:2] = b"ok"; mapping.close()
    ctypes.CDLL(None).strlen(b"abc"); ctypes.CFUNCTYPE(ctypes.c_int)(lambda: 1)()
    signal.signal(signal.SIGALRM, lambda *args: None); signal.setitimer(signal.ITIMER_REAL, 0.001); time.sleep(0.005)
    reader, writer = os.pipe(); os.write(writer, b"x"); select.select([reader], [], [], 0)
    resource.getrusage(resource.RUSAGE_SELF); resource.getrlimit(resource.RLIMIT_AS); shutil.disk_usage("/tmp")
    faulthandler.enable(file=open("/tmp/faults", "w")); faulthandler.disable()
    print("ordinary", value)
    return value
'''


def test_ordinary_code_is_not_refused(hostile):
    """The allowlist must not be tighter than ordinary numeric and stdlib code (threads included)."""
    submission = hostile.expect(ORDINARY, None)
    assert "ordinary" in hostile.logs(submission)
