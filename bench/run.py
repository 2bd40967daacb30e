"""Benchmarks that print ratios measured side by side in one run (alternating rounds, medians).

    scripts/bench [--quick] [--only http|jobs|small|sandbox|lists|scale]

HTTP load comes from wrk (Debian's `wrk` package; installed with apt-get when missing and
we may) at 16 connections and at 1; without wrk the Python clients are used and the
output says so. Only 127.0.0.1 is ever contacted; every load loop is bounded in time.
"""
import argparse
import json
import multiprocessing
import operator
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

import scale
import wrk

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BODY = {"num_generations": 10, "sol_per_pop": 4, "num_genes": 3, "num_parents_mating": 2,
        "init_range_low": -1, "init_range_high": 1,
        "fitness_func": "def fitness_func(ga, sol, idx): return sum(sol)\n", "fitness_func_entry": "fitness_func"}
JOB = {"num_generations": 100, "sol_per_pop": 50, "num_genes": 10, "num_parents_mating": 10, "random_seed": 1,
       "fitness_func": "import numpy\ndef fitness_func(ga, sol, idx):\n    return float(-numpy.sum(sol ** 2))\n"}


class Process:
    def __init__(self, argv, env):
        self.proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        match = re.search(r"serving on (http://\S+)", line)
        if not match:
            raise RuntimeError(f"did not start: {line!r}")
        self.url = match.group(1) + "/api/v1"

    def rss_mb(self):
        with open(f"/proc/{self.proc.pid}/status") as status:
            return int(re.search(r"VmRSS:\s+(\d+)", status.read()).group(1)) / 1024

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)
        self.proc.stdout.close()


def vilvik_server(instance, **settings):
    # The default log level (INFO): the request log line is part of what a request costs.
    env = dict(os.environ, VILVIK_INSTANCE_PATH=instance, VILVIK_LOG_LEVEL="INFO",
               VILVIK_RATE_LIMIT="1000000000/hour", VILVIK_ACCOUNT_RATE_LIMIT="1000000000/hour",
               VILVIK_MAX_QUEUED="100000000", VILVIK_MAX_CPU_SECONDS="30")
    env.update({f"VILVIK_{k}": str(v) for k, v in settings.items()})
    server = Process([sys.executable, "-m", "vilvik_server", "serve", "--port", "0", "--threads", "8"], env)
    server.env = env
    server.key = new_account(server)
    return server


def new_account(server):
    """A new account's key on `server`."""
    return json.loads(subprocess.run([sys.executable, "-m", "vilvik_server", "create-account",
                                      f"bench{time.monotonic_ns()}@example.com", "--credits", "100000000"],
                                     env=server.env, check=True, capture_output=True, text=True).stdout)["api_key"]


def throughput(url, method, body, key, seconds, clients=4):
    """Requests per second over `seconds` with `clients` keep-alive sessions."""
    done = [0] * clients
    errors = [0] * clients
    stop_at = time.monotonic() + seconds

    def client(index):
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {key}"
        while time.monotonic() < stop_at:
            response = session.post(url, json=body, timeout=30) if method == "POST" else session.get(url, timeout=30)
            if response.status_code < 300:
                done[index] += 1
            else:
                errors[index] += 1
        session.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if sum(errors):
        raise RuntimeError(f"{sum(errors)} failed requests against {url}")
    return sum(done) / (time.monotonic() - started)


def side_by_side(rounds, *contenders):
    """Run each contender in turn, `rounds` times; returns each one's results, round by round."""
    results = [[] for _ in contenders]
    for _ in range(rounds):
        for measure, result in zip(contenders, results):
            result.append(measure())
    return results


def alternate(rounds, *contenders):
    """Run each contender in turn, `rounds` times; returns the median of each, in their order."""
    return tuple(statistics.median(result) for result in side_by_side(rounds, *contenders))


def paired(ours, base, compare=operator.truediv):
    """The median over the rounds of compare(ours, base) within each round. A small shared machine's
    speed drifts between rounds (the same warm GA took 30 ms, then 65 ms, a minute apart), much
    less within one: a ratio of two medians taken over different moments can be off by that drift."""
    return statistics.median(compare(a, b) for a, b in zip(ours, base))


