"""Load test: N clients submitting, polling and cancelling for a bounded time.

    scripts/loadtest [--clients 8] [--seconds 20] [--url http://127.0.0.1:5000/api/v1 --key vk_...]

Without --url it starts its own server on a free port with a temporary instance.
It reports 5xx answers, "database is locked" in the server's log, submissions
that never reached a terminal state, and latency percentiles; it exits non-zero
if any of the first three is not zero. Only 127.0.0.1 is contacted.
"""
import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import requests

FITNESS = "import numpy\ndef fitness_func(ga, sol, idx):\n    return float(-numpy.sum(sol ** 2))\n"


def start_server(instance):
    env = dict(os.environ, VILVIK_INSTANCE_PATH=instance, VILVIK_RATE_LIMIT="1000000/minute", VILVIK_ACCOUNT_RATE_LIMIT="1000000/minute",
               VILVIK_MAX_QUEUED="100000", VILVIK_MAX_CPU_SECONDS="10", VILVIK_MAX_ACTIVE="16")
    key = json.loads(subprocess.run([sys.executable, "-m", "vilvik_server", "create-account", "load@example.com",
                                     "--credits", "1000000"], env=env, check=True, capture_output=True,
                                    text=True).stdout)["api_key"]
    log = open(os.path.join(instance, "server.log"), "w")
    process = subprocess.Popen([sys.executable, "-m", "vilvik_server", "serve", "--port", "0"], env=env,
                               stdout=subprocess.PIPE, stderr=log, text=True)
    url = re.search(r"serving on (\S+)", process.stdout.readline()).group(1) + "/api/v1"
    return process, log, url, key


def client(url, key, stop_at, stats, lock):
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    mine = []
    rng = random.Random()
    while time.monotonic() < stop_at:
        action = rng.random()
        started = time.perf_counter()
        if action < 0.4 or not mine:
            response = session.post(url + "/submissions", timeout=60, json={
                "num_generations": rng.randint(5, 60), "sol_per_pop": 10, "num_genes": 5, "num_parents_mating": 4,
                "fitness_func": FITNESS})
            if response.status_code == 202:
                mine.append(response.json()["id"])
        elif action < 0.9:
            response = session.get(f"{url}/submissions/{rng.choice(mine)}", timeout=60)
        else:
            response = session.post(f"{url}/submissions/{rng.choice(mine)}/cancel", timeout=60)
        elapsed = time.perf_counter() - started
        with lock:
            stats["latencies"].append(elapsed)
            stats["codes"][response.status_code] = stats["codes"].get(response.status_code, 0) + 1
    with lock:
        stats["ids"] += mine
    session.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--url")
    parser.add_argument("--key")
    args = parser.parse_args()
    tmp = tempfile.TemporaryDirectory()
    process = log = None
    if args.url:
        url, key = args.url.rstrip("/"), args.key or os.environ["VILVIK_KEY"]
    else:
        process, log, url, key = start_server(tmp.name)
    stats = {"latencies": [], "codes": {}, "ids": []}
    lock = threading.Lock()
    stop_at = time.monotonic() + args.seconds
    threads = [threading.Thread(target=client, args=(url, key, stop_at, stats, lock)) for _ in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {key}"
    deadline = time.monotonic() + 120
    unfinished = set(stats["ids"])
    while unfinished and time.monotonic() < deadline:
        for submission_id in list(unfinished):
            status = session.get(f"{url}/submissions/{submission_id}", timeout=60).json().get("status")
            if status in ("succeeded", "failed", "cancelled"):
                unfinished.discard(submission_id)
        time.sleep(0.5)
    session.close()
    locked = 0
    if process:
        process.terminate()
        process.wait(60)
        log.close()
        with open(os.path.join(tmp.name, "server.log")) as handle:
            locked = handle.read().count("database is locked")
    errors_5xx = sum(n for code, n in stats["codes"].items() if code >= 500)
    latencies = sorted(stats["latencies"])
    p99 = latencies[int(len(latencies) * 0.99) - 1] if latencies else 0
    print(f"{len(latencies)} requests by {args.clients} clients in {args.seconds:g}s; status codes {stats['codes']}")
    print(f"latency p50 {statistics.median(latencies) * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms")
    print(f"5xx: {errors_5xx}   database is locked: {locked}   submissions never finished: {len(unfinished)} "
          f"of {len(stats['ids'])}")
    tmp.cleanup()
    return 1 if errors_5xx or locked or unfinished else 0


if __name__ == "__main__":
    sys.exit(main())
