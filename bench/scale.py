"""EXECUTOR=celery: throughput with one worker process against two, and the celery path's
per-job overhead against the local executor's. Needs Redis (Debian's redis-server; installed
with apt-get when missing and we may) and the `celery` extra (scripts/bench installs it)."""
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time

import requests

SCALE_JOBS = 40
# About half a second of CPU each, seeded: a fitness function that does some real arithmetic.
SCALE_JOB = {"num_generations": 40, "sol_per_pop": 10, "num_genes": 8, "num_parents_mating": 4,
             "fitness_func": "def fitness_func(ga, sol, idx):\n    s = 0.0\n    for k in range(4400):\n"
                             "        s += (sol[k % 8] - k * 1e-4) ** 2\n    return -s\n"}
ONE_GENERATION = {"num_generations": 1, "sol_per_pop": 4, "num_genes": 3, "num_parents_mating": 2,
                  "random_seed": 1, "fitness_func": "def fitness_func(ga, sol, idx): return float(sum(sol))\n"}


def redis_binary():
    binary = shutil.which("redis-server")
    if binary is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run("apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server",
                       shell=True, check=False, capture_output=True)
        binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("the scale benchmark needs redis-server (apt-get install redis-server)")
    return binary


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(folder):
    port = free_port()
    process = subprocess.Popen([redis_binary(), "--port", str(port), "--bind", "127.0.0.1", "--dir", folder,
                                "--save", "", "--appendonly", "yes"], stdout=subprocess.DEVNULL)
    for _ in range(200):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("redis-server did not start")


def start_worker(folder, broker_url, name):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "VILVIK_BROKER_URL": broker_url,
           "VILVIK_LOG_LEVEL": "WARNING", "VILVIK_MAX_CPU_SECONDS": "30"}
    if "VILVIK_SANDBOX_UID_BASE" in os.environ:
        env["VILVIK_SANDBOX_UID_BASE"] = os.environ["VILVIK_SANDBOX_UID_BASE"]
    return subprocess.Popen([sys.executable, "-m", "vilvik_server", "worker", "--concurrency", "1", "--name", name],
                            cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def stop_worker(process):
    os.killpg(process.pid, signal.SIGTERM)
    process.wait(60)


def wait_workers(server, count, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        executor = requests.get(server.url + "/health", timeout=10).json()["executor"]
        if executor["workers"] == count and sum(n["processes"] for n in executor["nodes"]) == count:
            return
        time.sleep(0.2)
    raise RuntimeError(f"{count} workers never showed up")


def batch_seconds(server, seed):
    """Submit SCALE_JOBS seeded jobs at once; seconds until the last is done."""
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {server.key}"
    started = time.perf_counter()
    ids = []
    for i in range(SCALE_JOBS):
        response = session.post(server.url + "/submissions", json=dict(SCALE_JOB, random_seed=seed + i), timeout=30)
        assert response.status_code == 202, response.text
        ids.append(response.json()["id"])
    cpu = []
    for submission_id in ids:
        while True:
            body = session.get(f"{server.url}/submissions/{submission_id}", timeout=30).json()
            if body["status"] in ("succeeded", "failed", "cancelled"):
                assert body["status"] == "succeeded", body
                cpu.append(body["usage"]["cpu_seconds"])
                break
            time.sleep(0.05)
    elapsed = time.perf_counter() - started
    session.close()
    return elapsed, statistics.median(cpu)


def one_job_latency(server):
    """Seconds from POST to the finished run (Prefer: wait) of a one-generation job."""
    started = time.perf_counter()
    response = requests.post(server.url + "/submissions", json=ONE_GENERATION, timeout=60,
                             headers={"Authorization": f"Bearer {server.key}", "Prefer": "wait=30"})
    assert response.status_code == 200 and response.json()["status"] == "succeeded", response.text
    return time.perf_counter() - started


def scale(args, tmp, vilvik_server):
    """1 worker process against 2 on the same jobs; celery path against local for a tiny job."""
    folder = os.path.join(tmp, "scale")
    os.makedirs(os.path.join(folder, "redis"))
    os.makedirs(os.path.join(folder, "elsewhere"))
    redis_process, broker_url = start_redis(os.path.join(folder, "redis"))
    control = vilvik_server(os.path.join(folder, "control"), EXECUTOR="celery", BROKER_URL=broker_url)
    local = vilvik_server(os.path.join(folder, "local"), WORKERS=1)
    first = start_worker(os.path.join(folder, "elsewhere"), broker_url, "one@bench")
    second = None
    rows = []
    try:
        wait_workers(control, 1)
        # Overhead: alternate a tiny job on each path; medians of the latencies.
        for server in (control, local):
            one_job_latency(server)  # warm
        latencies = {"celery": [], "local": []}
        for _ in range(max(10, args.rounds * 4)):
            latencies["celery"].append(one_job_latency(control))
            latencies["local"].append(one_job_latency(local))
        celery_ms = statistics.median(latencies["celery"]) * 1000
        local_ms = statistics.median(latencies["local"]) * 1000
        overhead = celery_ms - local_ms
        rows.append(("celery path overhead over local, 1-generation job, median ms", overhead, "<= 30",
                     overhead <= 30, f"{celery_ms:.0f} vs {local_ms:.0f} ms from POST to the finished run"))
        # Throughput: alternate rounds of one worker process and of two.
        one, two, cpu = [], [], []
        for round_number in range(max(1, min(args.rounds, 3))):
            seconds, job_cpu = batch_seconds(control, 1000 * round_number)
            one.append(seconds)
            cpu.append(job_cpu)
            second = start_worker(os.path.join(folder, "elsewhere"), broker_url, "two@bench")
            wait_workers(control, 2)
            two.append(batch_seconds(control, 1000 * round_number + 500)[0])
            stop_worker(second)
            second = None
            wait_workers(control, 1)
        # The median of the ratios within each round, as run.paired: the machine drifts between rounds.
        ratio = statistics.median(a / b for a, b in zip(one, two))
        rows.append((f"scale: {SCALE_JOBS} jobs of ~{statistics.median(cpu):.2f} s CPU, 2 worker processes / 1",
                     ratio, ">= 1.8", ratio >= 1.8,
                     f"{SCALE_JOBS / statistics.median(two):.2f} vs {SCALE_JOBS / statistics.median(one):.2f} jobs/s"))
    finally:
        for worker in (first, second):
            if worker is not None:
                stop_worker(worker)
        control.stop()
        local.stop()
        redis_process.terminate()
        redis_process.wait(30)
    return rows
