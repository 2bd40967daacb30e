"""The `vilvik` command against a real server: output for people, --json for scripts, exit codes."""
import argparse
import io
import json
import os
import subprocess
import sys

import pytest

from vilvik import cli

from .conftest import SMALL, SUM

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SLOW = "import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(0.05)\n    return float(sum(sol))\n"


@pytest.fixture
def env(live_server, api_user, monkeypatch):
    monkeypatch.setenv("VILVIK_API_KEY", api_user.key)
    monkeypatch.setenv("VILVIK_BASE_URL", live_server.api)


@pytest.fixture
def job(tmp_path):
    path = tmp_path / "job.json"
    path.write_text(json.dumps(dict(SMALL, name="cli job", fitness_func=SUM, random_seed=5)))
    return str(path)


def run(capsys, *argv):
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_submit_wait_shows_a_live_progress_line_and_exits_0(env, job, capsys):
    code, out, err = run(capsys, "submit", job, "--wait", "--progress", "--poll-interval", "0.05")
    assert code == cli.OK
    assert "generation 5/5" in err and "[########################]" in err and "\r" in err
    first = out.splitlines()[0]
    assert first.endswith(" succeeded") and "credits charged" in out


def test_submit_json_prints_the_submission_for_scripts(env, job, capsys):
    code, out, err = run(capsys, "submit", job, "--json")
    assert code == cli.OK and err == ""
    accepted = json.loads(out)
    assert accepted["status"] == "queued" and len(accepted["id"]) == 12

    code, out, _ = run(capsys, "--json", "submit", job, "--wait", "--set", "num_generations=3")
    body = json.loads(out)
    assert code == cli.OK and body["status"] == "succeeded" and body["params"]["num_generations"] == 3


def test_submit_reads_the_fitness_source_from_a_file_and_stdin_jobs(env, tmp_path, capsys, monkeypatch):
    source = tmp_path / "fitness.py"
    source.write_text("def fitness_func(ga, sol, idx):\n    return -abs(sol[0])\n")
    monkeypatch.setattr(sys, "stdin", io.StringIO(json.dumps(SMALL)))
    code, out, _ = run(capsys, "submit", "-", "--fitness-file", str(source), "--name", "from stdin", "--wait",
                       "--json", "--poll-interval", "0.05")
    body = json.loads(out)
    assert code == cli.OK and body["name"] == "from stdin" and body["status"] == "succeeded"


def test_a_failed_run_exits_1(env, tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(dict(SMALL, fitness_func="def fitness_func(g, s, i):\n    raise KeyError('x')\n")))
    code, out, _ = run(capsys, "submit", str(path), "--wait", "--poll-interval", "0.05")
    assert code == cli.RUN_FAILED
    assert "failed" in out and "fitness_error" in out and "KeyError" in out

    submission_id = out.split()[0]
    code, _, err = run(capsys, "results", submission_id)
    assert code == cli.RUN_FAILED and "failed" in err


def test_status_results_and_csv(env, job, capsys):
    code, out, _ = run(capsys, "submit", job, "--wait", "--json", "--poll-interval", "0.05")
    submission_id = json.loads(out)["id"]

    code, out, _ = run(capsys, "status", submission_id)
    assert code == cli.OK and submission_id in out and "succeeded" in out and "5/5" in out
    code, out, _ = run(capsys, "status", submission_id, "--json")
    assert json.loads(out)["id"] == submission_id

    code, out, _ = run(capsys, "results", submission_id)
    assert code == cli.OK and "best fitness" in out and "best solution" in out
    code, out, _ = run(capsys, "results", submission_id, "--json")
    result = json.loads(out)
    assert result["submission_id"] == submission_id
    code, by_result_id, _ = run(capsys, "results", result["id"], "--json")
    assert json.loads(by_result_id)["id"] == result["id"]
    code, out, _ = run(capsys, "results", submission_id, "--csv")
    assert code == cli.OK and out.splitlines()[0] == "generation,best_fitness,mean_fitness" and len(out.splitlines()) == 7


def test_cancel_and_continue(env, job, tmp_path, capsys):
    slow = tmp_path / "slow.json"
    slow.write_text(json.dumps(dict(SMALL, num_generations=400, fitness_func=SLOW)))
    code, out, _ = run(capsys, "submit", str(slow), "--json")
    code, out, _ = run(capsys, "cancel", json.loads(out)["id"])
    assert code == cli.OK and out.split() == [out.split()[0], "cancelled"]

    code, out, _ = run(capsys, "submit", job, "--wait", "--json", "--poll-interval", "0.05")
    parent = json.loads(out)["id"]
    code, _, err = run(capsys, "cancel", parent)
    assert code == cli.USAGE and "[conflict]" in err

    code, out, err = run(capsys, "continue", parent, "--generations", "2", "--wait", "--json", "--poll-interval", "0.05")
    child = json.loads(out)
    assert code == cli.OK and child["parent_id"] == parent and child["status"] == "succeeded"