def load(args, server, path, method, body, connections):
    """(requests/s, p99 seconds or None) of one load round against `server`."""
    key = getattr(server, "key", "x")
    if args.wrk:
        result = wrk.run(args.wrk, server.url + path, method=method, body=body, connections=connections,
                         seconds=args.seconds, headers=[f"Authorization: Bearer {key}"])
        if result["errors"]:
            raise RuntimeError(f"{result['errors']} failed requests against {server.url + path}")
        return result["rps"], result["p99"]
    return throughput(server.url + path, method, body, key, args.seconds, clients=connections), None


def compare(args, ours, base, path_ours, path_base, method, body, connections):
    """Alternate rounds against ours and base; medians of req/s and of p99."""
    rounds = {"ours": [], "base": []}
    for _ in range(args.rounds):
        if method == "POST":
            # Each round from a new account: with WORKERS=0 nothing leaves the queue, and one
            # account's queue growing by thousands a round is not what an account sees
            # (MAX_QUEUED, default 100); the accept check counts it.
            ours.key = new_account(ours)
        rounds["ours"].append(load(args, ours, path_ours, method, body, connections))
        rounds["base"].append(load(args, base, path_base, method, body, connections))
    rps = {k: statistics.median(r[0] for r in v) for k, v in rounds.items()}
    p99 = {k: statistics.median(r[1] for r in v) if v[0][1] is not None else None for k, v in rounds.items()}
    return rps, p99


def http_paths(args, tmp):
    ours = vilvik_server(os.path.join(tmp, "ours"), WORKERS=0)
    base = Process([sys.executable, os.path.join(ROOT, "bench", "baseline_app.py"), os.path.join(tmp, "base.db"),
                    "8"], dict(os.environ))
    rows = []
    try:
        time.sleep(1)
        idle = ours.rss_mb()
        reader_key = ours.key
        ours_id = requests.post(ours.url + "/submissions", json=BODY, timeout=10,
                                headers={"Authorization": f"Bearer {reader_key}"}).json()["id"]
        base_id = requests.post(base.url + "/submissions", json=BODY, timeout=10).json()["id"]
        for connections in (16, 1):
            rps, p99 = compare(args, ours, base, "/submissions", "/submissions", "POST", BODY, connections)
            ratio = rps["ours"] / rps["base"]
            rows.append((f"accept: POST /submissions, ours / bare Flask+SQLite, {connections} conn", ratio,
                         ">= 0.5", ratio >= 0.5, f"{rps['ours']:.0f} vs {rps['base']:.0f} req/s"))
            if connections == 16 and p99["ours"] is not None:
                tail = p99["ours"] / p99["base"]
                rows.append(("accept: p99 latency of POST at 16 conn, ours / bare", tail, "<= 5", tail <= 5,
                             f"{p99['ours'] * 1000:.1f} vs {p99['base'] * 1000:.1f} ms"))
        loaded = ours.rss_mb()
        ours.key = reader_key
        for connections in (16, 1):
            rps, _ = compare(args, ours, base, f"/submissions/{ours_id}", f"/submissions/{base_id}", "GET", None,
                             connections)
            ratio = rps["ours"] / rps["base"]
            rows.append((f"status: GET /submissions/{{id}}, ours / bare, {connections} conn", ratio, ">= 0.7",
                         ratio >= 0.7, f"{rps['ours']:.0f} vs {rps['base']:.0f} req/s"))
    finally:
        ours.stop()
        base.stop()
    rows.append(("server memory: idle RSS (MiB)", idle, "<= 150", idle <= 150, f"{loaded:.0f} MiB after the load"))
    return rows


# The start of a baseline's script: a fresh process that imports numpy and PyGAD and can build a GA
# from a job's parameters (its fitness source among them).
BUILD_GA = """
import json, os, sys, time, numpy, pygad
def build(p):
    p = dict(p); src = p.pop('fitness_func'); ns = {}; exec(src, ns)
    return pygad.GA(**p, fitness_func=ns['fitness_func'], suppress_warnings=True)
"""
PLAIN_GA = BUILD_GA + """
p = json.loads(sys.argv[1])
if sys.argv[2] == 'warm':
    build(dict(p, random_seed=2)).run()
t = time.perf_counter(); build(p).run(); print(time.perf_counter() - t)
"""


