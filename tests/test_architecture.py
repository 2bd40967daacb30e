"""The layers point one way: api/ and web/ stand on domain/, nothing climbs back up, and the engine runs without Flask."""
import ast
import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("vilvik_server", "vilvik_sandbox")
WEB_STACK = ("flask", "flask_smorest", "werkzeug", "flask_limiter", "swagger_ui_bundle")


def _modules():
    """{module name: path} for every module of the server and the sandbox."""
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name, path, module_level_only=False):
    """The absolute names a module imports (at module level only, or anywhere in it)."""
    tree = ast.parse(path.read_text(), str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    nodes = tree.body if module_level_only else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                found.add(submodule if submodule in MODULES else base)
    return found


def _inside(name, package):
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("layer", ["vilvik_server.api", "vilvik_server.web"])
def test_it_lets_no_module_outside_a_layer_import_it(layer):
    climbs = sorted(f"{name} imports {target}" for name, path in MODULES.items()
                    if not _inside(name, layer) and name != "vilvik_server"  # create_app wires the layers
                    for target in _imports(name, path) if _inside(target, layer))
    assert climbs == []


def test_it_keeps_the_domain_free_of_the_web_stack_and_the_layers_above():
    above = ("vilvik_server.api", "vilvik_server.web", "vilvik_server.engine", "vilvik_server.http",
             "vilvik_server.auth", "vilvik_server.idempotency") + WEB_STACK
    found = sorted(f"{name} imports {target}" for name, path in MODULES.items()
                   if _inside(name, "vilvik_server.domain")
                   for target in _imports(name, path) if any(_inside(target, layer) for layer in above))
    assert found == []


def test_it_keeps_the_sandbox_apart_from_the_server():
    found = sorted(f"{name} imports {target}" for name, path in MODULES.items()
                   if _inside(name, "vilvik_sandbox")
                   for target in _imports(name, path) if _inside(target, "vilvik_server") or target in WEB_STACK)
    assert found == []


def test_it_has_no_import_circle():
    """Imports anywhere in a module count (a late import only hides a circle), and importing a module runs
    its packages' __init__ first. The top package is left out: create_app() wires every layer together."""
    def edges(name, path):
        for target in _imports(name, path):
            parts = target.split(".")
            packages = (".".join(parts[:n]) for n in range(2, len(parts)))
            yield target
            yield from (package for package in packages if not _inside(name, package))

    graph = {name: {target for target in edges(name, path) if target in MODULES and target != name}
             for name, path in MODULES.items() if name != "vilvik_server"}
    graph["vilvik_server"] = set()
    done, path, circles = set(), [], []

    def visit(name):
        if name in path:
            circles.append(path[path.index(name):] + [name])
            return
        if name in done:
            return
        path.append(name)
        for target in sorted(graph[name]):
            visit(target)
        path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)
    assert [" -> ".join(circle) for circle in circles] == []


JOB_RUNNING_MODULES = ("vilvik_server.engine", "vilvik_server.engine.executor", "vilvik_server.engine.job",
                       "vilvik_server.lifecycle", "vilvik_server.submitting", "vilvik_server.webhooks.delivery",
                       "vilvik_server.domain.inputs", "vilvik_server.domain.represent",
                       "vilvik_server.workers.app", "vilvik_server.workers.command", "vilvik_server.workers.task",
                       "celery.bin.worker")


def test_it_runs_jobs_without_loading_flask():
    """A process that only runs jobs (a worker on another machine) must not load the web stack."""
    probe = (f"import importlib, json, sys\n"
             f"loaded = {{}}\n"
             f"for name in {JOB_RUNNING_MODULES!r}:\n"
             f"    importlib.import_module(name)\n"
             f"    loaded[name] = sorted(m for m in sys.modules if m.split('.')[0] in {WEB_STACK!r})\n"
             f"print(json.dumps(loaded))")
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == {name: [] for name in JOB_RUNNING_MODULES}


def test_it_keeps_no_state_in_the_sandbox_modules():
    """What the zygote learns at start (the jail's plan, the probe's findings) lives in objects it holds."""
    rebinding = sorted(f"{name}:{node.lineno}" for name, path in MODULES.items() if _inside(name, "vilvik_sandbox")
                       for node in ast.walk(ast.parse(path.read_text())) if isinstance(node, ast.Global))
    assert rebinding == []


def test_the_readme_layout_names_only_what_is_in_the_tree():
    """Each first-column entry of README's layout table: a path from the root, then names beside it."""
    text = (ROOT / "README.md").read_text()
    table = text[text.index("## Layout"):]
    table = table[:table.index("\n## ")]
    missing = []
    for row in (line for line in table.splitlines() if line.startswith("| `")):
        names = row.split("|")[1].split("`")[1::2]
        base = ROOT / names[0]
        folder = base.parent
        for index, name in enumerate(names):
            path = base if index == 0 else folder / name
            if not path.exists():
                missing.append(name)
    assert missing == []
