"""The docs mention everything the product has: every API route, every setting, every error code.

A new route, setting or error code without a line in docs/ fails here, naming what is missing.
"""
import glob
import os
import re

import pytest

from vilvik_server import create_app, errors
from vilvik_server.config import SETTINGS

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PREFIX = "/api/v1"
UNDOCUMENTED_ROUTES = {f"{PREFIX}/docs/assets/<path:filename>", f"{PREFIX}/docs/<path:filename>"}  # Swagger UI's files


def docs_text():
    texts = []
    for path in sorted(glob.glob(os.path.join(ROOT, "docs", "*.md"))):
        with open(path, encoding="utf-8") as handle:
            texts.append(handle.read())
    return "\n".join(texts)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    os.environ["VILVIK_INSTANCE_PATH"] = str(tmp_path_factory.mktemp("docs") / "instance")
    try:
        yield create_app({"WORKERS": 0, "LOG_LEVEL": "WARNING"})
    finally:
        del os.environ["VILVIK_INSTANCE_PATH"]


def api_routes(app):
    """(METHOD, rule) of every API route."""
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(PREFIX) or rule.rule in UNDOCUMENTED_ROUTES:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield method, rule.rule


def mention_pattern(method, rule):
    """`GET /submissions/{id}/events` (with or without /api/v1, any name in the braces)."""
    path = rule[len(PREFIX):] or "/"
    parts = re.split(r"<[^>]+>", path)
    body = r"\{[A-Za-z_]+\}".join(re.escape(part) for part in parts)
    return re.compile(rf"\b{method}\s+(?:{re.escape(PREFIX)})?{body}(?![A-Za-z0-9_/{{])")


def test_every_api_route_is_documented_with_its_method(app):
    text = docs_text()
    missing = [f"{method} {rule}" for method, rule in api_routes(app) if not mention_pattern(method, rule).search(text)]
    assert not missing, f"routes without a docs mention (write `METHOD /path` in docs/): {missing}"


def test_every_setting_is_documented():
    text = docs_text()
    missing = [s.name for s in SETTINGS if not re.search(rf"`{s.name}`", text)]
    assert not missing, f"settings without a docs mention: {missing}"


def error_codes():
    """Every code an API error or a failed run can carry."""
    codes, stack = set(), [errors.VilvikError]
    while stack:
        cls = stack.pop()
        codes.add(cls.code)
        stack.extend(cls.__subclasses__())
    for folder in ("vilvik_server/engine", "vilvik_sandbox"):
        for path in glob.glob(os.path.join(ROOT, folder, "*.py")):
            with open(path, encoding="utf-8") as handle:
                codes.update(re.findall(r"""["']code["']\s*:\s*["']([a-z_]+)["']""", handle.read()))
    return codes


def test_every_error_code_is_documented_in_the_errors_page():
    with open(os.path.join(ROOT, "docs", "errors.md"), encoding="utf-8") as handle:
        text = handle.read()
    codes = error_codes()
    assert {"validation_error", "fitness_error", "sandbox_violation"} <= codes  # the search finds them
    missing = sorted(code for code in codes if f"`{code}`" not in text)
    assert not missing, f"error codes docs/errors.md does not name: {missing}"


def test_the_check_fails_on_an_undocumented_route():
    assert mention_pattern("GET", f"{PREFIX}/submissions/<string:submission_id>").search(
        "`GET /submissions/{id}`")
    assert not mention_pattern("GET", f"{PREFIX}/submissions/<string:submission_id>").search(
        "`GET /submissions/{id}/events`")
    assert not mention_pattern("POST", f"{PREFIX}/frobnicate").search(docs_text())