def plain_pygad_seconds(params, warm=False):
    """pygad.GA(...) + run() of the same GA in a fresh process, after its imports; with `warm`, after
    the process has run the same GA once with another seed."""
    out = subprocess.run([sys.executable, "-c", PLAIN_GA, json.dumps(params), "warm" if warm else "cold"],
                         check=True, capture_output=True, text=True).stdout
    return float(out)


def job_paths(args, tmp):
    server = vilvik_server(os.path.join(tmp, "jobs"), WORKERS=1)
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {server.key}"})

    def submit_to_terminal(params):
        started = time.perf_counter()
        response = session.post(server.url + "/submissions", json=params, timeout=90, headers={"Prefer": "wait=60"})
        assert response.status_code == 200 and response.json()["status"] == "succeeded", response.text
        return time.perf_counter() - started

    def submit_and_poll(params, every=0.010):
        started = time.perf_counter()
        response = session.post(server.url + "/submissions", json=params, timeout=90)
        assert response.status_code == 202, response.text
        status_url = response.json()["status_url"].replace(response.json()["status_url"].split("/api/v1")[0],
                                                           server.url.split("/api/v1")[0])
        while True:
            status = session.get(status_url, timeout=30).json()["status"]
            if status in ("succeeded", "failed", "cancelled"):
                assert status == "succeeded", status
                return time.perf_counter() - started
            time.sleep(every)

    try:
        submit_to_terminal(JOB)  # warm
        waited = side_by_side(args.rounds * 3, lambda: submit_to_terminal(JOB), lambda: plain_pygad_seconds(JOB))
        polled = side_by_side(args.rounds * 3, lambda: submit_and_poll(JOB), lambda: plain_pygad_seconds(JOB))
        one = dict(JOB, num_generations=1)
        one_generation = side_by_side(args.rounds * 6, lambda: submit_to_terminal(one),
                                      lambda: plain_pygad_seconds(one, warm=True))
        sandbox = requests.get(server.url + "/health", timeout=10).json()["sandbox"]["mode"]
    finally:
        session.close()
        server.stop()
    waited_ratio, polled_ratio = paired(*waited), paired(*polled)
    overhead_ms = paired(*one_generation, compare=operator.sub) * 1000

    def medians(runs, digits=0):
        return " vs ".join(f"{statistics.median(r) * 1000:.{digits}f}" for r in runs) + " ms, medians"

    return [(f"job: 100x50x10 submit-to-terminal (Prefer: wait) / plain pygad, fresh process (sandbox {sandbox})",
             waited_ratio, "<= 1.05", waited_ratio <= 1.05, medians(waited)),
            ("job: the same, the client polling the status every 10 ms / plain pygad", polled_ratio,
             "<= 1.10", polled_ratio <= 1.10, medians(polled)),
            ("job: fixed overhead of a 1-generation job over warm plain pygad (ms)", overhead_ms, "<= 15",
             overhead_ms <= 15, medians(one_generation, 1))]


SMALL_JOB = dict(JOB, num_generations=50, sol_per_pop=20)
SMALL_JOBS = 40


def _pool_ga(params):
    import pygad

    params = dict(params)
    namespace = {}
    exec(params.pop("fitness_func"), namespace)
    ga = pygad.GA(**params, fitness_func=namespace["fitness_func"], suppress_warnings=True)
    ga.run()
    return float(ga.best_solution(ga.last_generation_fitness)[1])


# The floor of any design that runs each job in a fresh process: a warm parent holding only numpy
# and PyGAD forks a child per GA, two at a time (no sandbox, no server, no HTTP).
FORK_PER_JOB = BUILD_GA + """
jobs = json.loads(sys.argv[1])
build(jobs[0]).run(); build(jobs[1]).run()
def start(p):
    pid = os.fork()
    if pid == 0:
        build(p).run(); os._exit(0)
started = time.perf_counter(); pending = list(jobs); running = 0
while pending or running:
    while pending and running < 2:
        start(pending.pop()); running += 1
    _, status = os.wait(); running -= 1
    if status:
        sys.exit("a forked GA failed")
print(len(jobs) / (time.perf_counter() - started))
"""


