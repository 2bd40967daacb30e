"""A worker's outcome message: what a real outcome becomes passes the control plane's checks unchanged;
anything out of shape or out of range is refused."""
import json

import pytest

from vilvik_server.engine import job, report, wire

PARAMS = {"num_generations": 5, "sol_per_pop": 4, "num_genes": 3, "stop_criteria": ["reach_10", "saturate_3"]}
LIMITS = {"cpu_seconds": 10, "wall_seconds": 20, "memory_mb": 256}
STATE = {"numpy": ["MT19937", [7] * 624, 624, 0, 0.0], "python": [3, [7] * 624 + [624], None]}
JOB_RESULT = {"type": "result", "best_solution": [0.1, 0.2, 0.3], "best_solution_fitness": 0.6,
              "best_solution_idx": 1, "best_solution_generation": 3, "generations_completed": 4,
              "best_fitness_per_generation": [0.1, 0.2, 0.3, 0.6, 0.6], "last_generation_fitness": [0.1, 0.6, 0.2, 0.3],
              "population": [[0.1, 0.2, 0.3]] * 4, "mean_fitness_per_generation": [0.1] * 5,
              "random_state": STATE, "stopped": False, "stop_criterion": 1, "logs": "hello"}


def sent(outcome):
    """The outcome as the control plane receives it: through JSON, as a worker writes it."""
    return json.loads(json.dumps(dict(wire.outcome_message(outcome, {"python": "3.11"}), type="outcome", id="x",
                                      attempt=1, worker="w")))


def test_a_real_outcome_passes_the_checks_unchanged():
    result, logs = report.check_result(JOB_RESULT, PARAMS)
    outcome = job.Outcome("succeeded", result=result, logs=logs, sandbox=["seccomp"], progress=(4, 0.6),
                          usage={"cpu_seconds": 1.25, "wall_seconds": 2.0, "peak_memory_bytes": 1 << 20})
    checked = wire.check_outcome(sent(outcome), PARAMS, LIMITS)
    assert (checked.status, checked.result, checked.logs, checked.usage, checked.sandbox, checked.progress) == \
        (outcome.status, outcome.result, outcome.logs, outcome.usage, outcome.sandbox, outcome.progress)


@pytest.mark.parametrize("change", [
    {"status": "requeue"},
    {"status": "succeeded", "result": None},
    {"status": "failed", "error": None},
    {"error": {"code": "made_up", "message": "x"}, "status": "failed"},
    {"usage": {"cpu_seconds": 10 + wire.USAGE_SLACK_SECONDS + 1}},
    {"usage": {"cpu_seconds": -1}},
    {"usage": {"cpu_seconds": 1, "credits": 5}},
    {"sandbox": ["x"] * 100},
    {"progress": [6, 1.0]},
])
def test_an_outcome_out_of_shape_or_range_is_refused(change):
    result, logs = report.check_result(JOB_RESULT, PARAMS)
    message = sent(job.Outcome("succeeded", result=result, logs=logs, usage={"cpu_seconds": 1.0}))
    message.update(change)
    with pytest.raises(wire.BadMessage):
        wire.check_outcome(message, PARAMS, LIMITS)


def test_a_result_bigger_than_the_run_is_refused():
    result, logs = report.check_result(JOB_RESULT, PARAMS)
    message = sent(job.Outcome("succeeded", result=dict(result, population=[[0.1, 0.2, 0.3]] * 50), logs=logs,
                               usage={"cpu_seconds": 1.0}))
    with pytest.raises(wire.BadMessage):
        wire.check_outcome(message, PARAMS, LIMITS)


def test_a_message_must_be_one_bounded_json_object_naming_its_run():
    with pytest.raises(wire.BadMessage):
        wire.parse(b"x" * 100, max_bytes=10)
    with pytest.raises(wire.BadMessage):
        wire.parse(b'{"type": "outcome", "id": "x", "attempt": NaN, "worker": "w"}')
    with pytest.raises(wire.BadMessage):
        wire.parse(b'{"type": "outcome", "attempt": 1, "worker": "w"}')
    assert wire.parse(b'{"type": "started", "id": "x", "attempt": 1, "worker": "w"}')["attempt"] == 1
