"""The whole path over HTTP against a real server: submit, run in the zygote's child, poll, read."""
import json

import numpy
import pygad
import pytest
import requests

from conftest import OVERVIEW_BODY
from openapi_check import path_item


def test_the_overview_example_runs_to_a_result(live_server, api_user):
    response = requests.post(live_server.api + "/submissions", data=OVERVIEW_BODY, timeout=30,
                             headers={"Authorization": f"Bearer {api_user.key}", "Content-Type": "application/json"})
    assert response.status_code == 202
    accepted = response.json()
    assert set(accepted) == {"id", "status", "status_url", "result_url", "created_at", "credits_reserved",
                             "credits_estimate"}
    assert accepted["credits_estimate"] is None  # nothing to estimate from yet
    assert accepted["status"] == "queued"
    # PUBLIC_URL is not set: the URLs name the port this server listens on
    assert accepted["status_url"] == f"{live_server.api}/submissions/{accepted['id']}"
    assert accepted["result_url"] == f"{live_server.api}/results?submission_id={accepted['id']}"
    assert response.headers["Location"] == accepted["status_url"]
    assert response.headers["X-Request-Id"]

    submission = api_user.wait(accepted["id"])
    assert submission["status"] == "succeeded", submission
    assert submission["name"] == "smoke test"
    assert submission["progress"]["generations_completed"] == 10
    assert submission["params"]["num_generations"] == 10
    assert submission["params"]["parent_selection_type"] == "sss"  # PyGAD's default, stored
    assert submission["versions"]["pygad"] == pygad.__version__
    assert submission["usage"]["cpu_seconds"] > 0
    assert submission["credits_charged"] >= 0.01
    assert "fitness_func" not in submission

    results = api_user.get("/results", params={"submission_id": accepted["id"]}).json()
    assert [r["submission_id"] for r in results["data"]] == [accepted["id"]]
    result = api_user.get(f"/results/{results['data'][0]['id']}").json()
    assert len(result["best_solution"]) == 3
    assert len(result["best_fitness_per_generation"]) == 11  # the initial population and ten generations
    assert result["best_solution_fitness"] == result["best_fitness_per_generation"][-1]
    assert len(result["population"]) == 4 and len(result["last_generation_fitness"]) == 4

    csv = api_user.get(f"/results/{result['id']}", params={"format": "csv"})
    assert csv.headers["Content-Type"].startswith("text/csv")
    assert csv.text.splitlines()[0] == "generation,best_fitness,mean_fitness"
    assert len(csv.text.splitlines()) == 12
    rows = [line.split(",") for line in csv.text.splitlines()[1:]]
    assert [float(row[2]) for row in rows] == pytest.approx(result["mean_fitness_per_generation"])


def test_it_returns_the_fitness_source_only_when_asked(api_user):
    source = "def fitness_func(ga, sol, idx):\n    return float(sol[0])\n"
    accepted = api_user.submit(source)
    plain = api_user.get(f"/submissions/{accepted['id']}").json()
    assert "fitness_func" not in plain
    included = api_user.get(f"/submissions/{accepted['id']}", params={"include": "fitness_func"}).json()
    assert included["fitness_func"] == source


@pytest.mark.parametrize("params", [
    {"parent_selection_type": "sss"},
    {"parent_selection_type": "tournament", "K_tournament": 3, "crossover_type": "two_points"},
    {"parent_selection_type": "rws", "mutation_type": "swap", "keep_elitism": 2},
    {"parent_selection_type": "rank", "crossover_type": "uniform", "gene_type": "int",
     "init_range_low": 0, "init_range_high": 10},
    {"parent_selection_type": "sus", "gene_space": {"low": -2, "high": 2}, "mutation_probability": 0.2},
])
def test_a_seeded_result_equals_plain_pygad_bit_for_bit(api_user, params):
    source = "import numpy\ndef fitness_func(ga, sol, idx):\n    return float(-numpy.sum((sol - 0.5) ** 2))\n"
    base = {"num_generations": 30, "sol_per_pop": 10, "num_genes": 4, "num_parents_mating": 4,
            "random_seed": 1234}
    submission = api_user.run(source, **dict(base, **params))
    assert submission["status"] == "succeeded", submission
    result = api_user.get("/results", params={"submission_id": submission["id"]}).json()["data"][0]

    gene_type = int if params.get("gene_type") == "int" else float
    kwargs = {k: v for k, v in dict(base, **params).items() if k != "gene_type"}
    namespace = {}
    exec(source, namespace)
    ga = pygad.GA(**kwargs, gene_type=gene_type, fitness_func=namespace["fitness_func"], suppress_warnings=True)
    ga.run()
    solution, fitness, index = ga.best_solution(ga.last_generation_fitness)
    assert result["best_solution"] == solution.tolist()
    assert result["best_solution_fitness"] == fitness
    assert result["best_solution_idx"] == index
    assert result["best_fitness_per_generation"] == [float(f) for f in ga.best_solutions_fitness]
    assert result["population"] == ga.population.tolist()


