"""The website's submission pages: list, new (quick and custom), one submission, its actions and downloads."""
import html
import json
import sys
import types

import pytest
from marshmallow import ValidationError

from vilvik_server.store import submissions as submission_store

from test_web_support import CUSTOM_FORM, finish, post, submit, web_owner  # noqa: F401

FAKE_PROBLEM = {
    "name": "target_sum", "title": "Reach a target sum", "description": "Genes whose sum is the target.",
    "params_schema": {"type": "object", "required": ["target"], "properties": {
        "target": {"type": "number", "description": "The sum to reach."},
        "genes": {"type": "integer", "description": "How many genes."},
        "weights": {"type": "array", "description": "One weight per gene."}}},
    "defaults": {"num_generations": 20, "sol_per_pop": 8},
    "example": {"target": 10, "genes": 4, "weights": [1, 1, 1, 1]},
}


@pytest.fixture
def fake_quick(monkeypatch):
    """A one-problem catalogue standing in for vilvik_server.quick, so these tests do not depend on its problems."""
    module = types.ModuleType("vilvik_server.quick")

    def build(problem, params):
        if not isinstance(params.get("target"), (int, float)):
            raise ValidationError({"target": ["must be a number"]})
        source = f"def fitness_func(ga, sol, idx):\n    return -abs(sum(sol) - {params['target']})\n"
        return {"num_generations": 20, "sol_per_pop": 8, "num_genes": params.get("genes", 4),
                "num_parents_mating": 4}, source, "fitness_func"

    module.PROBLEMS = {"target_sum": FAKE_PROBLEM}
    module.catalogue = lambda: [FAKE_PROBLEM]
    module.build = build
    module.interpret = lambda problem, params, result: {"summary": "The genes sum to 10.0."}
    monkeypatch.setitem(sys.modules, "vilvik_server.quick", module)
    import vilvik_server

    monkeypatch.setattr(vilvik_server, "quick", module, raising=False)
    return module


def stored(app, submission_id, account):
    with app.app_context():
        return submission_store.get(app.extensions["vilvik"].db.connection(), account.id, submission_id)


def test_the_list_shows_the_accounts_submissions_newest_first(app, client, web_owner, stranger):
    first, second = submit(app, web_owner, name="first run"), submit(app, web_owner, name="second run")
    theirs = submit(app, stranger, name="their run")
    page = client.get("/submissions").get_data(as_text=True)
    assert page.index(second) < page.index(first)
    assert theirs not in page and "their run" not in page


def test_the_list_filters_by_status(app, client, web_owner):
    done, waiting = submit(app, web_owner), submit(app, web_owner)
    finish(app, done)
    page = client.get("/submissions?status=succeeded").get_data(as_text=True)
    assert done in page and waiting not in page
    assert '<option value="succeeded" selected>' in page
    assert client.get("/submissions?status=bogus").status_code == 422


def test_the_list_pages_with_the_stores_cursors(app, client, web_owner):
    ids = [submit(app, web_owner) for _ in range(27)]
    page = client.get("/submissions").get_data(as_text=True)
    assert sum(i in page for i in ids) == 25 and ids[0] not in page
    older = page.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    rest = client.get(older).get_data(as_text=True)
    assert ids[0] in rest and ids[1] in rest and ids[26] not in rest and 'rel="next"' not in rest


def test_the_custom_form_has_a_labelled_field_with_its_default_for_every_pygad_parameter(client, web_owner):
    from vilvik_server.domain.ga_params import PARAM_NAMES

    page = client.get("/submissions/new?type=custom").get_data(as_text=True)
    for name in PARAM_NAMES:
        assert f'<label for="{name}">' in page and f'id="{name}"' in page, name
    assert "default (sss)" in page and 'placeholder="-4"' in page
    assert '<textarea id="fitness_func"' in page and 'id="fitness_func_entry"' in page


