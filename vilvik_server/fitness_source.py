"""Checking a fitness function's source at accept time, without running any of it."""
import ast
import hashlib

from .errors import ValidationFailed

# Digests of (entry, source) pairs that passed: the same code is often sent again (a client's
# loop, a continuation, an experiment's runs), and compiling it costs about 40 us per accept.
# Only a SHA-256 and the entry's name are kept, so the memory stays small; a refused source is
# checked again every time (its error is built from the compile).
_PASSED = set()
MAX_REMEMBERED = 4096


def check(source, entry):
    """Compile `source` and find a top-level definition of `entry`; raise a 422 otherwise."""
    digest = (entry, hashlib.sha256(source.encode("utf-8", "surrogatepass")).digest())
    if digest in _PASSED:
        return
    _check(source, entry)
    if len(_PASSED) >= MAX_REMEMBERED:
        _PASSED.clear()  # (simpler than an LRU, and as good for a loop of the same few sources)
    _PASSED.add(digest)


def _check(source, entry):
    try:
        tree = ast.parse(source, filename="<fitness_func>")
        compile(tree, "<fitness_func>", "exec")
    except SyntaxError as exc:
        if exc.lineno is None:  # a problem of the whole source, e.g. a null byte (Python 3.12+)
            raise ValidationFailed.for_fields({"fitness_func": [f"does not compile: {exc.msg}"]}) from None
        where = f"line {exc.lineno}" + (f", column {exc.offset}" if exc.offset else "")
        raise ValidationFailed(
            f"fitness_func does not compile: {exc.msg} ({where})",
            details={"fields": {"fitness_func": [f"{exc.msg} at {where}"]}, "line": exc.lineno}) from None
    except (ValueError, RecursionError, MemoryError) as exc:  # null bytes, absurd nesting
        raise ValidationFailed.for_fields({"fitness_func": [f"does not compile: {exc}"]}) from None
    definition = _top_level_binding(tree, entry)
    if definition is None:
        raise ValidationFailed.for_fields(
            {"fitness_func_entry": [f"no top-level function named {entry!r} in fitness_func"]})
    if isinstance(definition, ast.FunctionDef) and not _accepts_three_arguments(definition.args):
        raise ValidationFailed.for_fields({"fitness_func_entry": [
            f"{entry}() must accept three arguments (ga_instance, solution, solution_idx) "
            f"(line {definition.lineno})"]})


def _top_level_binding(tree, name):
    found = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            found = node
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == name for t in targets):
                found = node
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            if any((alias.asname or alias.name.split(".")[0]) == name for alias in node.names):
                found = node
    return found


def _accepts_three_arguments(args):
    positional = len(args.posonlyargs) + len(args.args)
    required = positional - len(args.defaults)
    return required <= 3 and (positional >= 3 or args.vararg is not None)