def test_a_raising_fitness_function_fails_with_its_own_traceback(api_user):
    source = "def helper(x):\n    return 1 / x\n\ndef fitness_func(ga, sol, idx):\n    return helper(0)\n"
    submission = api_user.run(source)
    assert submission["status"] == "failed"
    error = submission["error"]
    assert error["code"] == "fitness_error"
    assert "ZeroDivisionError: division by zero" in error["message"]
    assert 'File "<fitness_func>", line 5, in fitness_func' in error["traceback"]
    assert 'File "<fitness_func>", line 2, in helper' in error["traceback"]
    assert "pygad" not in error["traceback"] and "vilvik" not in error["traceback"]
    assert api_user.get("/results", params={"submission_id": submission["id"]}).json()["data"] == []


@pytest.mark.parametrize("returned", ["'high'", "float('nan')", "float('inf')", "None", "[]", "{'a': 1}"])
def test_a_fitness_that_is_not_a_finite_number_fails_with_invalid_fitness(api_user, returned):
    submission = api_user.run(f"def fitness_func(ga, sol, idx):\n    return {returned}\n")
    assert submission["status"] == "failed"
    assert submission["error"]["code"] == "invalid_fitness", submission["error"]


def test_a_run_over_its_wall_limit_fails_with_timeout(api_user):
    source = "import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(30)\n    return 1.0\n"
    submission = api_user.run(source, limits={"wall_seconds": 1})
    assert submission["status"] == "failed"
    assert submission["error"]["code"] == "timeout"
    assert "wall-clock" in submission["error"]["message"]
    assert 0.9 < submission["usage"]["wall_seconds"] < 10


def test_a_run_over_its_cpu_limit_fails_with_timeout(api_user):
    source = ("import signal\nsignal.signal(signal.SIGXCPU, signal.SIG_IGN)\n"
              "def fitness_func(ga, sol, idx):\n    while True:\n        pass\n")
    submission = api_user.run(source, limits={"cpu_seconds": 1, "wall_seconds": 20})
    assert submission["status"] == "failed"
    assert submission["error"]["code"] == "timeout"
    assert "CPU" in submission["error"]["message"]
    # Killed at its limit; the jail's few milliseconds before the job's code count against it, uncharged.
    assert 0.9 <= submission["usage"]["cpu_seconds"] <= 1.1


def test_it_records_progress_while_the_run_goes(api_user):
    source = "import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(0.01)\n    return float(sum(sol))\n"
    accepted = api_user.submit(source, num_generations=40, sol_per_pop=4)
    seen = set()
    while True:
        submission = api_user.get(f"/submissions/{accepted['id']}").json()
        seen.add(submission["progress"]["generations_completed"])
        if submission["status"] in ("succeeded", "failed"):
            break
    assert submission["status"] == "succeeded"
    assert len(seen - {0, 40}) >= 2, seen  # intermediate generations were visible
    assert submission["progress"]["best_fitness"] is not None


def test_what_the_run_prints_is_kept_as_its_logs(api_user):
    source = "print('hello from the fitness module')\ndef fitness_func(ga, sol, idx):\n    return 1.0\n"
    submission = api_user.run(source)
    assert submission["status"] == "succeeded"
    assert "hello from the fitness module" in submission["logs"]