def test_wait_timeout_exits_4(env, tmp_path, capsys):
    slow = tmp_path / "slow.json"
    slow.write_text(json.dumps(dict(SMALL, num_generations=400, fitness_func=SLOW)))
    code, out, _ = run(capsys, "submit", str(slow), "--wait", "--timeout", "0.3", "--cancel-on-timeout",
                       "--json", "--poll-interval", "0.05")
    assert code == cli.TIMED_OUT and json.loads(out)["status"] == "cancelled"


def test_list_and_account(env, job, capsys):
    run(capsys, "submit", job, "--name", "listed-by-cli", "--wait", "--poll-interval", "0.05")
    code, out, _ = run(capsys, "list", "--limit", "3")
    assert code == cli.OK and 1 <= len(out.splitlines()) <= 3 and "listed-by-cli" in out.splitlines()[0]
    code, out, _ = run(capsys, "list", "--status", "succeeded", "--limit", "2", "--json")
    assert [s["status"] for s in json.loads(out)] == ["succeeded", "succeeded"]

    code, out, _ = run(capsys, "account")
    assert code == cli.OK and "credits" in out and "@example.com" in out
    code, out, _ = run(capsys, "account", "--json")
    assert json.loads(out)["credits"]["balance"] > 0


def test_api_errors_exit_2_with_the_code_and_fields(env, tmp_path, capsys):
    path = tmp_path / "invalid.json"
    path.write_text(json.dumps(dict(SMALL, num_parents_mating=50, fitness_func=SUM)))
    code, out, err = run(capsys, "submit", str(path))
    assert code == cli.USAGE and out == ""
    assert "[validation_error]" in err and "num_parents_mating" in err and "(request req_" in err
    code, _, err = run(capsys, "status", "doesNotExist", "--json")
    assert code == cli.USAGE and json.loads(err)["error"]["code"] == "not_found"


def test_json_errors_carry_the_apis_param_and_doc_url(env, tmp_path, capsys):
    path = tmp_path / "invalid.json"
    path.write_text(json.dumps(dict(SMALL, num_parents_mating=50, fitness_func=SUM)))
    code, out, err = run(capsys, "--json", "submit", str(path))
    error = json.loads(err)["error"]
    assert code == cli.USAGE and out == ""
    assert error["code"] == "validation_error" and error["status"] == 422
    assert error["param"] == "num_parents_mating"
    assert error["details"]["fields"]["num_parents_mating"]
    assert error["doc_url"].endswith("/docs/errors#validation_error")
    assert error["request_id"].startswith("req_")


def test_a_nested_fields_problems_are_named_by_their_dotted_path(env, capsys):
    code, _, err = run(capsys, "submit", "--quick", "sphere", "--param", "num_dims=abc")
    assert code == cli.USAGE
    assert "  problem_params.num_dims: must be an integer" in err.splitlines()
    assert "{" not in err


def test_usage_errors_exit_2(env, tmp_path, capsys):
    assert run(capsys, "submit", str(tmp_path / "missing.json"))[0] == cli.USAGE
    (tmp_path / "list.json").write_text("[1, 2]")
    code, _, err = run(capsys, "submit", str(tmp_path / "list.json"))
    assert code == cli.USAGE and "JSON object" in err
    assert run(capsys, "submit")[0] == cli.USAGE
    with pytest.raises(SystemExit) as caught:
        cli.main(["continue", "abc"])  # --generations is required
    assert caught.value.code == cli.USAGE


def test_a_base_url_without_a_scheme_is_a_usage_error_not_an_unreachable_server(monkeypatch, capsys):
    monkeypatch.setenv("VILVIK_API_KEY", "vk_x")
    code, _, err = run(capsys, "--base-url", "127.0.0.1:5000", "account")
    assert code == cli.USAGE and "http:// or https://" in err and "Traceback" not in err


def test_every_argument_of_every_command_says_what_it_is():
    def parsers(parser):
        yield parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for sub in action.choices.values():
                    yield from parsers(sub)

    for parser in parsers(cli.build_parser()):
        for action in parser._actions:
            if not isinstance(action, argparse._SubParsersAction):
                assert action.help, f"{parser.prog}: {action.dest} has no help"


