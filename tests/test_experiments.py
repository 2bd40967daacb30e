"""Experiments: accepting many seeded runs as one, cancelling and deleting them, and their statistics.

The statistics are checked against numbers computed here, independently, from the runs'
own results as GET /results shows them.
"""
import csv
import io
import json
import time

import numpy
import pygad
import pytest
from scipy import stats as scipy_stats

from conftest import SANDBOX_ALLOW_DEGRADED, Account
from test_webhooks import receiver  # noqa: F401 - the fixture
from vilvik_server import create_app
from vilvik_server.store import experiments as experiment_store
from vilvik_server.store import submissions as submission_store

API = "/api/v1"
SOURCE = "import numpy\ndef fitness_func(ga, sol, idx):\n    return float(-numpy.sum((sol - 0.5) ** 2))\n"
BASE = {"num_generations": 12, "sol_per_pop": 8, "num_genes": 3, "num_parents_mating": 4, "fitness_func": SOURCE}


def create(client, account, body, **headers):
    return client.post(f"{API}/experiments", json=body, headers={**account.headers, **headers})


def accepted(client, account, body):
    response = create(client, account, body)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def runs_of(client, account, experiment_id):
    found, url = [], f"{API}/submissions?experiment_id={experiment_id}&limit=100"
    while url:
        page = client.get(url, headers=account.headers).get_json()
        found += page["data"]
        url = page["next_url"] and page["next_url"].split("127.0.0.1:5000", 1)[1]
    return found


def counted(app, sql, *args):
    return app.extensions["vilvik"].db.connection().execute(sql, args).fetchone()[0]


def make_app(tmp_path, monkeypatch, **settings):
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    return create_app({"WORKERS": 0, "LOG_LEVEL": "WARNING", "MAX_CPU_SECONDS": 1, **settings})


# -- accepting -------------------------------------------------------------------------------------

def test_it_accepts_every_grid_cell_times_every_seed_as_ordinary_queued_submissions(client, owner):
    body = accepted(client, owner, {"name": "rates", "base": BASE, "seeds": [11, 22, 33],
                                    "grid": {"mutation_probability": [0.05, 0.2]}})
    assert body["object"] == "experiment" and body["status"] == "queued"
    assert body["runs_total"] == 6 and body["seeds"] == [11, 22, 33]
    assert body["credits_reserved"] == 6.0  # MAX_CPU_SECONDS 1 at 1 credit per CPU second, per run
    assert body["status_url"].endswith(f"/api/v1/experiments/{body['id']}")
    runs = runs_of(client, owner, body["id"])
    assert sorted((r["params"]["mutation_probability"], r["params"]["random_seed"]) for r in runs) == \
        [(0.05, 11), (0.05, 22), (0.05, 33), (0.2, 11), (0.2, 22), (0.2, 33)]
    assert {r["status"] for r in runs} == {"queued"} and {r["experiment_id"] for r in runs} == {body["id"]}
    assert all(r["params"]["num_generations"] == 12 for r in runs)
    shown = client.get(f"{API}/experiments/{body['id']}", headers=owner.headers).get_json()
    assert shown["status"] == "queued" and shown["counts"]["queued"] == 6
    assert shown["cells"] is None and shown["best"] is None


def test_repeats_derive_distinct_seeds_from_the_seed_and_list_them(client, owner):
    first = accepted(client, owner, {"base": BASE, "repeats": 5, "seed": 42})
    again = accepted(client, owner, {"base": BASE, "repeats": 5, "seed": 42})
    other = accepted(client, owner, {"base": BASE, "repeats": 5, "seed": 43})
    assert first["seeds"] == again["seeds"] and len(set(first["seeds"])) == 5
    assert other["seeds"] != first["seeds"] and first["seed"] == 42
    unseeded = accepted(client, owner, {"base": BASE, "repeats": 2})
    assert isinstance(unseeded["seed"], int)
    assert accepted(client, owner, {"base": BASE, "repeats": 2, "seed": unseeded["seed"]})["seeds"] == \
        unseeded["seeds"]


