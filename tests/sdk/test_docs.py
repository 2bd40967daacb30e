"""Every snippet in docs/sdk.md runs: the Python blocks in order against a live server, the
CLI block in bash, the install block as a pip install into a temporary directory.

A block is marked by an HTML comment just above it: `<!-- test: install -->`,
`<!-- test: cli -->`, `<!-- test: job.json -->` (the job file the CLI block uses), or
`<!-- needs: METHOD /path -->` (the route the block needs).
Unmarked Python blocks simply run.
"""
import json
import linecache
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time

import pytest

import vilvik

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DOC = os.path.join(REPO, "docs", "sdk.md")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```\n", re.S | re.M)
MARK = re.compile(r"<!-- (test|needs): (.+?) -->\s*$")


def doc_blocks():
    """[(language, code, mark, line)] of docs/sdk.md, in order."""
    with open(DOC, encoding="utf-8") as handle:
        text = handle.read()
    found = []
    for match in FENCE.finditer(text):
        before = text[:match.start()].rstrip("\n").rsplit("\n", 1)[-1]
        mark = MARK.search(before)
        line = text.count("\n", 0, match.start()) + 1
        found.append((match.group(1), match.group(2), mark.groups() if mark else None, line))
    return found


BLOCKS = doc_blocks()
PYTHON = [block for block in BLOCKS if block[0] == "python"]


def the_block(mark):
    (code,) = [code for _, code, found, _ in BLOCKS if found == mark]
    return code


def test_every_block_is_exercised_by_this_module():
    for language, _, mark, line in BLOCKS:
        if language == "python":
            assert mark is None or mark[0] == "needs", line
        else:
            assert mark in {("test", "install"), ("test", "cli"), ("test", "job.json")}, (language, line)
    assert len(PYTHON) >= 10


@pytest.fixture(scope="module")
def namespace(live_server, api_user):
    """One namespace for all the Python blocks, as if they were one script, with the key in the environment."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VILVIK_API_KEY", api_user.key)
        patch.setenv("VILVIK_BASE_URL", live_server.api)
        patch.setenv("VILVIK_WEBHOOK_SECRET", "whsec_dmlsdmlrLXRlc3Qtc2VjcmV0LWtleS0zMmJ5dGVzIQ==")
        found = {"__name__": "docs_sdk"}
        yield found
    for value in found.values():
        if isinstance(value, vilvik.Client):
            value.close()


@pytest.mark.parametrize("code, mark, line", [block[1:] for block in PYTHON], ids=[f"line{b[3]}" for b in PYTHON])
def test_the_python_snippet_runs(namespace, code, mark, line, capsys):
    filename = f"<docs/sdk.md:{line}>"
    # Registered like a file so inspect.getsource() finds functions the snippet defines.
    linecache.cache[filename] = (len(code), None, code.splitlines(True), filename)
    # The docs register https://example.com/...; the test sends to a port on this machine
    # instead (refused there as a private target), so nothing leaves it.
    code = code.replace("https://example.com/vilvik-webhook", "http://127.0.0.1:9/vilvik-webhook")
    exec(compile(code, filename, "exec"), namespace)
    capsys.readouterr()


def test_what_the_snippets_printed_and_made_is_right(namespace):
    assert namespace["submission"].status == "succeeded"
    assert len(namespace["result"].best_fitness_per_generation) == 51
    assert namespace["history_csv"].startswith("generation,best_fitness")
    assert namespace["more"].parent_id == namespace["submission"].id
    assert namespace["first"].id == namespace["again"].id
    assert namespace["quick_job"].status == "succeeded"
    assert namespace["key"].id not in {k.id for k in namespace["client"].keys.list()}


def test_the_webhook_receiver_snippet_accepts_only_signed_deliveries(namespace):
    app, secret = namespace["app"], namespace["WEBHOOK_SECRET"]
    body = json.dumps({"id": "evt_1", "type": "result.completed", "data": {"id": "abc"}}).encode()
    now = int(time.time())
    headers = {"webhook-id": "evt_1", "webhook-timestamp": str(now),
               "webhook-signature": vilvik.webhooks.sign(body, secret, "evt_1", now)}
    client = app.test_client()
    sent = dict(headers, **{"Content-Type": "application/json"})
    assert client.post("/vilvik-webhook", data=body, headers=sent).status_code == 204
    assert client.post("/vilvik-webhook", data=body.replace(b"abc", b"abd"), headers=sent).status_code == 400
    old = dict(sent, **{"webhook-timestamp": str(now - 600),
                        "webhook-signature": vilvik.webhooks.sign(body, secret, "evt_1", now - 600)})
    assert client.post("/vilvik-webhook", data=body, headers=old).status_code == 400


def test_the_cli_snippet_runs_in_bash(live_server, api_user, tmp_path):
    (tmp_path / "job.json").write_text(the_block(("test", "job.json")))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "vilvik"  # stands in for the console script the package installs
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m vilvik "$@"\n')
    shim.chmod(0o755)
    env = dict(os.environ, PATH=f"{bin_dir}{os.pathsep}{os.environ['PATH']}", PYTHONPATH=REPO,
               VILVIK_API_KEY=api_user.key, VILVIK_BASE_URL=live_server.api)
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", the_block(("test", "cli"))], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "succeeded" in done.stdout and "best fitness" in done.stdout
    assert (tmp_path / "history.csv").read_text().startswith("generation,best_fitness")
    assert done.stdout.rstrip().endswith("cancelled")


def test_the_install_snippet_installs_the_sdk_on_its_own(tmp_path):
    command = the_block(("test", "install")).strip()
    assert command == "pip install ./sdk"
    # The same command, run on a copy of the tree, into a target directory rather than this venv.
    shutil.copytree(os.path.join(REPO, "sdk"), tmp_path / "src" / "sdk")
    shutil.copytree(os.path.join(REPO, "vilvik"), tmp_path / "src" / "vilvik",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "target"
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
                           "./sdk"], cwd=tmp_path / "src", capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (target / "vilvik" / "resources" / "submissions.py").exists()
    (info,) = target.glob("vilvik-*.dist-info")
    metadata = (info / "METADATA").read_text()
    assert [line for line in metadata.splitlines() if line.startswith("Requires-Dist")] == [
        "Requires-Dist: requests<3,>=2.26"]
    assert f"Version: {vilvik.__version__}" in metadata
    assert (target / "bin" / "vilvik").exists()

    probe = textwrap.dedent("""
        import sys, vilvik
        print(vilvik.__file__)
        print(sorted({m.split('.')[0] for m in sys.modules} & {'flask', 'vilvik_server', 'numpy', 'pygad'}))
    """)
    ran = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, PYTHONPATH=str(target)))
    assert ran.returncode == 0, ran.stderr
    where, others = ran.stdout.splitlines()
    assert where.startswith(str(target)) and others == "[]"