def test_a_custom_submission_is_accepted_like_the_api_accepts_it(app, client, web_owner):
    response = post(client, "/submissions/new", dict(CUSTOM_FORM, mutation_type="swap", init_range_low="[0, 0, 0]",
                                                     init_range_high="[1, 1, 1]", **{"limits.cpu_seconds": "1"}))
    assert response.status_code == 302
    submission_id = response.headers["Location"].rsplit("/", 1)[1]
    row = stored(app, submission_id, web_owner)
    params = json.loads(row["params"])
    assert row["status"] == "queued" and row["name"] == "web run" and row["type"] == "custom"
    assert params["num_generations"] == 10 and params["mutation_type"] == "swap"
    assert params["init_range_low"] == [0, 0, 0] and params["parent_selection_type"] == "sss"
    assert "is queued" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_the_apis_validation_errors_are_shown_beside_their_fields(client, web_owner):
    body = dict(CUSTOM_FORM, num_parents_mating="5")
    response = post(client, "/submissions/new", body)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    api = client.post("/api/v1/submissions", headers=web_owner.headers, json={
        "num_generations": 10, "num_parents_mating": 5, "sol_per_pop": 4, "num_genes": 3,
        "fitness_func": CUSTOM_FORM["fitness_func"]}).get_json()["error"]
    assert 'id="num_parents_mating-error"' in page
    for problem in api["details"]["fields"]["num_parents_mating"]:
        assert html.escape(problem, quote=False) in page
    assert 'id="num_parents_mating" name="num_parents_mating" value="5"' in page  # the form keeps what was typed
    assert 'aria-describedby="num_parents_mating-help num_parents_mating-error"' in page


def test_a_fitness_function_that_does_not_compile_is_an_error_beside_the_code(client, web_owner):
    response = post(client, "/submissions/new", dict(CUSTOM_FORM, fitness_func="def fitness_func(:\n"))
    assert response.status_code == 422 and 'id="fitness_func-error"' in response.get_data(as_text=True)
    response = post(client, "/submissions/new", dict(CUSTOM_FORM, fitness_func_entry="missing"))
    assert response.status_code == 422 and 'id="fitness_func_entry-error"' in response.get_data(as_text=True)


