"""`python -m vilvik_sandbox.check`: which sandbox this host gives, tried for real.

In the spirit of isolate's `isolate-check-environment`: run it as the user the server
will run as, on the machine (or in the container) it will run in. It prints the
start-up probe (each layer, and why one is missing), then runs a few hostile jobs
through the very jail the server uses and says how each ended. Exit status: 0 when
the sandbox is full, 1 when it is degraded (the server would refuse jobs unless
SANDBOX_ALLOW_DEGRADED is set).
"""
import json
import os
import signal
import socket
import sys
import time

from . import jail, probe, runner

PARAMS = {"num_generations": 2, "sol_per_pop": 4, "num_genes": 2, "num_parents_mating": 2, "random_seed": 1}
ATTEMPTS = (
    ("a normal job", "def fitness_func(ga, s, i):\n    return float(sum(s))\n"),
    ("read /etc/passwd", "open('/etc/passwd').read()\n"),
    ("list /", "import os\nos.listdir('/')\n"),
    ("write to the server's home", "import os\nopen(os.path.join(%r, 'vilvik-check-was-here'), 'w').write('x')\n"),
    ("open a socket", "import socket\nsocket.socket()\n"),
    ("start a process", "import os\nos.fork()\n"),
    ("allocate 4 GiB", "bytearray(4 << 30)\n"),
    ("kill its keeper (parent)", "import os\nos.kill(os.getppid(), 9)\n"),
)


def run_job(confinement, source, limits=None):
    """One job through jail.launch, as the zygote runs it; returns (layers, outcome text)."""
    if "fitness_func" not in source:
        source += "def fitness_func(ga, s, i):\n    return 1.0\n"
    spec = {"params": PARAMS, "fitness_func": source, "entry": "fitness_func"}
    ours, theirs = socket.socketpair()
    with ours:
        try:
            pid = jail.launch(confinement, lambda fd: runner.run_job(spec, fd), slot=0,
                              limits=limits or {"cpu_seconds": 5, "memory_bytes": 256 << 20}, result_fd=theirs.fileno())
        finally:
            theirs.close()
        ours.settimeout(30)
        output = b""
        try:
            while chunk := ours.recv(1 << 16):
                output += chunk
        except socket.timeout:
            os.killpg(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    lines = [json.loads(line) for line in output.decode(errors="replace").splitlines() if line.startswith("{")]
    layers = lines[0].get("layers") if lines and lines[0].get("type") == "hello" else None
    final = lines[-1] if len(lines) > 1 else {}
    if code - 128 == signal.SIGSYS:
        outcome = "killed by seccomp (sandbox_violation)"
    elif code > 128:
        outcome = f"killed by {signal.Signals(code - 128).name}"
    elif final.get("type") == "error":
        outcome = f"{final['error']['code']}: {final['error']['message'][:90]}"
    elif final.get("type") == "result":
        outcome = "succeeded"
    else:
        outcome = f"no result (exit {code})"
    return layers, outcome


def main():
    runner.warm_up()
    started = time.monotonic()
    confinement = jail.prepare()
    report = probe.probe(confinement)
    took = time.monotonic() - started
    print(f"user: uid {os.geteuid()} ({report['identity']}); Landlock ABI {report['landlock_abi']}; "
          f"probed in {took * 1000:.0f} ms")
    for layer, works in report["layers"].items():
        reason = report["reasons"].get(layer, "")
        print(f"  {layer:<17} {'on' if works else 'MISSING'}  {reason}")
    print(f"mode: {report['mode'].upper()}")
    print("hostile jobs (succeeded = the attempt did no harm):")
    home = os.path.expanduser("~")
    for title, source in ATTEMPTS:
        if "%r" in source:
            source = source % home
        layers, outcome = run_job(confinement, source)
        print(f"  {title:<28} -> {outcome}")
    print(f"  (jobs ran under: {', '.join(layers or ['nothing: the jail refused to start them'])})")
    if os.path.exists(os.path.join(home, "vilvik-check-was-here")):
        print("  !! a job wrote into the server user's home directory")
    return 0 if report["mode"] == "full" else 1


if __name__ == "__main__":
    sys.exit(main())
