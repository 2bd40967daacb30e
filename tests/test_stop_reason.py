"""Every terminal submission says why it ended: all generations, a stop criterion (which), a cancel, a limit."""
import pytest

from vilvik_server.engine.report import MalformedReport, check_result
from test_report import GOOD, PARAMS

CONSTANT = "def fitness_func(ga, sol, idx):\n    return 5.0\n"
SUM = "def fitness_func(ga, sol, idx):\n    return float(sum(sol))\n"


def test_a_run_of_all_its_generations_says_so(api_user):
    ended = api_user.run(SUM, num_generations=4)
    assert (ended["stop_reason"], ended["stop_criterion"]) == ("num_generations", None)


@pytest.mark.parametrize("criteria, fired", [
    (["reach_1000", "saturate_3"], "saturate_3"),
    ("reach_4.5", "reach_4.5"),
    (["saturate_50", "reach_5"], "reach_5"),
])
def test_a_run_ended_by_a_stop_criterion_names_the_one_that_fired(api_user, criteria, fired):
    ended = api_user.run(CONSTANT, num_generations=200, stop_criteria=criteria)
    assert ended["status"] == "succeeded"
    assert ended["progress"]["generations_completed"] < 200
    assert (ended["stop_reason"], ended["stop_criterion"]) == ("stop_criteria", fired)


def test_a_cancelled_queued_run_and_a_failed_run_say_why(api_user):
    failing = api_user.run("def fitness_func(ga, sol, idx):\n    raise ValueError('no')\n")
    assert (failing["status"], failing["stop_reason"]) == ("failed", "error")
    spin = api_user.run("def fitness_func(ga, sol, idx):\n    while True:\n        pass\n",
                        limits={"cpu_seconds": 1, "wall_seconds": 30})
    assert (spin["error"]["code"], spin["stop_reason"]) == ("timeout", "cpu_limit")


def test_a_queued_submission_has_no_stop_reason_until_it_ends(client, owner):
    body = {"num_generations": 3, "sol_per_pop": 4, "num_genes": 2, "num_parents_mating": 2, "fitness_func": SUM}
    accepted = client.post("/api/v1/submissions", json=body, headers=owner.headers).get_json()
    assert client.get(f"/api/v1/submissions/{accepted['id']}", headers=owner.headers).get_json()["stop_reason"] is None
    client.post(f"/api/v1/submissions/{accepted['id']}/cancel", headers=owner.headers)
    shown = client.get(f"/api/v1/submissions/{accepted['id']}", headers=owner.headers).get_json()
    assert (shown["status"], shown["stop_reason"]) == ("cancelled", "cancelled")


def test_the_job_may_only_name_a_criterion_of_its_own_run():
    params = dict(PARAMS, stop_criteria=["saturate_2", "reach_3"])
    result, _ = check_result(dict(GOOD, stop_criterion=1), params)
    assert result["stop_criterion"] == 1
    for forged in (2, -1, "reach_3", True):
        with pytest.raises(MalformedReport):
            check_result(dict(GOOD, stop_criterion=forged), params)
    with pytest.raises(MalformedReport):
        check_result(dict(GOOD, stop_criterion=0), PARAMS)  # a run without stop_criteria


@pytest.mark.parametrize("cpu, limit, reason", [(0.85, 1, "cpu_limit"), (0.5, 1, "wall_limit"),
                                                (9.2, 10, "cpu_limit"), (8.5, 10, "wall_limit")])
def test_a_run_killed_at_its_cpu_limit_by_the_kernels_sampled_clock_says_so(cpu, limit, reason):
    # The kernel kills at the limit by a clock sampled at each tick; the exact CPU time reported
    # came out a few percent below it on a busy machine (0.93 s of 1), and the run was called
    # "killed by SIGKILL" (fitness_error) and stopped at its wall limit.
    from vilvik_server.domain import stop_reason
    from vilvik_server.engine import job

    error = job._signal_error(9, {"cpu_seconds": cpu, "signal": None, "exit_code": 137}, {"cpu_seconds": limit})
    assert error["code"] == ("timeout" if reason == "cpu_limit" else "fitness_error"), error
    assert stop_reason.of_outcome("failed", {"code": "timeout"}, None, {}, {"cpu_seconds": cpu},
                                  {"cpu_seconds": limit}) == (reason, None)