def test_a_run_over_a_quota_names_the_field(client, web_owner):
    response = post(client, "/submissions/new", dict(CUSTOM_FORM, sol_per_pop="2000"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="sol_per_pop-error"' in page and "MAX_SOL_PER_POP" in page


def test_a_run_the_balance_cannot_cover_says_so(app, client):
    from conftest import Account
    from test_web_support import log_in

    poor = Account(app, "poor@example.com", credits=0)
    log_in(client, app, poor)
    response = post(client, "/submissions/new", CUSTOM_FORM)
    assert response.status_code == 402 and "0.0 are available" in response.get_data(as_text=True)


def test_the_quick_tab_lists_the_catalogue_and_prefills_the_example(client, web_owner, fake_quick):
    page = client.get("/submissions/new").get_data(as_text=True)
    assert 'aria-current="page">Quick' in page and "Reach a target sum" in page
    page = client.get("/submissions/new?type=quick&problem=target_sum").get_data(as_text=True)
    assert '<label for="problem_params.target">' in page and 'value="10"' in page
    assert "[1, 1, 1, 1]" in page and "The builder's default: 20." in page


def test_a_quick_submission_is_built_by_the_catalogue(app, client, web_owner, fake_quick):
    response = post(client, "/submissions/new", {
        "type": "quick", "problem": "target_sum", "name": "quick one", "problem_params.target": "12",
        "problem_params.genes": "5", "problem_params.weights": "[1, 2, 3, 4, 5]", "random_seed": "7"})
    assert response.status_code == 302, response.get_data(as_text=True)
    row = stored(app, response.headers["Location"].rsplit("/", 1)[1], web_owner)
    assert row["type"] == "quick" and row["problem"] == "target_sum"
    assert json.loads(row["problem_params"]) == {"target": 12, "genes": 5, "weights": [1, 2, 3, 4, 5]}
    assert json.loads(row["params"])["random_seed"] == 7 and "- 12" in row["fitness_func"]


def test_a_quick_problems_errors_are_shown_beside_its_fields(client, web_owner, fake_quick):
    response = post(client, "/submissions/new", {"type": "quick", "problem": "target_sum",
                                                 "problem_params.target": "lots"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422 and 'id="problem_params.target-error"' in page and "must be a number" in page


def test_a_queued_submission_shows_its_status_the_cancel_button_and_a_live_chart(app, client, web_owner):
    submission_id = submit(app, web_owner, name="waiting")
    page = client.get(f"/submissions/{submission_id}").get_data(as_text=True)
    assert "<h1>waiting</h1>" in page and '<span class="status queued">queued</span>' in page
    assert f'data-events-url="/submissions/{submission_id}/events"' in page
    assert 'id="live-chart"' in page and "Cancel the run" in page and "Delete" not in page
    assert "def fitness_func" in page  # the code, in a <details>


def test_a_history_spanning_the_whole_float_range_still_draws(app, client, web_owner):
    # A fitness may return any finite float: from -1.7e308 to 1.7e308 the axis' span overflowed
    # to infinity and the page failed with a 500.
    submission_id = submit(app, web_owner)
    finish(app, submission_id, history=(-1.7e308, 0.0, 1.7e308))
    response = client.get(f"/submissions/{submission_id}")
    assert response.status_code == 200
    assert '<svg class="chart" id="fitness-chart"' in response.get_data(as_text=True)


def test_a_succeeded_submission_shows_the_chart_solution_interpretation_usage_and_charge(app, client, web_owner):
    submission_id = submit(app, web_owner)
    finish(app, submission_id, history=(0.5, 1.5, 2.5, 4.0), interpretation={"summary": "Close to the target.",
                                                                              "total": 10})
    page = client.get(f"/submissions/{submission_id}").get_data(as_text=True)
    assert '<svg class="chart" id="fitness-chart"' in page and "<polyline" in page
    assert "Best fitness: 0.5 at generation 0, 4 at generation 3" in page  # the chart described in words
    assert "[1.0, 2.0, 3.0]" in page and "Close to the target." in page and "<dt>total</dt>" in page
    assert "0.250 s" in page and "30.0 MiB" in page and "Credits charged" in page
    assert "Continue" in page and "Delete" in page and "Cancel the run" not in page
    assert f"/submissions/{submission_id}/result.json" in page and f"/submissions/{submission_id}/result.csv" in page


def test_a_failed_submission_shows_the_error_with_its_traceback(app, client, web_owner):
    submission_id = submit(app, web_owner)
    finish(app, submission_id, "failed", error={"code": "fitness_error", "message": "ZeroDivisionError: division by zero",
                                                "traceback": 'File "<fitness_func>", line 2\nZeroDivisionError'})
    page = client.get(f"/submissions/{submission_id}").get_data(as_text=True)
    assert "<code>fitness_error</code>" in page and "ZeroDivisionError: division by zero" in page
    assert 'class="code traceback"' in page and "&lt;fitness_func&gt;" in page
    assert "<svg" not in page and "Continue" not in page


def test_the_panel_is_the_live_part_of_the_page_alone(app, client, web_owner):
    submission_id = submit(app, web_owner)
    finish(app, submission_id)
    panel = client.get(f"/submissions/{submission_id}/panel").get_data(as_text=True)
    assert "<html" not in panel and 'id="fitness-chart"' in panel and "succeeded" in panel


def test_the_event_stream_follows_the_run_with_the_pages_session(app, client, web_owner):
    submission_id = submit(app, web_owner)
    finish(app, submission_id)
    response = client.get(f"/submissions/{submission_id}/events")
    body = response.get_data(as_text=True)
    assert response.mimetype == "text/event-stream"
    assert "event: status" in body and '"status":"succeeded"' in body


def test_cancel_stops_a_queued_run_and_releases_its_credits(app, client, web_owner):
    submission_id = submit(app, web_owner)
    response = post(client, f"/submissions/{submission_id}/cancel")
    assert response.status_code == 302
    assert stored(app, submission_id, web_owner)["status"] == "cancelled"
    page = client.get(f"/submissions/{submission_id}").get_data(as_text=True)
    assert "The submission is cancelled." in page
    assert "100.00" in client.get("/").get_data(as_text=True)


def test_cancelling_a_finished_run_is_refused_on_the_page(app, client, web_owner):
    submission_id = submit(app, web_owner)
    finish(app, submission_id)
    post(client, f"/submissions/{submission_id}/cancel")
    page = client.get(f"/submissions/{submission_id}").get_data(as_text=True)
    assert 'class="flash error" role="alert">the submission has already succeeded' in page


def test_continue_queues_more_generations_from_the_finished_run(app, client, web_owner):
    submission_id = submit(app, web_owner)
    finish(app, submission_id)
    response = post(client, f"/submissions/{submission_id}/continue", {"num_generations": "7"})
    assert response.status_code == 302
    child = stored(app, response.headers["Location"].rsplit("/", 1)[1], web_owner)
    assert child["parent_id"] == submission_id and json.loads(child["params"])["num_generations"] == 7
    response = post(client, f"/submissions/{submission_id}/continue", {"num_generations": "none"})
    assert response.headers["Location"].endswith(f"/submissions/{submission_id}")
    assert "Not continued: num_generations: Not a valid integer." in client.get(
        response.headers["Location"]).get_data(as_text=True)


def test_delete_removes_a_finished_submission_and_refuses_an_active_one(app, client, web_owner):
    active = submit(app, web_owner)
    post(client, f"/submissions/{active}/delete")
    assert stored(app, active, web_owner) is not None
    assert "cancel it first" in client.get(f"/submissions/{active}").get_data(as_text=True)
    post(client, f"/submissions/{active}/cancel")
    response = post(client, f"/submissions/{active}/delete")
    assert response.status_code == 302 and response.headers["Location"] == "/submissions"
    assert stored(app, active, web_owner) is None
    assert client.get(f"/submissions/{active}").status_code == 404


def test_the_result_downloads_as_json_and_csv(app, client, web_owner):
    submission_id = submit(app, web_owner)
    finish(app, submission_id, history=(1.0, 2.0, 3.0))
    response = client.get(f"/submissions/{submission_id}/result.json")
    assert "attachment" in response.headers["Content-Disposition"]
    body = json.loads(response.get_data(as_text=True))
    assert body["submission_id"] == submission_id and body["best_fitness_per_generation"] == [1.0, 2.0, 3.0]
    api = client.get(f"/api/v1/results/{body['id']}?format=csv", headers=web_owner.headers).get_data(as_text=True)
    response = client.get(f"/submissions/{submission_id}/result.csv")
    assert response.mimetype == "text/csv" and response.get_data(as_text=True) == api
    assert f'filename="{submission_id}-history.csv"' in response.headers["Content-Disposition"]


def test_a_run_without_a_result_has_nothing_to_download(app, client, web_owner):
    submission_id = submit(app, web_owner)
    assert client.get(f"/submissions/{submission_id}/result.json").status_code == 404


def test_another_accounts_submission_is_not_found_on_every_page_and_action(app, client, web_owner, stranger):
    theirs = submit(app, stranger)
    finish(app, theirs)
    for path in ("", "/panel", "/events", "/result.json", "/result.csv"):
        response = client.get(f"/submissions/{theirs}{path}")
        assert response.status_code == 404 and response.mimetype == "text/html", path
    for action in ("cancel", "continue", "delete"):
        response = post(client, f"/submissions/{theirs}/{action}", {"num_generations": "3"})
        assert response.status_code == 404, action
    assert stored(app, theirs, stranger)["status"] == "succeeded"