@pytest.mark.parametrize("body, field", [
    ({"base": BASE}, "seeds"),
    ({"base": BASE, "seeds": [1], "repeats": 2}, "seeds"),
    ({"base": BASE, "seeds": [1, 1]}, "seeds"),
    ({"base": BASE, "seeds": [1], "seed": 3}, "seed"),
    ({"base": BASE, "seeds": [-1]}, "seeds"),
    ({"base": dict(BASE, random_seed=3), "repeats": 2}, "base"),
    ({"base": dict(BASE, sol_per_pop=2), "repeats": 2}, "base"),
    ({"base": BASE, "repeats": 2, "grid": {"random_seed": [1, 2]}}, "grid"),
    ({"base": BASE, "repeats": 2, "grid": {"fitness_func": ["x"]}}, "grid"),
    ({"base": BASE, "repeats": 2, "grid": {"mutation_probability": []}}, "grid"),
    ({"base": BASE, "repeats": 2, "grid": {"mutation_probability": [0.1, 0.1]}}, "grid"),
])
def test_it_refuses_a_malformed_experiment_and_stores_nothing(app, client, owner, body, field):
    response = create(client, owner, body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["code"] == "validation_error"
    assert field in response.get_json()["error"]["details"]["fields"]
    assert counted(app, "SELECT count(*) FROM submissions") == 0
    assert counted(app, "SELECT count(*) FROM experiments") == 0


def test_a_misspelt_grid_parameter_is_named_with_the_one_it_is_close_to(client, owner):
    response = create(client, owner, {"base": BASE, "repeats": 2, "grid": {"mutation_probabilty": [0.1, 0.2]}})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["param"] == "grid.mutation_probabilty"
    assert "did you mean mutation_probability?" in error["message"]


def test_a_grid_value_is_validated_as_its_parameter(app, client, owner):
    response = create(client, owner, {"base": BASE, "repeats": 2, "grid": {"mutation_probability": [0.1, 1.5]}})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["details"]["fields"]["grid"]["mutation_probability"] == {"1": ["must be >= 0 and <= 1"]}
    assert "grid.mutation_probability.1" in error["message"]
    assert counted(app, "SELECT count(*) FROM submissions") == 0


def test_every_grid_cell_is_validated_as_a_whole_run_before_anything_is_stored(app, client, owner):
    response = create(client, owner, {"base": BASE, "repeats": 2, "grid": {"num_parents_mating": [2, 9]}})
    assert response.status_code == 422
    problems = response.get_json()["error"]["details"]["fields"]["grid"]["num_parents_mating"]
    assert problems == ["must be <= sol_per_pop (8) (in the grid cell num_parents_mating=9)"]
    assert counted(app, "SELECT count(*) FROM submissions") == 0


def test_a_base_with_a_fitness_source_that_does_not_compile_is_refused(client, owner):
    response = create(client, owner, {"base": dict(BASE, fitness_func="def f(:\n"), "repeats": 2})
    assert response.status_code == 422 and response.get_json()["error"]["code"] == "validation_error"


def test_more_runs_than_max_experiment_runs_is_quota_exceeded_naming_the_setting(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, MAX_EXPERIMENT_RUNS=10)
    client, owner = app.test_client(), Account(app, "quota@example.com")
    response = create(client, owner, {"base": BASE, "repeats": 4, "grid": {"keep_elitism": [0, 1, 2]}})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "quota_exceeded" and "MAX_EXPERIMENT_RUNS" in error["message"]
    assert error["details"] == {"quota": "MAX_EXPERIMENT_RUNS", "limit": 10, "requested": 12}
    assert error["message"].startswith("this experiment has 12 runs (3 grid cells x 4 seeds);")
    one_cell = create(client, owner, {"base": BASE, "repeats": 11}).get_json()["error"]
    assert one_cell["message"].startswith("this experiment has 11 runs (1 grid cell x 11 seeds);")
    assert accepted(client, owner, {"base": BASE, "repeats": 5, "grid": {"keep_elitism": [0, 1]}})["runs_total"] == 10
    assert client.get(f"{API}/account", headers=owner.headers).get_json()["limits"]["runs_per_experiment"] == 10


def test_every_runs_credits_are_reserved_at_accept_or_nothing_is_created(app, client, owner):
    response = create(client, owner, {"base": BASE, "repeats": 101})  # 101 runs x 1 credit; 100 available
    assert response.status_code == 402
    assert response.get_json()["error"]["details"] == {"available": 100.0, "required": 101.0}
    assert response.get_json()["error"]["message"] == (
        "this experiment's 101 runs may use 1 CPU second each, which reserves 1.0 credits per run and 101.0 for "
        "all 101; 100.0 are available (run at most 100 runs to fit)")
    assert counted(app, "SELECT count(*) FROM submissions") == 0
    assert counted(app, "SELECT count(*) FROM credit_ledger WHERE kind = 'reserve'") == 0
    body = accepted(client, owner, {"base": BASE, "repeats": 100})
    assert body["credits_reserved"] == 100.0
    credits = client.get(f"{API}/account", headers=owner.headers).get_json()["credits"]
    assert credits == {"balance": 100.0, "reserved": 100.0, "available": 0.0}
    ledger = counted(app, "SELECT count(DISTINCT submission_id) FROM credit_ledger WHERE kind = 'reserve'"
                          " AND amount_micros = -1000000")
    assert ledger == 100
    assert counted(app, "SELECT min(balance_after_micros) FROM credit_ledger") == 0


def test_an_experiments_queued_runs_count_once_against_max_queued(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch, MAX_QUEUED=2)
    client, owner = app.test_client(), Account(app, "queue@example.com")
    accepted(client, owner, {"base": BASE, "repeats": 20})
    plain = client.post(f"{API}/submissions", json=BASE, headers=owner.headers)
    assert plain.status_code == 202
    for refused in (create(client, owner, {"base": BASE, "repeats": 2}),
                    client.post(f"{API}/submissions", json=BASE, headers=owner.headers)):
        assert refused.status_code == 429 and refused.get_json()["error"]["code"] == "concurrency_limit"
        assert refused.get_json()["error"]["details"] == {"queued": 2, "max_queued": 2}


def test_a_retried_post_with_the_same_idempotency_key_creates_one_experiment(app, client, owner):
    body = {"base": BASE, "repeats": 3}
    first = create(client, owner, body, **{"Idempotency-Key": "exp-1"})
    again = create(client, owner, body, **{"Idempotency-Key": "exp-1"})
    assert first.status_code == again.status_code == 202
    assert again.headers["Idempotent-Replayed"] == "true" and again.get_json() == first.get_json()
    assert counted(app, "SELECT count(*) FROM submissions") == 3
    other = create(client, owner, dict(body, repeats=4), **{"Idempotency-Key": "exp-1"})
    assert other.status_code == 422 and other.get_json()["error"]["code"] == "idempotency_conflict"


def test_a_200_run_experiment_is_accepted_in_well_under_a_second(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch)
    client, owner = app.test_client(), Account(app, "big@example.com", credits=1000)
    grid = {"mutation_probability": [round(0.01 * i, 2) for i in range(1, 21)]}
    create(client, owner, {"base": BASE, "repeats": 1})  # warm-up: imports, first connection
    timings = []
    for _ in range(3):  # the machine is shared: the best of a few is what the code costs
        started = time.perf_counter()
        response = create(client, owner, {"base": BASE, "repeats": 10, "grid": grid})
        timings.append(time.perf_counter() - started)
        assert response.status_code == 202 and response.get_json()["runs_total"] == 200
    assert min(timings) < 0.5, timings


def test_a_quick_base_runs_the_builders_job_in_every_cell(client, owner):
    body = accepted(client, owner, {"base": {"type": "quick", "problem": "sphere", "num_generations": 5},
                                    "seeds": [1, 2], "grid": {"mutation_probability": [0.1, 0.2]}})
    runs = runs_of(client, owner, body["id"])
    assert {r["type"] for r in runs} == {"quick"} and {r["problem"] for r in runs} == {"sphere"}
    assert sorted(r["params"]["mutation_probability"] for r in runs) == [0.1, 0.1, 0.2, 0.2]
    assert {r["params"]["num_generations"] for r in runs} == {5}


def test_experiments_need_the_submissions_scopes(app, client):
    reader = Account(app, "reader@example.com", scopes=["submissions:read"])
    response = create(client, reader, {"base": BASE, "repeats": 2})
    assert response.status_code == 403 and "submissions:write" in response.get_json()["error"]["message"]
    assert client.get(f"{API}/experiments", headers=reader.headers).status_code == 200


def test_another_accounts_experiment_is_not_found(client, owner, stranger):
    body = accepted(client, owner, {"base": BASE, "repeats": 2})
    for method, path in (("get", ""), ("get", "/history"), ("post", "/cancel"), ("delete", "")):
        response = getattr(client, method)(f"{API}/experiments/{body['id']}{path}", headers=stranger.headers)
        assert response.status_code == 404, (method, path)
    assert client.get(f"{API}/experiments", headers=stranger.headers).get_json()["data"] == []
    assert runs_of(client, stranger, body["id"]) == []


def test_experiments_are_listed_newest_first_with_a_cursor(client, owner):
    ids = [accepted(client, owner, {"name": f"e{i}", "base": BASE, "repeats": 1})["id"] for i in range(3)]
    first = client.get(f"{API}/experiments?limit=2", headers=owner.headers).get_json()
    assert [e["id"] for e in first["data"]] == ids[:0:-1] and first["has_more"]
    rest = client.get(f"{API}/experiments?limit=2&cursor={first['next_cursor']}", headers=owner.headers).get_json()
    assert [e["id"] for e in rest["data"]] == ids[:1] and not rest["has_more"]
    assert first["data"][0]["counts"]["queued"] == 1 and first["data"][0]["status"] == "queued"


# -- cancelling and deleting -----------------------------------------------------------------------

def test_cancelling_releases_every_queued_runs_credits_and_deleting_keeps_the_ledger(app, client, owner):
    body = accepted(client, owner, {"base": BASE, "repeats": 4, "grid": {"keep_elitism": [1, 2]}})
    path = f"{API}/experiments/{body['id']}"
    assert client.delete(path, headers=owner.headers).status_code == 409
    cancelled = client.post(f"{path}/cancel", headers=owner.headers)
    assert cancelled.status_code == 200
    shown = cancelled.get_json()
    assert shown["status"] == "cancelled" and shown["counts"]["cancelled"] == 8 and shown["finished_at"]
    assert client.get(f"{API}/account", headers=owner.headers).get_json()["credits"]["available"] == 100.0
    assert client.post(f"{path}/cancel", headers=owner.headers).get_json()["status"] == "cancelled"
    run_id = runs_of(client, owner, body["id"])[0]["id"]
    refused = client.delete(f"{API}/submissions/{run_id}", headers=owner.headers)
    assert refused.status_code == 409 and refused.get_json()["error"]["details"]["experiment_id"] == body["id"]
    events = client.get(f"{API}/events?type=experiment.completed", headers=owner.headers).get_json()["data"]
    assert len(events) == 1 and events[0]["data"]["experiment"]["counts"]["cancelled"] == 8
    ledger_rows = counted(app, "SELECT count(*) FROM credit_ledger")
    assert client.delete(path, headers=owner.headers).status_code == 204
    assert client.get(path, headers=owner.headers).status_code == 404
    assert counted(app, "SELECT count(*) FROM submissions") == 0
    assert counted(app, "SELECT count(*) FROM experiment_runs") == 0
    assert counted(app, "SELECT count(*) FROM credit_ledger") == ledger_rows == 1 + 8 + 8


# -- webhooks -----------------------------------------------------------------------------------------

def test_experiment_completed_is_signed_and_sent_once_to_endpoints_and_the_bases_webhook_url(
        tmp_path, monkeypatch, receiver):
    from test_webhooks import create_endpoint, make_app, send_all, verify

    app = make_app(tmp_path, monkeypatch, WEBHOOK_RETRY_SCHEDULE="0,0,0")
    client, owner = app.test_client(), Account(app, "hooks@example.com")
    subscribed, everything, one_off = receiver(), receiver(), receiver()
    only = create_endpoint(client, owner, subscribed.url, events=["experiment.completed"])
    create_endpoint(client, owner, everything.url)
    body = accepted(client, owner, {"base": dict(BASE, webhook_url=one_off.url), "repeats": 3})
    cancelled = client.post(f"{API}/experiments/{body['id']}/cancel", headers=owner.headers).get_json()
    client.post(f"{API}/experiments/{body['id']}/cancel", headers=owner.headers)  # again: no second event
    send_all(app)
    (request,) = subscribed.received
    event = verify(only["secret"], request)
    assert event["type"] == "experiment.completed"
    assert event["data"]["experiment"]["id"] == body["id"]
    assert event["data"]["experiment"]["counts"] == cancelled["counts"] == {
        "queued": 0, "running": 0, "succeeded": 0, "failed": 0, "cancelled": 3}
    types = [json.loads(r["body"])["type"] for r in everything.received]
    assert types.count("experiment.completed") == 1 and types.count("submission.cancelled") == 3
    # The base's one-off webhook gets it too, signed with the account's default secret.
    secret = client.get(f"{API}/webhooks/default/secret", headers=owner.headers).get_json()["secret"]
    sent = [verify(secret, r) for r in one_off.received]
    assert [e["type"] for e in sent].count("experiment.completed") == 1


# -- running: statistics against the runs' own results -----------------------------------------

@pytest.fixture
def burst(tmp_path, monkeypatch):
    """An app with an executor that runs the queue synchronously in the sandbox (run_until_idle)."""
    monkeypatch.setenv("VILVIK_INSTANCE_PATH", str(tmp_path / "instance"))
    app = create_app({"WORKERS": 1, "LOG_LEVEL": "WARNING", "MAX_CPU_SECONDS": 5,
                      "SANDBOX_ALLOW_DEGRADED": SANDBOX_ALLOW_DEGRADED})
    executor = app.extensions["vilvik"].executor
    executor.start(dispatch=False)
    yield app
    executor.stop(grace=0)


def run_experiment(app, account, body):
    client = app.test_client()
    created = accepted(client, account, body)
    app.extensions["vilvik"].executor.run_until_idle()
    shown = client.get(f"{API}/experiments/{created['id']}", headers=account.headers).get_json()
    history = client.get(f"{API}/experiments/{created['id']}/history", headers=account.headers).get_json()
    return created, shown, history


def results_by_cell(app, account, experiment):
    """{cell index: [(run, result)]} read from the ordinary submission and result endpoints."""
    client = app.test_client()
    cells = [c["params"] for c in experiment["cells"]]
    found = {i: [] for i in range(len(cells))}
    for run in runs_of(client, account, experiment["id"]):
        cell = cells.index({name: run["params"][name] for name in experiment["grid"]})
        results = client.get(f"{API}/results?submission_id={run['id']}", headers=account.headers).get_json()["data"]
        found[cell].append((run, results[0] if results else None))
    return found


def test_cells_best_run_and_history_match_statistics_computed_from_the_runs_results(burst):
    owner = Account(burst, "stats@example.com")
    grid = {"mutation_probability": [0.02, 0.3]}
    created, experiment, history = run_experiment(burst, owner, {"base": BASE, "repeats": 5, "seed": 3,
                                                                 "grid": grid})
    assert experiment["status"] == "finished" and experiment["counts"]["succeeded"] == 10
    by_cell = results_by_cell(burst, owner, experiment)
    samples = {i: numpy.array([r["best_solution_fitness"] for _, r in pairs]) for i, pairs in by_cell.items()}
    medians = {i: numpy.percentile(s, 50) for i, s in samples.items()}
    top = max(medians, key=lambda i: (medians[i], samples[i].mean()))
    for index, cell in enumerate(experiment["cells"]):
        sample = samples[index]
        assert cell["params"] == {"mutation_probability": grid["mutation_probability"][index]}
        assert cell["runs"] == cell["succeeded"] == 5
        assert cell["best_fitness"] == pytest.approx({
            "mean": sample.mean(), "std": sample.std(ddof=1), "min": sample.min(), "max": sample.max(),
            "p10": numpy.percentile(sample, 10), "p50": numpy.percentile(sample, 50),
            "p90": numpy.percentile(sample, 90)}, rel=1e-12)
        generations = [r["generations_completed"] for _, r in by_cell[index]]
        assert cell["generations_completed"] == {"mean": numpy.mean(generations), "p50": numpy.median(generations)}
        assert cell["rank"] == (1 if index == top else 2)
        expected_p = None if index == top else \
            scipy_stats.mannwhitneyu(sample, samples[top], alternative="two-sided").pvalue
        assert cell["p_value"] == pytest.approx(expected_p)
    everything = [pair for pairs in by_cell.values() for pair in pairs]
    best_run, best_result = max(everything, key=lambda pair: pair[1]["best_solution_fitness"])
    assert experiment["best"]["submission_id"] == best_run["id"]
    assert experiment["best"]["best_solution"] == best_result["best_solution"]
    assert experiment["best"]["best_solution_fitness"] == best_result["best_solution_fitness"]
    assert experiment["best"]["params"] == {"mutation_probability": best_run["params"]["mutation_probability"]}
    assert experiment["credits_charged"] == pytest.approx(sum(run["credits_charged"] for run, _ in everything))
    for index, cell in enumerate(history["cells"]):
        so_far = numpy.array([numpy.maximum.accumulate(r["best_fitness_per_generation"]) for _, r in by_cell[index]])
        assert cell["runs"] == 5 and len(cell["generations"]) == BASE["num_generations"] + 1
        assert [g["p50"] for g in cell["generations"]] == pytest.approx(numpy.percentile(so_far, 50, axis=0))
        assert [g["p10"] for g in cell["generations"]] == pytest.approx(numpy.percentile(so_far, 10, axis=0))
        assert [g["p90"] for g in cell["generations"]] == pytest.approx(numpy.percentile(so_far, 90, axis=0))
        assert [g["mean"] for g in cell["generations"]] == pytest.approx(so_far.mean(axis=0))
    csv_text = burst.test_client().get(f"{API}/experiments/{created['id']}/history?format=csv",
                                       headers=owner.headers)
    assert csv_text.mimetype == "text/csv"
    assert csv_text.get_data(as_text=True).count("\r\n") == 1 + 2 * (BASE["num_generations"] + 1)  # RFC 4180
    rows = list(csv.DictReader(io.StringIO(csv_text.get_data(as_text=True))))
    assert len(rows) == 2 * (BASE["num_generations"] + 1)
    assert rows[0].keys() == {"cell", "mutation_probability", "generation", "runs", "mean", "p10", "p50", "p90"}
    assert float(rows[-1]["p50"]) == pytest.approx(history["cells"][1]["generations"][-1]["p50"])


def test_explicit_seeds_reproduce_cells_and_history_and_each_run_is_plain_pygad(burst):
    owner = Account(burst, "again@example.com")
    body = {"base": BASE, "seeds": [5, 6, 7], "grid": {"crossover_type": ["single_point", "uniform"]}}
    _, first, first_history = run_experiment(burst, owner, body)
    _, second, second_history = run_experiment(burst, owner, body)
    assert first["cells"] == second["cells"] and first_history["cells"] == second_history["cells"]
    assert first["best"]["best_solution"] == second["best"]["best_solution"]
    run, result = results_by_cell(burst, owner, first)[1][0]
    namespace = {}
    exec(SOURCE, namespace)
    kwargs = {k: v for k, v in BASE.items() if k != "fitness_func"}
    ga = pygad.GA(**kwargs, crossover_type="uniform", random_seed=run["params"]["random_seed"],
                  fitness_func=namespace["fitness_func"], suppress_warnings=True)
    ga.run()
    solution, fitness, _ = ga.best_solution(ga.last_generation_fitness)
    assert result["best_solution"] == solution.tolist() and result["best_solution_fitness"] == fitness
    assert result["best_fitness_per_generation"] == [float(f) for f in ga.best_solutions_fitness]


def test_failed_runs_are_counted_but_stay_out_of_the_statistics(burst):
    owner = Account(burst, "fails@example.com")
    source = ("def fitness_func(ga, sol, idx):\n    if ga.keep_elitism == 2:\n        raise ValueError('no')\n"
              "    return float(sum(sol))\n")
    _, experiment, history = run_experiment(burst, owner, {"base": dict(BASE, fitness_func=source),
                                                           "repeats": 2, "grid": {"keep_elitism": [1, 2]}})
    assert experiment["status"] == "finished"
    assert experiment["counts"] == {"queued": 0, "running": 0, "succeeded": 2, "failed": 2, "cancelled": 0}
    good, bad = experiment["cells"]
    assert (good["rank"], good["succeeded"], good["p_value"]) == (1, 2, None)
    assert (bad["rank"], bad["runs"], bad["succeeded"], bad["best_fitness"], bad["p_value"]) == (None, 2, 0, None, None)
    assert history["cells"][1] == {"params": {"keep_elitism": 2}, "runs": 0, "generations": []}
    events = burst.test_client().get(f"{API}/events?type=experiment.completed", headers=owner.headers).get_json()
    assert len(events["data"]) == 1
    assert events["data"][0]["data"]["experiment"]["counts"]["failed"] == 2


def test_multi_objective_runs_are_ranked_by_their_first_objective(burst):
    owner = Account(burst, "multi@example.com")
    source = "def fitness_func(ga, sol, idx):\n    return [float(sum(sol)), float(-abs(sol[0]))]\n"
    _, experiment, history = run_experiment(burst, owner, {
        "base": dict(BASE, fitness_func=source, parent_selection_type="nsga2"), "repeats": 3,
        "grid": {"init_range_high": [0.5, 4]}})
    by_cell = results_by_cell(burst, owner, experiment)
    for index, cell in enumerate(experiment["cells"]):
        firsts = numpy.array([r["best_solution_fitness"][0] for _, r in by_cell[index]])
        assert cell["best_fitness"]["p50"] == pytest.approx(numpy.percentile(firsts, 50))
    assert isinstance(experiment["best"]["best_solution_fitness"], list)
    assert len(history["cells"][0]["generations"]) == BASE["num_generations"] + 1


# -- scale -----------------------------------------------------------------------------------------

def test_reading_an_experiment_of_200_runs_of_1000_generations_stays_fast(tmp_path, monkeypatch):
    app = make_app(tmp_path, monkeypatch)
    client, owner = app.test_client(), Account(app, "fast@example.com", credits=1000)
    body = accepted(client, owner, {"base": dict(BASE, num_generations=1000), "repeats": 20,
                                    "grid": {"mutation_probability": [0.01 * i for i in range(1, 11)]}})
    db, rng = app.extensions["vilvik"].db, numpy.random.default_rng(0)
    with db.transaction() as conn:  # as if every run had ended: the numbers tracking.py stores
        for submission_id in experiment_store.run_ids(conn, body["id"], "queued"):
            conn.execute("UPDATE submissions SET status = 'succeeded' WHERE id = ?", (submission_id,))
            history = numpy.maximum.accumulate(rng.normal(size=1001).cumsum())
            experiment_store.record_run_end(conn, submission_id, best_fitness=float(history[-1]),
                                            generations_completed=1000, history=history.astype("<f8").tobytes(),
                                            best_solution=[0.1] * 3, best_solution_fitness=float(history[-1]))
    assert submission_store.queue_counts(db.connection()) == {"queued": 0, "running": 0}
    path = f"{API}/experiments/{body['id']}"
    client.get(path, headers=owner.headers)

    def fastest(url, times=3):  # the machine is shared: the best of a few is what the code costs
        best = None
        for _ in range(times):
            started = time.perf_counter()
            response = client.get(url, headers=owner.headers)
            elapsed = time.perf_counter() - started
            best = elapsed if best is None else min(best, elapsed)
        return response, best

    shown, read = fastest(path)
    history, banded = fastest(f"{path}/history")
    assert shown.status_code == history.status_code == 200
    assert len(shown.get_json()["cells"]) == 10
    assert len(json.loads(history.get_data())["cells"][0]["generations"]) == 1001
    print(f"GET experiment {read:.3f} s, GET history {banded:.3f} s")
    assert read < 0.25, f"GET experiment {read:.3f} s"
    assert banded < 1.0, f"GET history {banded:.3f} s"