def test_numpys_global_generator_draws_new_numbers_in_every_run_unless_the_code_seeds_it(api_user):
    # Every run is a fork of one process that imported numpy: its global generator must not be shared.
    draws = "print(repr(float(numpy.random.random())))\ndef fitness_func(ga, sol, idx):\n    return 1.0\n"
    unseeded = [api_user.run("import numpy\n" + draws)["logs"] for _ in range(3)]
    assert len(set(unseeded)) == 3, unseeded
    seeded = [api_user.run("import numpy\nnumpy.random.seed(5)\n" + draws)["logs"] for _ in range(2)]
    assert seeded[0] == seeded[1], seeded


def test_health_reports_the_queue_and_the_sandbox(live_server):
    health = requests.get(live_server.api + "/health", timeout=10).json()
    assert health["status"] == "ok"
    assert set(health["queue"]) == {"queued", "running"}
    assert health["sandbox"]["mode"] in ("full", "degraded")


def test_the_playground_and_its_assets_are_served_locally(live_server):
    page = requests.get(live_server.api + "/docs", timeout=10)
    assert page.status_code == 200
    assert "/api/v1/docs/assets/swagger-ui-bundle.js" in page.text
    asset = requests.get(live_server.api + "/docs/assets/swagger-ui-bundle.js", timeout=10)
    assert asset.status_code == 200 and len(asset.content) > 100_000
    spec = requests.get(live_server.api + "/openapi.json", timeout=10).json()
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert "post" in path_item(spec, "/api/v1/submissions")
    assert path_item(spec, "/api/v1/health")["get"]["security"] == []


def test_a_body_over_the_limit_is_refused_over_the_wire(live_server, api_user):
    huge = json.dumps({"name": "x" * 300_000})
    response = api_user.session.post(live_server.api + "/submissions", data=huge, timeout=30,
                                     headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_numpy_results_survive_as_plain_json(api_user):
    source = "import numpy\ndef fitness_func(ga, sol, idx):\n    return numpy.float32(sol.sum())\n"
    submission = api_user.run(source, gene_type="float32")
    assert submission["status"] == "succeeded", submission
    result = api_user.get("/results", params={"submission_id": submission["id"]}).json()["data"][0]
    assert all(isinstance(v, float) for v in result["best_solution"])
    assert numpy.isfinite(result["best_solution_fitness"])


def test_the_logs_of_a_failed_run_show_nothing_of_the_server(api_user):
    submission = api_user.run("print('before')\ndef fitness_func(ga, sol, idx):\n    raise KeyError('gone')\n")
    assert submission["error"]["code"] == "fitness_error"
    assert "before" in submission["logs"]
    for leak in ("vilvik", "site-packages", "runner.py", "Traceback"):
        assert leak not in submission["logs"], submission["logs"]


def test_a_result_holds_the_mean_fitness_of_every_generation(api_user):
    submission = api_user.run("def fitness_func(ga, sol, idx):\n    return float(sum(sol))\n",
                              num_generations=7, random_seed=2)
    result = api_user.get("/results", params={"submission_id": submission["id"]}).json()["data"][0]
    means = result["mean_fitness_per_generation"]
    assert len(means) == len(result["best_fitness_per_generation"]) == 8
    assert means[-1] == pytest.approx(sum(result["last_generation_fitness"]) / 6)
    assert all(m <= b + 1e-9 for m, b in zip(means, result["best_fitness_per_generation"]))


def test_a_run_stopped_at_its_wall_limit_is_charged_the_cpu_it_burned(api_user):
    spin = "def fitness_func(ga, sol, idx):\n    while True:\n        pass\n"
    submission = api_user.run(spin, limits={"wall_seconds": 2, "cpu_seconds": 20})
    assert submission["error"]["code"] == "timeout"
    # The keeper reaped the payload before it went, so its spinning counts (a job not reaped
    # would show only its start-up's few hundredths); a quarter of a core over 2 s leaves room
    # for a machine busy with other work.
    assert submission["usage"]["cpu_seconds"] >= 0.25
    assert submission["credits_charged"] >= submission["usage"]["cpu_seconds"] - 0.01
