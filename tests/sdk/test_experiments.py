"""Experiments from the SDK and the CLI, against a real server."""
import json

import numpy
import pytest

import vilvik
from vilvik import cli
from vilvik.experiment import format_progress

from .conftest import SMALL

SOURCE = "def fitness_func(ga, sol, idx):\n    return -float(sum(x * x for x in sol))\n"


def test_create_wait_cells_and_history_rows(sdk):
    experiment = sdk.experiments.create(base=dict(SMALL, fitness_func=SOURCE), repeats=3, seed=9,
                                        grid={"mutation_probability": [0.05, 0.3]}, name="sdk")
    assert isinstance(experiment, vilvik.Experiment) and experiment.status == "queued"
    assert experiment.runs_total == 6 and len(experiment.seeds) == 3
    seen = []
    assert experiment.wait(timeout=120, poll_interval=0.1, progress=seen.append) is experiment
    assert experiment.status == "finished" and experiment.counts["succeeded"] == 6
    assert seen and seen[-1] is experiment
    cells = experiment.cells
    assert [cell.params for cell in cells] == [{"mutation_probability": 0.05}, {"mutation_probability": 0.3}]
    assert sorted(cell.rank for cell in cells) == [1, 2]
    assert experiment.ranked()[0].rank == 1 and experiment.ranked()[0].p_value is None
    assert all(isinstance(cell.median, float) for cell in cells)
    runs = list(experiment.runs())
    assert len(runs) == 6 and {run.experiment_id for run in runs} == {experiment.id}
    rows = experiment.history(dataframe=False)
    assert len(rows) == 2 * (SMALL["num_generations"] + 1)
    assert rows[0].keys() == {"cell", "mutation_probability", "generation", "runs", "mean", "p10", "p50", "p90"}
    table = experiment.table()
    assert table.splitlines()[0].split()[:3] == ["rank", "mutation_probability", "runs"]
    assert f"best run: {experiment.best['submission_id']}" in table


def test_history_is_a_dataframe_when_pandas_is_installed(sdk):
    pandas = pytest.importorskip("pandas")
    experiment = sdk.experiments.create(base=dict(SMALL, fitness_func=SOURCE), seeds=[1, 2]).wait(timeout=120)
    frame = experiment.history()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == ["cell", "generation", "runs", "mean", "p10", "p50", "p90"]
    rows = experiment.history(dataframe=False)
    assert frame["p50"].tolist() == [row["p50"] for row in rows]
    assert numpy.all(numpy.diff(frame["p50"]) >= 0)  # best so far never falls


def test_a_plain_function_is_the_base_fitness_and_cancel_updates_in_place(sdk):
    def fitness_func(ga, sol, idx):
        import time
        time.sleep(0.02)
        return float(sum(sol))

    experiment = sdk.experiments.create(fitness_func=fitness_func, repeats=40, **dict(SMALL, num_generations=50))
    assert experiment.cancel() is experiment and experiment.status == "cancelled"
    assert experiment.counts["queued"] == 0
    experiment.wait(timeout=60, poll_interval=0.1)
    experiment.delete()
    with pytest.raises(vilvik.NotFoundError):
        sdk.experiments.get(experiment.id)


def test_a_refused_experiment_raises_the_errors_class(sdk):
    with pytest.raises(vilvik.ValidationError) as caught:
        sdk.experiments.create(base=dict(SMALL, fitness_func=SOURCE), repeats=2, grid={"mutation_probability": [2]})
    assert "grid" in caught.value.details["fields"]


def test_the_progress_line_counts_runs_that_ended():
    experiment = vilvik.Experiment.from_dict({"id": "abc", "status": "running", "runs_total": 4,
                                              "counts": {"succeeded": 1, "failed": 1, "running": 2}})
    assert format_progress(experiment) == "abc [############............] 2/4 runs ended (2 running, 1 failed)  running"


@pytest.fixture
def env(live_server, api_user, monkeypatch):
    monkeypatch.setenv("VILVIK_API_KEY", api_user.key)
    monkeypatch.setenv("VILVIK_BASE_URL", live_server.api)


def test_cli_experiment_run_waits_and_ends_with_a_ranked_table(env, tmp_path, capsys):
    job = tmp_path / "job.json"
    job.write_text(json.dumps(dict(SMALL, fitness_func=SOURCE)))
    code = cli.main(["experiment", "run", str(job), "--repeats", "3", "--seed", "4",
                     "--grid", "mutation_probability=0.05,0.1,0.2", "--wait", "--poll-interval", "0.1"])
    out = capsys.readouterr().out
    assert code == cli.OK, out
    lines = out.splitlines()
    assert lines[0].endswith("finished: 9 runs (9 succeeded)")
    assert lines[1].split()[:2] == ["rank", "mutation_probability"]
    assert [line.split()[0] for line in lines[2:5]] == ["1", "2", "3"]
    assert {line.split()[1] for line in lines[2:5]} == {"0.05", "0.1", "0.2"}
    assert lines[5].startswith("best run: ")
    experiment_id = lines[0].split()[0]

    code = cli.main(["--json", "experiment", "show", experiment_id])
    shown = json.loads(capsys.readouterr().out)
    assert code == cli.OK and shown["id"] == experiment_id and len(shown["cells"]) == 3
    code = cli.main(["experiment", "list", "--limit", "1"])
    assert code == cli.OK and capsys.readouterr().out.startswith(f"{experiment_id} finished: 9 runs")
    code = cli.main(["experiment", "history", experiment_id])
    csv_lines = capsys.readouterr().out.splitlines()
    assert code == cli.OK and csv_lines[0] == "cell,mutation_probability,generation,runs,mean,p10,p50,p90"
    assert len(csv_lines) == 1 + 3 * (SMALL["num_generations"] + 1)


def test_cli_experiment_run_takes_a_submit_job_file_with_its_random_seed(env, tmp_path, capsys):
    job = tmp_path / "job.json"
    job.write_text(json.dumps(dict(SMALL, fitness_func=SOURCE, random_seed=1)))  # as `vilvik submit` takes it
    code = cli.main(["experiment", "run", str(job), "--seeds", "7,8"])
    out, err = capsys.readouterr()
    assert code == cli.OK, err
    assert "random_seed" in err and "--seeds" in err
    code = cli.main(["--json", "experiment", "show", out.split()[0]])
    shown = json.loads(capsys.readouterr().out)
    assert code == cli.OK and shown["seeds"] == [7, 8] and "random_seed" not in shown["base"]


def test_cli_grid_values_read_as_json_or_words():
    assert cli.parse_grid("mutation_probability=0.05,0.1") == ("mutation_probability", [0.05, 0.1])
    assert cli.parse_grid("crossover_type=single_point,uniform") == ("crossover_type", ["single_point", "uniform"])
    assert cli.parse_grid("mutation_probability=[0.5,0.1],[0.4,0.1]") == ("mutation_probability",
                                                                          [[0.5, 0.1], [0.4, 0.1]])
