"""Drive wrk (the C load generator) and read its throughput, p99 and errors.

find() returns wrk's path: on PATH, or installed with `apt-get install wrk` when we are
root on Debian, else None (the caller then falls back to Python clients and says so).
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

_UNITS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}


def find():
    path = shutil.which("wrk")
    if path or os.geteuid() != 0 or not shutil.which("apt-get"):
        return path
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   check=False, timeout=300)
    return shutil.which("wrk")


def run(wrk, url, *, method="GET", body=None, headers=(), connections=16, seconds=2.0):
    """One wrk run: {"rps": requests/s, "p99": seconds, "p50": seconds, "errors": count}."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f"wrk.method = {json.dumps(method)}\n")
        if body is not None:
            script.write(f"wrk.body = {json.dumps(json.dumps(body))}\n")
            script.write('wrk.headers["Content-Type"] = "application/json"\n')
    try:
        argv = [wrk, "--latency", "-t", "1" if connections < 4 else "2", "-c", str(connections),
                "-d", f"{max(1, round(seconds))}s", "--timeout", "30s", "-s", script.name]
        for header in headers:
            argv += ["-H", header]
        out = subprocess.run(argv + [url], capture_output=True, text=True, check=True, timeout=seconds + 60).stdout
    finally:
        os.unlink(script.name)
    return parse(out)


def parse(out):
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    percentiles = {int(p): float(v) * _UNITS[u] for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s|m)\s*$",
                                                                          out, re.M)}
    errors = 0
    match = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    if match:
        errors += int(match.group(1))
    match = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if match:
        errors += int(match.group(1)) + int(match.group(3)) + int(match.group(4))
    return {"rps": rps, "p50": percentiles.get(50), "p99": percentiles.get(99), "errors": errors}
