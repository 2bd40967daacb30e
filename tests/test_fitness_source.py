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
    with pytest.raises(ValidationFailed):
        check("def fitness_func(a, b, c): return 1\n\x00", "fitness_func")
