"""The website's experiment pages: the repeat form on any submission, the list, one experiment's page."""
import html
import re

from vilvik_server.experiments import tracking
from vilvik_server.store import experiments as experiment_store

from test_web_support import finish, log_in, post, submit, web_owner  # noqa: F401

API = "/api/v1"


def start(client, account, **body):
    body.setdefault("base", {"num_generations": 2, "num_parents_mating": 2, "sol_per_pop": 4, "num_genes": 3,
                             "fitness_func": "def fitness_func(ga, sol, idx):\n    return sum(sol)\n"})
    response = client.post(f"{API}/experiments", json=body, headers=account.headers)
    assert response.status_code == 202, response.get_json()
    return response.get_json()


def end_every_run(app, experiment_id, histories):
    """End the experiment's runs in order, each with the next history, as the executor would."""
    db = app.extensions["vilvik"].db
    run_ids = experiment_store.run_ids(db.connection(), experiment_id, "queued")
    for run_id, history in zip(run_ids, histories):
        finish(app, run_id, history=history)
        with db.transaction() as conn:
            tracking.run_ended(conn, app.extensions["vilvik"].settings, run_id)
    return run_ids


def test_the_repeat_form_starts_an_experiment_from_any_submission(app, client, web_owner):
    source = submit(app, web_owner, name="tuned run", mutation_probability=0.1)
    page = client.get(f"/submissions/{source}").get_data(as_text=True)
    assert f'href="/submissions/{source}/repeat"' in page
    form = client.get(f"/submissions/{source}/repeat").get_data(as_text=True)
    assert "Repeat this run N times" in form and 'value="tuned run repeated"' in form
    response = post(client, f"/submissions/{source}/repeat", {
        "name": "rates", "repeats": "3", "seed": "5", "grid_param_1": "mutation_probability",
        "grid_values_1": "0.05, 0.2", "grid_param_2": "", "grid_values_2": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    experiment_id = response.headers["Location"].rsplit("/", 1)[1]
    shown = client.get(f"{API}/experiments/{experiment_id}", headers=web_owner.headers).get_json()
    assert shown["runs_total"] == 6 and shown["seed"] == 5 and shown["grid"] == {"mutation_probability": [0.05, 0.2]}
    assert shown["base"]["num_generations"] == 10 and "random_seed" not in shown["base"]
    runs = client.get(f"{API}/submissions?experiment_id={experiment_id}", headers=web_owner.headers).get_json()
    source_row = client.get(f"{API}/submissions/{source}?include=fitness_func", headers=web_owner.headers).get_json()
    for run in runs["data"]:
        full = client.get(f"{API}/submissions/{run['id']}?include=fitness_func", headers=web_owner.headers).get_json()
        assert full["fitness_func"] == source_row["fitness_func"]
        assert {k: v for k, v in full["params"].items() if k not in ("random_seed", "mutation_probability")} == \
            {k: v for k, v in source_row["params"].items() if k not in ("random_seed", "mutation_probability")}
    assert "Started: experiment" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_an_experiment_of_one_run_is_counted_in_the_singular(app, client, web_owner):
    source = submit(app, web_owner)
    response = post(client, f"/submissions/{source}/repeat", {
        "repeats": "1", "grid_param_1": "", "grid_values_1": "", "grid_param_2": "", "grid_values_2": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    page = html.unescape(client.get(response.headers["Location"]).get_data(as_text=True))
    assert re.search(r"queued 1 run, which may cost up to \S+ credits? in all", page), page
    assert "1 run: 1 grid cell × 1 seed" in page and "<summary>1 run</summary>" in page


def test_the_repeat_form_says_what_is_wrong_and_starts_nothing(app, client, web_owner):
    source = submit(app, web_owner)
    response = post(client, f"/submissions/{source}/repeat", {
        "repeats": "2", "grid_param_1": "mutation_probability", "grid_values_1": "0.1, 1.5"})
    assert response.status_code == 422
    text = html.unescape(response.get_data(as_text=True))
    assert "This was not started" in text and "grid.mutation_probability.1: must be >= 0 and <= 1" in text
    response = post(client, f"/submissions/{source}/repeat", {"repeats": "500"})
    assert response.status_code == 422 and "MAX_EXPERIMENT_RUNS" in response.get_data(as_text=True)
    response = post(client, f"/submissions/{source}/repeat", {"repeats": "2", "grid_values_1": "1, 2"})
    assert response.status_code == 422 and "give both a parameter and its values" in response.get_data(as_text=True)
    assert client.get(f"{API}/experiments", headers=web_owner.headers).get_json()["data"] == []


def test_the_experiment_page_ranks_the_cells_draws_a_band_per_cell_and_links_every_run(app, client, web_owner):
    body = start(client, web_owner, name="which rate", seeds=[1, 2, 3], grid={"keep_elitism": [1, 2]})
    running = client.get(f"/experiments/{body['id']}").get_data(as_text=True)
    assert "experiment.js" in running and "Grid cells, best first" not in running
    # keep_elitism 1 gets the low histories, 2 the high ones: the second cell ranks first.
    run_ids = end_every_run(app, body["id"], [(0.0, 1.0, 1.0), (0.0, 2.0, 2.0), (0.0, 0.5, 1.5),
                                              (1.0, 4.0, 5.0), (2.0, 3.0, 6.0), (1.0, 5.0, 7.0)])
    page = client.get(f"/experiments/{body['id']}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    table = text[text.index('<table id="cells">'):text.index("</table>", text.index('<table id="cells">'))]
    rows = re.findall(r"<tr>\s*<th scope=\"row\">(\d)</th>\s*<td>(\d)</td>", table)
    assert rows == [("1", "2"), ("2", "1")]
    assert "6" in table  # the median of the keep_elitism 2 cell: best fitness 5, 6, 7
    assert "Mann–Whitney U" in text and text.count('id="p-value-note"') == 1
    assert text.count('<svg class="chart band-chart"') == 2
    assert text.count('<polygon class="band"') == 2 and text.count('<polyline class="line median"') == 2
    for run_id in run_ids:
        assert f'href="/submissions/{run_id}"' in text
    assert 'data-status="finished"' in text and "Download the bands (CSV)" in text
    csv_text = client.get(f"/experiments/{body['id']}/history.csv").get_data(as_text=True)
    assert csv_text.splitlines()[0] == "cell,keep_elitism,generation,runs,mean,p10,p50,p90"
    assert "a run of experiment" in client.get(f"/submissions/{run_ids[0]}").get_data(as_text=True)
    listing = client.get("/experiments").get_data(as_text=True)
    assert f'href="/experiments/{body["id"]}"' in listing and "6 / 6" in listing


def test_cancel_and_delete_from_the_page(app, client, web_owner, stranger):
    body = start(client, web_owner, repeats=4)
    other = app.test_client()
    log_in(other, app, stranger)
    assert other.get(f"/experiments/{body['id']}").status_code == 404
    assert other.post(f"/experiments/{body['id']}/cancel", data={"csrf_token": log_in(other, app, stranger)}) \
        .status_code == 404
    response = post(client, f"/experiments/{body['id']}/cancel")
    assert response.status_code == 302
    page = client.get(f"/experiments/{body['id']}").get_data(as_text=True)
    assert "is cancelled" in page and 'data-status="cancelled"' in page
    response = post(client, f"/experiments/{body['id']}/delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/experiments")
    assert client.get(f"/experiments/{body['id']}").status_code == 404


def test_a_quick_submission_repeats_as_the_same_quick_job(app, client, web_owner):
    response = client.post(f"{API}/submissions", json={"type": "quick", "problem": "sphere", "num_generations": 5},
                           headers=web_owner.headers)
    assert response.status_code == 202, response.get_json()
    source = client.get(f"{API}/submissions/{response.get_json()['id']}", headers=web_owner.headers).get_json()
    created = post(client, f"/submissions/{source['id']}/repeat", {"repeats": "2"})
    assert created.status_code == 302, created.get_data(as_text=True)
    experiment_id = created.headers["Location"].rsplit("/", 1)[1]
    runs = client.get(f"{API}/submissions?experiment_id={experiment_id}", headers=web_owner.headers).get_json()
    for run in runs["data"]:
        assert (run["type"], run["problem"], run["problem_params"]) == ("quick", "sphere", source["problem_params"])
        assert {k: v for k, v in run["params"].items() if k != "random_seed"} == \
            {k: v for k, v in source["params"].items() if k != "random_seed"}
