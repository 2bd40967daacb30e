"""Benchmarks that print ratios measured side by side in one run (alternating rounds, medians).

    scripts/bench [--quick]

Only 127.0.0.1 is ever contacted; every load loop is bounded in time.
"""
import argparse
import json
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
    env = dict(os.environ, VILVIK_INSTANCE_PATH=instance, VILVIK_LOG_LEVEL="WARNING",
               VILVIK_RATE_LIMIT="1000000000/hour", VILVIK_MAX_QUEUED="100000000", VILVIK_MAX_CPU_SECONDS="30")
    env.update({f"VILVIK_{k}": str(v) for k, v in settings.items()})
    key = json.loads(subprocess.run([sys.executable, "-m", "vilvik_server", "create-account",
                                     f"bench{time.monotonic_ns()}@example.com", "--credits", "100000000"],
                                    env=env, check=True, capture_output=True, text=True).stdout)["api_key"]
    server = Process([sys.executable, "-m", "vilvik_server", "serve", "--port", "0", "--threads", "8"], env)
    server.key = key
    return server


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


def alternate(rounds, a, b):
    """Run a() and b() alternately; returns (median of a, median of b)."""
    results_a, results_b = [], []
    for _ in range(rounds):
        results_a.append(a())
        results_b.append(b())
    return statistics.median(results_a), statistics.median(results_b)


def http_paths(args, tmp):
    ours = vilvik_server(os.path.join(tmp, "ours"), WORKERS=0)
    base = Process([sys.executable, os.path.join(ROOT, "bench", "baseline_app.py"), os.path.join(tmp, "base.db"),
                    "8"], dict(os.environ))
    try:
        idle = ours.rss_mb()
        post = lambda s: (lambda: throughput(s.url + "/submissions", "POST", BODY, getattr(s, "key", "x"),
                                             args.seconds))  # noqa: E731
        accept_ours, accept_base = alternate(args.rounds, post(ours), post(base))
        loaded = ours.rss_mb()
        ours_id = requests.post(ours.url + "/submissions", json=BODY, timeout=10,
                                headers={"Authorization": f"Bearer {ours.key}"}).json()["id"]
        base_id = requests.post(base.url + "/submissions", json=BODY, timeout=10).json()["id"]
        get = lambda s, i: (lambda: throughput(f"{s.url}/submissions/{i}", "GET", None, getattr(s, "key", "x"),
                                               args.seconds))  # noqa: E731
        read_ours, read_base = alternate(args.rounds, get(ours, ours_id), get(base, base_id))
    finally:
        ours.stop()
        base.stop()
    return [("accept: POST /submissions, ours / bare Flask+SQLite", accept_ours / accept_base, ">= 0.5",
             accept_ours / accept_base >= 0.5, f"{accept_ours:.0f} vs {accept_base:.0f} req/s"),
            ("status: GET /submissions/{id}, ours / bare", read_ours / read_base, ">= 0.7",
             read_ours / read_base >= 0.7, f"{read_ours:.0f} vs {read_base:.0f} req/s"),
            ("server memory (RSS, MiB): idle, after load", None, "", True, f"{idle:.0f}, {loaded:.0f}")]


def plain_pygad_seconds(params):
    """The same GA timed inside a fresh process (after its imports)."""
    code = ("import json, sys, time, numpy, pygad\n"
            "p = json.loads(sys.argv[1]); src = p.pop('fitness_func'); ns = {}; exec(src, ns)\n"
            "ga = pygad.GA(**p, fitness_func=ns['fitness_func'], suppress_warnings=True)\n"
            "t = time.perf_counter(); ga.run(); print(time.perf_counter() - t)\n")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(params)], check=True, capture_output=True,
                         text=True).stdout
    return float(out)


def job_paths(args, tmp):
    server = vilvik_server(os.path.join(tmp, "jobs"), WORKERS=1)
    session = requests.Session()
    session.headers.update({"Authorization": f"Bearer {server.key}", "Prefer": "wait=60"})

    def submit_to_terminal(params):
        started = time.perf_counter()
        response = session.post(server.url + "/submissions", json=params, timeout=90)
        assert response.status_code == 200 and response.json()["status"] == "succeeded", response.text
        return time.perf_counter() - started

    try:
        submit_to_terminal(JOB)  # warm
        ours, plain = alternate(args.rounds, lambda: submit_to_terminal(JOB), lambda: plain_pygad_seconds(JOB))
        one = dict(JOB, num_generations=1)
        ours_one, plain_one = alternate(args.rounds * 2, lambda: submit_to_terminal(one),
                                        lambda: plain_pygad_seconds(one))
        sandbox = requests.get(server.url + "/health", timeout=10).json()["sandbox"]["mode"]
    finally:
        session.close()
        server.stop()
    overhead_ms = (ours_one - plain_one) * 1000
    return [(f"job: submit-to-terminal / plain pygad run (100x50x10, sandbox {sandbox})", ours / plain, "<= 1.25",
             ours / plain <= 1.25, f"{ours * 1000:.0f} vs {plain * 1000:.0f} ms"),
            ("job: fixed overhead of a 1-generation job (ms)", overhead_ms, "<= 50", overhead_ms <= 50,
             f"{ours_one * 1000:.1f} vs {plain_one * 1000:.1f} ms")]


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
    parser.add_argument("--only", choices=["http", "jobs", "sandbox", "lists"])
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.seconds = 3, 1.0
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}; {args.rounds} alternating rounds")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, part in (("http", lambda: http_paths(args, tmp)), ("jobs", lambda: job_paths(args, tmp)),
                           ("sandbox", lambda: sandbox_cost(args)), ("lists", lambda: list_latency(args, tmp))):
            if args.only in (None, name):
                rows += part()
    width = max(len(r[0]) for r in rows)
    for label, value, goal, met, detail in rows:
        shown = "" if value is None else f"{value:8.2f}"
        mark = "" if not goal else ("ok" if met else "MISSED")
        print(f"{label:<{width}}  {shown:>8}  {goal:<8} {mark:<6}  ({detail})")


if __name__ == "__main__":
    main()
