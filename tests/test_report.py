"""What a job writes back is attacker data: every malformed shape is refused."""
import pytest

from vilvik_server.engine.report import MalformedReport, check_error, check_progress, check_result, parse_line

PARAMS = {"num_generations": 3, "num_genes": 2, "sol_per_pop": 2}
GOOD = {"type": "result", "best_solution": [1.0, 2.0], "best_solution_fitness": 3.0, "best_solution_idx": 0,
        "best_solution_generation": 3, "generations_completed": 3,
        "best_fitness_per_generation": [1.0, 2.0, 3.0, 3.0], "last_generation_fitness": [3.0, "-Infinity"],
        "population": [[1.0, 2.0], [0.0, 0.0]],
        "random_state": {"numpy": ["MT19937", [7] * 624, 624, 0, 0.0], "python": [3, [5] * 624 + [624], None]},
        "stopped": False}


def test_it_accepts_a_well_formed_result():
    result, logs = check_result(dict(GOOD, logs="hi"), PARAMS)
    assert result["best_solution"] == [1.0, 2.0] and logs == "hi"


@pytest.mark.parametrize("change", [
    {"best_solution": [1.0]},  # wrong length
    {"best_solution": [1.0, "2"]},
    {"best_solution_fitness": True},
    {"best_solution_idx": 7},
    {"generations_completed": 10**9},
    {"best_fitness_per_generation": [1.0] * 50},
    {"population": [[1.0, 2.0]] * 3},
    {"population": "rows"},
    {"extra": 1},
    {"last_generation_fitness": [{"a": 1}, 1.0]},
    {"random_state": {"numpy": ["MT19937", [7] * 623, 624, 0, 0.0], "python": [3, [5] * 624 + [624], None]}},
    {"random_state": {"numpy": ["MT19937", [2 ** 32] * 624, 624, 0, 0.0], "python": [3, [5] * 625, None]}},
    {"random_state": "__reduce__"},
])
def test_it_refuses_a_forged_result(change):
    with pytest.raises(MalformedReport):
        check_result(dict(GOOD, **change), PARAMS)


@pytest.mark.parametrize("line", [b"NaN", b'{"type": "result", "x": NaN}', b"[1]", b"{}", b"\xff\xfe", b"[" * 100000])
def test_it_refuses_lines_that_are_not_json_objects(line):
    with pytest.raises(MalformedReport):
        parse_line(line)


def test_it_refuses_progress_beyond_the_run():
    with pytest.raises(MalformedReport):
        check_progress({"type": "progress", "generations_completed": 99}, PARAMS)


def test_it_refuses_an_error_code_the_job_may_not_claim():
    with pytest.raises(MalformedReport):
        check_error({"type": "error", "error": {"code": "internal_error", "message": "x"}})
