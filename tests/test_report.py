"""What a job writes back is attacker data: every malformed shape is refused."""
import base64
import struct

import pytest

from vilvik_server.engine.report import MalformedReport, check_error, check_progress, check_result, parse_line

PARAMS = {"num_generations": 3, "num_genes": 2, "sol_per_pop": 2}


def words(values):
    return base64.b64encode(struct.pack(f"<{len(values)}I", *values)).decode()


GOOD = {"type": "result", "best_solution": [1.0, 2.0], "best_solution_fitness": 3.0, "best_solution_idx": 0,
        "best_solution_generation": 3, "generations_completed": 3,
        "best_fitness_per_generation": [1.0, 2.0, 3.0, 3.0], "last_generation_fitness": [3.0, "-Infinity"],
        "population": [[1.0, 2.0], [0.0, 0.0]],
        "random_state": {"numpy": ["MT19937", words([7] * 624), 624, 0, 0.0],
                         "python": [3, words([5] * 624 + [624]), None]},
        "stopped": False}


def test_it_accepts_a_well_formed_result():
    result, logs = check_result(dict(GOOD, logs="hi"), PARAMS)
    assert result["best_solution"] == [1.0, 2.0] and logs == "hi"
    # The generators' words, sent as base64, are kept as numbers (what a continuation's spec carries).
    assert result["random_state"] == {"numpy": ["MT19937", [7] * 624, 624, 0, 0.0],
                                      "python": [3, [5] * 624 + [624], None]}


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
    {"random_state": {"numpy": ["MT19937", words([7] * 623), 624, 0, 0.0], "python": [3, words([5] * 624 + [624]), None]}},
    {"random_state": {"numpy": ["MT19937", words([7] * 624), 624, 0, 0.0], "python": [3, words([5] * 624 + [625]), None]}},
    {"random_state": {"numpy": ["MT19937", [2 ** 32] * 624, 624, 0, 0.0], "python": [3, [5] * 624 + [624], None]}},
    {"random_state": {"numpy": ["MT19937", words([7] * 624)[:-4], 624, 0, 0.0],
                      "python": [3, words([5] * 624 + [624]), None]}},
    {"random_state": {"numpy": ["MT19937", words([7] * 624)[:-4] + "!!!!", 624, 0, 0.0],
                      "python": [3, words([5] * 624 + [624]), None]}},
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


@pytest.mark.parametrize("change", [
    {"population": [[1.0, 2.0]]},  # shorter than sol_per_pop: no state to resume from
    {"last_generation_fitness": [3.0]},
    {"best_solution_fitness": [[1.0, 2.0]]},  # nested fitness
    {"best_solution_fitness": [1.0] * 65},  # more objectives than allowed
    {"best_solution_fitness": []},
    {"best_solution": [2 ** 53 + 1, 1.0]},
])
def test_it_refuses_results_out_of_schema(change):
    with pytest.raises(MalformedReport):
        check_result(dict(GOOD, **change), PARAMS)


def test_it_refuses_integers_beyond_2_53_while_parsing():
    with pytest.raises(MalformedReport):
        parse_line(b'{"type": "progress", "x": ' + b"9" * 5000 + b"}")
    assert parse_line(b'{"type": "progress", "x": 9007199254740992}')["x"] == 2 ** 53


def test_job_strings_come_out_as_valid_utf8():
    error, logs = check_error({"type": "error", "error": {"code": "fitness_error", "message": "a\ud800b"},
                               "logs": "\udfff" * 3 + "\U0001F600"})
    assert error["message"] == "a\ufffdb" and logs == "\ufffd" * 3 + "\U0001F600"
    (error["message"] + logs).encode("utf-8")