def small_jobs(args, tmp):
    """Throughput of many small seeded jobs: ours with WORKERS=2 / a warm multiprocessing.Pool(2)."""
    # Four clients wait (Prefer: wait) at once, each holding a serving thread.
    server = vilvik_server(os.path.join(tmp, "small"), WORKERS=2, MAX_WAITS_PER_ACCOUNT=4)
    jobs = [dict(SMALL_JOB, random_seed=seed) for seed in range(1, SMALL_JOBS + 1)]

    def ours():
        pending = list(jobs)
        lock = threading.Lock()
        failures = []

        def client():
            with requests.Session() as session:
                session.headers.update({"Authorization": f"Bearer {server.key}", "Prefer": "wait=60"})
                while True:
                    with lock:
                        if not pending:
                            return
                        params = pending.pop()
                    response = session.post(server.url + "/submissions", json=params, timeout=90)
                    if response.status_code != 200 or response.json()["status"] != "succeeded":
                        failures.append(response.text)
                        return

        started = time.perf_counter()
        threads = [threading.Thread(target=client) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if failures:
            raise RuntimeError(f"a small job did not succeed in time: {failures[0]}")
        return len(jobs) / (time.perf_counter() - started)

    pool = multiprocessing.get_context("fork").Pool(2)

    def bare():
        started = time.perf_counter()
        pool.map(_pool_ga, jobs, chunksize=1)
        return len(jobs) / (time.perf_counter() - started)

    def fork_per_job():
        return float(subprocess.run([sys.executable, "-c", FORK_PER_JOB, json.dumps(jobs)],
                                    check=True, capture_output=True, text=True).stdout)

    try:
        pool.map(_pool_ga, jobs[:4], chunksize=1)  # warm both
        ours(), bare()
        rates_ours, rates_bare, rates_forked = side_by_side(args.rounds, ours, bare, fork_per_job)
    finally:
        pool.terminate()
        server.stop()
    ratio = paired(rates_ours, rates_bare)
    rate_ours, rate_bare, rate_forked = (statistics.median(r) for r in (rates_ours, rates_bare, rates_forked))
    return [(f"small jobs: {SMALL_JOBS} x (50x20x10) with WORKERS=2 / multiprocessing.Pool(2), jobs/s", ratio,
             ">= 0.8", ratio >= 0.8, f"{rate_ours:.1f} vs {rate_bare:.1f} jobs/s, medians"),
            ("small jobs: the floor of a fresh process per job (a plain fork of a warm parent, "
             "no sandbox or server) / Pool(2)", paired(rates_forked, rates_bare), "", None,
             f"{rate_forked:.1f} vs {rate_bare:.1f} jobs/s, medians")]


def sandbox_cost(args):
    """The jail (spawned by the zygote) against a plain fork-and-run from a warm parent."""
    from vilvik_server.engine import job
    from vilvik_server.engine.zygote import Zygote

    spec = {"params": {k: v for k, v in dict(JOB, num_generations=1).items() if k != "fitness_func"},
            "fitness_func": JOB["fitness_func"], "entry": "fitness_func"}
    from vilvik_server.domain.ga_params import GAParamsSchema, effective_params
    spec["params"] = effective_params(GAParamsSchema().load(spec["params"]))
    zygote = Zygote()
    zygote.start()
    counter = iter(range(10**9))

    def sandboxed():
        started = time.perf_counter()
        outcome = job.execute(zygote, f"bench{next(counter)}", spec, {"cpu_seconds": 10, "memory_bytes": 512 << 20},
                              slot=0, wall_seconds=30, max_output_bytes=1 << 24)
        assert outcome.status == "succeeded", outcome
        return time.perf_counter() - started

    import pygad  # the plain parent is warm, like the zygote

    from vilvik_sandbox.ga_build import build_ga_kwargs
    namespace = {}
    exec(spec["fitness_func"], namespace)

    def plain_fork():
        started = time.perf_counter()
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            ga = pygad.GA(**build_ga_kwargs(spec["params"]), fitness_func=namespace["fitness_func"],
                          suppress_warnings=True)
            ga.run()
            os.write(write, json.dumps(ga.best_solution(ga.last_generation_fitness)[0].tolist()).encode())
            os._exit(0)
        os.close(write)
        while os.read(read, 65536):
            pass
        os.close(read)
        os.waitpid(pid, 0)
        return time.perf_counter() - started

    try:
        sandboxed()
        ours, plain = alternate(args.rounds * 4, sandboxed, plain_fork)
        mode = zygote.ready["sandbox"]["mode"]
    finally:
        zygote.close()
    added = (ours - plain) * 1000
    return [(f"sandbox: added per job over a plain fork-and-run (ms, mode {mode})", added, "<= 20", added <= 20,
             f"{ours * 1000:.1f} vs {plain * 1000:.1f} ms")]


def list_latency(args, tmp):
    instance = os.path.join(tmp, "lists")
    server = vilvik_server(instance, WORKERS=0)
    small = server.key
    try:
        big_key = json.loads(subprocess.run(
            [sys.executable, "-m", "vilvik_server", "create-account", "big@example.com", "--credits", "1"],
            env=dict(os.environ, VILVIK_INSTANCE_PATH=instance), check=True, capture_output=True,
            text=True).stdout)["api_key"]
        requests.post(server.url + "/submissions", json=BODY, timeout=10, headers={"Authorization": f"Bearer {small}"})
        conn = sqlite3.connect(os.path.join(instance, "vilvik.sqlite3"), timeout=30)
        template = conn.execute("SELECT * FROM submissions LIMIT 1").fetchone()
        columns = [c[1] for c in conn.execute("PRAGMA table_info(submissions)") if c[1] != "seq"]
        accounts = {k: conn.execute("SELECT account_id FROM api_keys WHERE secret_hash = ?",
                                    (__import__("hashlib").sha256(k.encode()).hexdigest(),)).fetchone()[0]
                    for k in (small, big_key)}
        row = dict(zip([c[1] for c in conn.execute("PRAGMA table_info(submissions)")], template))
        for key, count in ((small, 1000), (big_key, 100_000)):
            rows = [tuple(f"b{key[:4]}{i:07d}" if c == "id" else accounts[key] if c == "account_id" else row[c]
                          for c in columns) for i in range(count)]
            conn.executemany(f"INSERT INTO submissions ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                             rows)
        conn.commit()
        conn.close()

        def latency(key):
            session = requests.Session()
            session.headers["Authorization"] = f"Bearer {key}"
            samples = []
            for _ in range(30):
                started = time.perf_counter()
                assert session.get(server.url + "/submissions?limit=20", timeout=10).status_code == 200
                samples.append(time.perf_counter() - started)
            session.close()
            return statistics.median(samples)

        few, many = alternate(args.rounds, lambda: latency(small), lambda: latency(big_key))
    finally:
        server.stop()
    return [("lists: GET /submissions latency at 100,000 rows / at 1,000", many / few, "<= 1.5", many / few <= 1.5,
             f"{many * 1000:.1f} vs {few * 1000:.1f} ms")]


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2.0, help="length of one throughput round")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds")
    parser.add_argument("--only", choices=["http", "jobs", "small", "sandbox", "lists", "scale"])
    parser.add_argument("--no-wrk", action="store_true", help="load the HTTP paths with Python clients")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 3, 1.0
    args.wrk = None if args.no_wrk or args.only not in (None, "http") else wrk.find()
    load_generator = ("" if args.only not in (None, "http") else
                      f"; HTTP load: wrk ({args.wrk}), 16 and 1 connections" if args.wrk else
                      "; HTTP load: Python clients (--no-wrk, or wrk not found and not installable here: "
                      "no p99), 16 and 1 clients")
    with open("/proc/loadavg") as loadavg:
        load_average = " ".join(loadavg.read().split()[:3])
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}, load average {load_average}; "
          f"{args.rounds} alternating rounds{load_generator}")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, part in (("http", lambda: http_paths(args, tmp)), ("jobs", lambda: job_paths(args, tmp)),
                           ("small", lambda: small_jobs(args, tmp)),
                           ("sandbox", lambda: sandbox_cost(args)), ("lists", lambda: list_latency(args, tmp)),
                           ("scale", lambda: scale.scale(args, tmp, vilvik_server))):
            if args.only in (None, name):
                rows += part()
    width = max(len(r[0]) for r in rows)
    for label, value, goal, met, detail in rows:
        shown = "" if value is None else f"{value:8.2f}"
        mark = "" if not goal else ("ok" if met else "MISSED")
        print(f"{label:<{width}}  {shown:>8}  {goal:<8} {mark:<6}  ({detail})")


if __name__ == "__main__":
    main()
