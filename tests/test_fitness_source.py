"""The fitness source is compiled at accept time; nothing of it runs in the server."""
import pytest

from vilvik_server.errors import ValidationFailed
from vilvik_server.fitness_source import check


def test_it_accepts_a_plain_function():
    check("def fitness_func(ga, sol, idx):\n    return 1\n", "fitness_func")


def test_it_accepts_an_entry_bound_by_assignment_or_with_extra_defaults():
    check("f = lambda ga, s, i: 1\n", "f")
    check("def f(ga, s, i, scale=2):\n    return 1\n", "f")
    check("def f(*args):\n    return 1\n", "f")


def test_a_syntax_error_names_its_line():
    with pytest.raises(ValidationFailed) as caught:
        check("def fitness_func(ga, sol, idx):\n    return (\n\n", "fitness_func")
    assert caught.value.details["line"] == 2
    assert "line 2" in caught.value.message


def test_a_missing_entry_is_refused():
    with pytest.raises(ValidationFailed) as caught:
        check("def other(ga, sol, idx):\n    return 1\n", "fitness_func")
    assert "fitness_func_entry" in caught.value.details["fields"]


def test_a_nested_definition_is_not_an_entry():
    with pytest.raises(ValidationFailed):
        check("if False:\n    pass\nclass K:\n    def fitness_func(ga, sol, idx): return 1\n", "fitness_func")


def test_an_entry_with_the_wrong_arity_is_refused():
    with pytest.raises(ValidationFailed, match="three arguments"):
        check("def fitness_func(solution):\n    return 1\n", "fitness_func")


def test_the_source_is_never_executed(tmp_path):
    marker = tmp_path / "ran"
    check(f"open({str(marker)!r}, 'w').write('x')\ndef fitness_func(a, b, c):\n    return 1\n", "fitness_func")
    assert not marker.exists()


def test_null_bytes_in_the_source_are_refused():
    with pytest.raises(ValidationFailed) as caught:
        check("def fitness_func(a, b, c): return 1\n\x00", "fitness_func")
    assert "null bytes" in caught.value.message and "None" not in caught.value.message
    assert caught.value.details["fields"]["fitness_func"] == [caught.value.message.split(": ", 1)[1]]


def test_a_source_that_passed_is_remembered_by_digest_and_entry_only(monkeypatch):
    from vilvik_server import fitness_source

    monkeypatch.setattr(fitness_source, "_PASSED", set())
    source = "def fitness_func(ga, sol, idx):\n    return 1\n"
    check(source, "fitness_func")
    compiled = []
    monkeypatch.setattr(fitness_source, "_check", lambda *args: compiled.append(args))
    check(source, "fitness_func")  # the same pair again: not compiled again
    assert compiled == []
    check(source, "other")  # another entry is another question
    check(source + "\n", "fitness_func")  # and so is another source
    assert compiled == [(source, "other"), (source + "\n", "fitness_func")]
    assert all(isinstance(part, (str, bytes)) and len(part) < 64 for pair in fitness_source._PASSED for part in pair)


def test_a_refused_source_is_refused_every_time_with_the_same_error():
    source = "def fitness_func(ga, sol, idx):\n    return (\n\n"
    errors = []
    for _ in range(2):
        with pytest.raises(ValidationFailed) as caught:
            check(source, "fitness_func")
        errors.append((caught.value.message, caught.value.details))
    assert errors[0] == errors[1] and errors[0][1]["line"] == 2
    with pytest.raises(ValidationFailed, match="no top-level function"):
        check("def fitness_func(ga, sol, idx):\n    return 1\n", "missing")


def test_the_remembered_sources_stay_bounded(monkeypatch):
    from vilvik_server import fitness_source

    monkeypatch.setattr(fitness_source, "_PASSED", set())
    monkeypatch.setattr(fitness_source, "MAX_REMEMBERED", 5)
    for n in range(12):
        check(f"def f(a, b, c):\n    return {n}\n", "f")
        assert len(fitness_source._PASSED) <= 5