def test_an_unreachable_server_exits_3(monkeypatch, capsys):
    monkeypatch.setenv("VILVIK_API_KEY", "vk_x")
    monkeypatch.setattr("vilvik.retry.RetryPolicy.delay", lambda self, attempt, response=None: 0)
    code, _, err = run(capsys, "--base-url", "http://127.0.0.1:9", "account")
    assert code == cli.UNREACHABLE and "could not reach" in err


def test_python_dash_m_vilvik_runs_the_cli(live_server, api_user):
    env = dict(os.environ, VILVIK_API_KEY=api_user.key, VILVIK_BASE_URL=live_server.api, PYTHONPATH=REPO)
    done = subprocess.run([sys.executable, "-m", "vilvik", "account", "--json"], env=env, capture_output=True,
                          text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["object"] == "account"
    helped = subprocess.run([sys.executable, "-m", "vilvik", "--help"], env=env, capture_output=True, text=True,
                            timeout=60, cwd=REPO)
    assert "exit codes:" in helped.stdout and "submit" in helped.stdout


@pytest.mark.parametrize("argv", [["problems"], ["problems", "--json"], ["account", "--json"]])
def test_a_reader_that_stops_early_ends_the_command_quietly(live_server, api_user, argv):
    # `vilvik list | head -1`: the reader closes the pipe before the command has written.
    env = dict(os.environ, VILVIK_API_KEY=api_user.key, VILVIK_BASE_URL=live_server.api, PYTHONPATH=REPO)
    process = subprocess.Popen([sys.executable, "-m", "vilvik", *argv], env=env, cwd=REPO,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.close()
    with process.stderr:
        stderr = process.stderr.read().decode()
    assert process.wait(timeout=60) == cli.STDOUT_CLOSED == 141
    assert stderr == ""


def test_problems_lists_the_quick_catalogue(env, capsys):
    code, out, err = run(capsys, "problems", "--json")
    assert code == cli.OK and all(problem["name"] for problem in json.loads(out))


def test_submit_wait_ends_with_the_best_solution_its_fitness_and_why_it_ended(env, job, capsys):
    code, out, _ = run(capsys, "submit", job, "--wait", "--no-progress")
    assert code == cli.OK
    assert "ended: all 5 generations ran" in out
    best = [line for line in out.splitlines() if line.startswith(("best fitness", "best solution"))]
    assert len(best) == 2 and best[1].split(None, 2)[2].startswith("[")


def test_quick_without_params_runs_the_problems_example_and_prints_its_answer(env, capsys):
    code, out, err = run(capsys, "submit", "--quick", "one_max", "--set", "num_generations=20", "--wait",
                         "--no-progress")
    assert code == cli.OK, err
    assert "using one_max's example" in err
    answer = [line for line in out.splitlines() if line.startswith("answer")]
    assert answer, out
    submission_id = out.split()[0]
    code, out, _ = run(capsys, "results", submission_id)
    assert code == cli.OK and any(line.startswith("answer") for line in out.splitlines())


def test_problems_shows_each_problems_parameters_and_a_runnable_example(env, capsys):
    code, out, _ = run(capsys, "problems")
    assert code == cli.OK
    block = out.split("\n\n")[[b.split()[0] for b in out.split("\n\n")].index("subset_sum")]
    assert "  numbers (list of" in block and "  target (" in block
    assert "example: vilvik submit --quick subset_sum --param 'numbers=[267," in block


def test_each_problems_example_command_reaches_the_cli_whole_through_a_strict_shell(env, capsys, tmp_path):
    # zsh (macOS's shell) refuses an unmatched glob such as numbers=[267,493]; bash's failglob does the same.
    examples = {problem["name"]: problem["example"] for problem in json.loads(run(capsys, "--json", "problems")[1])}
    commands = [line.split("example: ", 1)[1] for line in run(capsys, "problems")[1].splitlines()
                if line.strip().startswith("example: ")]
    assert len(commands) == len(examples)
    for command in commands:
        done = subprocess.run(["bash", "-O", "failglob", "-c", f"printf '%s\\n' {command}"], cwd=tmp_path,
                              capture_output=True, text=True, timeout=30)
        assert done.returncode == 0, (command, done.stderr)
        args = cli.build_parser().parse_args(done.stdout.splitlines()[1:])  # without "vilvik"
        assert dict(args.problem_params) == examples[args.quick], command
