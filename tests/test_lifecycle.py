"""Cancel, continue, delete, idempotent retries, waiting for a result, and live progress."""
import json
import sqlite3
import threading
import time

import numpy
import pygad
import pytest
import requests

from conftest import ApiUser, LiveServer

SLOW = "import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(0.01)\n    return float(sum(sol))\n"
QUICK = "def fitness_func(ga, sol, idx):\n    return float(-sum((s - 0.3) ** 2 for s in sol))\n"
BODY = {"num_generations": 10, "sol_per_pop": 4, "num_genes": 3, "num_parents_mating": 2, "fitness_func": QUICK}


def ledger_kinds(user, submission_id):
    rows = user.get("/credits/ledger", params={"limit": 100}).json()["data"]
    return [r["kind"] for r in reversed(rows) if r["submission_id"] == submission_id]


# -- cancel ------------------------------------------------------------------------------------

def test_cancelling_a_queued_submission_releases_its_reservation_at_once(client, owner):
    accepted = client.post("/api/v1/submissions", json=BODY, headers=owner.headers).get_json()
    response = client.post(f"/api/v1/submissions/{accepted['id']}/cancel", headers=owner.headers)
    assert response.status_code == 200
    assert response.get_json()["status"] == "cancelled"
    assert response.get_json()["credits_charged"] == 0
    assert client.get("/api/v1/account", headers=owner.headers).get_json()["credits"]["reserved"] == 0
    again = client.post(f"/api/v1/submissions/{accepted['id']}/cancel", headers=owner.headers)
    assert again.status_code == 200 and again.get_json() == response.get_json()
    kinds = [e["kind"] for e in client.get("/api/v1/credits/ledger", headers=owner.headers).get_json()["data"]]
    assert kinds[:2] == ["release", "reserve"]


def test_cancelling_another_accounts_submission_is_not_found(client, owner, stranger):
    accepted = client.post("/api/v1/submissions", json=BODY, headers=owner.headers).get_json()
    assert client.post(f"/api/v1/submissions/{accepted['id']}/cancel", headers=stranger.headers).status_code == 404


def test_cancelling_a_running_submission_stops_it_and_keeps_what_it_reached(api_user):
    accepted = api_user.submit(SLOW, num_generations=2000, sol_per_pop=4, random_seed=3)
    api_user.wait_status(accepted["id"], "running")
    time.sleep(0.5)
    started = time.monotonic()
    response = api_user.post(f"/submissions/{accepted['id']}/cancel")
    assert time.monotonic() - started < 2.0
    assert response.status_code == 200
    submission = response.json()
    assert submission["status"] == "cancelled"
    assert 0 < submission["progress"]["generations_completed"] < 2000
    assert submission["credits_charged"] > 0
    result = api_user.get("/results", params={"submission_id": accepted["id"]}).json()["data"][0]
    assert result["generations_completed"] == submission["progress"]["generations_completed"]
    assert len(result["best_fitness_per_generation"]) == result["generations_completed"] + 1
    assert len(result["population"]) == 4
    assert ledger_kinds(api_user, accepted["id"]) == ["reserve", "release", "charge"]


def test_cancelling_a_run_stuck_in_its_fitness_function_kills_it_within_a_second(api_user):
    accepted = api_user.submit("import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(60)\n    return 1.0\n")
    api_user.wait_status(accepted["id"], "running")
    started = time.monotonic()
    submission = api_user.post(f"/submissions/{accepted['id']}/cancel").json()
    assert time.monotonic() - started < 2.0
    assert submission["status"] == "cancelled"
    assert submission["usage"]["wall_seconds"] < 10


def test_cancelling_a_finished_submission_is_a_conflict_naming_its_status(api_user):
    submission = api_user.run(QUICK)
    response = api_user.post(f"/submissions/{submission['id']}/cancel")
    assert response.status_code == 409
    assert response.json()["error"]["details"]["status"] == "succeeded"


def test_a_cancel_racing_completion_ends_in_exactly_one_state(api_user):
    ids = [api_user.submit(SLOW, num_generations=20, sol_per_pop=4)["id"] for _ in range(12)]
    outcomes = {}
    for index, submission_id in enumerate(ids):
        time.sleep(0.02 * (index % 4))
        response = api_user.post(f"/submissions/{submission_id}/cancel")
        assert response.status_code in (200, 409)
        outcomes[submission_id] = (response.status_code, response.json())
    for submission_id in ids:
        submission = api_user.wait(submission_id)
        assert submission["status"] in ("succeeded", "cancelled")
        code, answered = outcomes[submission_id]
        if code == 409:
            assert submission["status"] == answered["error"]["details"]["status"] == "succeeded"
        else:
            assert submission["status"] == answered["status"] == "cancelled"
        kinds = ledger_kinds(api_user, submission_id)
        assert kinds[0] == "reserve" and kinds.count("release") == 1 and kinds.count("charge") <= 1
    account = api_user.get("/account").json()["credits"]
    assert account["available"] >= 0


# -- continue ----------------------------------------------------------------------------------

@pytest.mark.parametrize("selection", ["sss", "tournament", "rws", "sus", "rank", "random"])
def test_a_continued_seeded_run_equals_one_longer_run(api_user, selection):
    params = {"sol_per_pop": 10, "num_genes": 4, "num_parents_mating": 4, "random_seed": 42,
              "parent_selection_type": selection, "keep_elitism": 1}
    parent = api_user.run(QUICK, num_generations=12, **params)
    assert parent["status"] == "succeeded"
    accepted = api_user.post(f"/submissions/{parent['id']}/continue", {"num_generations": 18})
    assert accepted.status_code == 202, accepted.text
    child = api_user.wait(accepted.json()["id"])
    assert child["status"] == "succeeded", child
    assert child["parent_id"] == parent["id"] and child["params"]["num_generations"] == 18

    first = api_user.get("/results", params={"submission_id": parent["id"]}).json()["data"][0]
    second = api_user.get("/results", params={"submission_id": child["id"]}).json()["data"][0]
    namespace = {}
    exec(QUICK, namespace)
    ga = pygad.GA(num_generations=30, fitness_func=namespace["fitness_func"], suppress_warnings=True, **params)
    ga.run()
    solution, fitness, _ = ga.best_solution(ga.last_generation_fitness)
    assert first["best_fitness_per_generation"] + second["best_fitness_per_generation"][1:] == \
        [float(f) for f in ga.best_solutions_fitness]
    assert second["best_solution"] == solution.tolist() and second["best_solution_fitness"] == fitness
    assert second["population"] == ga.population.tolist()


def test_a_cancelled_run_with_its_state_can_be_continued(api_user):
    accepted = api_user.submit(SLOW, num_generations=2000, sol_per_pop=4)
    api_user.wait_status(accepted["id"], "running")
    time.sleep(0.3)
    assert api_user.post(f"/submissions/{accepted['id']}/cancel").json()["status"] == "cancelled"
    child = api_user.post(f"/submissions/{accepted['id']}/continue",
                          {"num_generations": 3, "mutation_probability": 0.5})
    assert child.status_code == 202, child.text
    finished = api_user.wait(child.json()["id"])
    assert finished["status"] == "succeeded"
    assert finished["params"]["mutation_probability"] == 0.5


def test_continuing_a_failed_run_is_a_conflict(api_user):
    failed = api_user.run("def fitness_func(ga, sol, idx):\n    raise RuntimeError('x')\n")
    response = api_user.post(f"/submissions/{failed['id']}/continue", {"num_generations": 5})
    assert response.status_code == 409
    assert response.json()["error"]["details"]["status"] == "failed"


def test_continue_validates_its_overrides(api_user):
    parent = api_user.run(QUICK)
    response = api_user.post(f"/submissions/{parent['id']}/continue",
                             {"num_generations": 5, "mutation_probability": 7})
    assert response.status_code == 422
    assert "mutation_probability" in response.json()["error"]["details"]["fields"]
    assert api_user.post(f"/submissions/{parent['id']}/continue", {}).status_code == 422


def test_continue_holds_its_numbers_to_the_same_types_as_a_new_submission(api_user):
    parent = api_user.run(QUICK)
    for refused in ({"num_generations": "3"}, {"num_generations": 3.0}, {"keep_elitism": "1"},
                    {"keep_elitism": 1.0}, {"random_mutation_min_val": "-0.5"},
                    {"limits": {"cpu_seconds": 5.5}}):
        response = api_user.post(f"/submissions/{parent['id']}/continue", dict({"num_generations": 2}, **refused))
        assert response.status_code == 422, refused
        assert response.json()["error"]["param"].split(".")[0] == next(iter(refused)), refused
    per_gene = api_user.post(f"/submissions/{parent['id']}/continue", {
        "num_generations": 2, "random_mutation_min_val": [-0.5, -0.4, -0.3], "random_mutation_max_val": [1, 1, 1]})
    assert per_gene.status_code == 202, per_gene.text  # a number or one per gene, as for a new submission
    assert api_user.wait(per_gene.json()["id"])["params"]["random_mutation_min_val"] == [-0.5, -0.4, -0.3]


def test_continue_holds_metadata_to_the_same_rules_as_a_new_submission(api_user):
    parent = api_user.run(QUICK)
    too_many = {f"k{i}": "v" for i in range(17)}
    response = api_user.post(f"/submissions/{parent['id']}/continue", {"num_generations": 2, "metadata": too_many})
    assert response.status_code == 422
    assert response.json()["error"]["param"] == "metadata"
    assert response.json()["error"]["details"]["fields"] == {"metadata": ["at most 16 keys"]}
    assert api_user.post("/submissions", dict(BODY, metadata=too_many)).json()["error"]["details"]["fields"] == {
        "metadata": ["at most 16 keys"]}


# -- delete ------------------------------------------------------------------------------------

def test_deleting_a_finished_submission_removes_it_and_its_result_but_not_the_ledger(api_user):
    submission = api_user.run(QUICK)
    result_id = api_user.get("/results", params={"submission_id": submission["id"]}).json()["data"][0]["id"]
    assert api_user.session.delete(api_user.server.api + f"/submissions/{submission['id']}").status_code == 204
    assert api_user.get(f"/submissions/{submission['id']}").status_code == 404
    assert api_user.get(f"/results/{result_id}").status_code == 404
    assert ledger_kinds(api_user, submission["id"]) == ["reserve", "release", "charge"]


def test_a_continue_racing_the_deletion_of_its_parent_is_not_found_and_holds_nothing(app, client, owner,
                                                                                     monkeypatch):
    from vilvik_server import submitting
    from vilvik_server.store import results as result_store
    from vilvik_server.store import submissions as submission_store

    parent = client.post("/api/v1/submissions", json=BODY, headers=owner.headers).get_json()["id"]
    db = app.extensions["vilvik"].db
    with db.transaction() as conn:  # as if it had run: succeeded, with a result to resume from
        conn.execute("UPDATE submissions SET status = 'succeeded', finished_at = created_at WHERE id = ?", (parent,))
        result_store.insert(conn, owner.id, parent, {"population": [[0.0] * 3] * 4}, {"generators": []})
    accepting = submitting.check_accepting

    def parent_deleted_meanwhile(services):  # the DELETE lands between continue's checks and its insert
        with services.db.transaction() as conn:
            assert submission_store.delete_terminal(conn, owner.id, parent)
        accepting(services)
    monkeypatch.setattr(submitting, "check_accepting", parent_deleted_meanwhile)
    before = client.get("/api/v1/account", headers=owner.headers).get_json()["credits"]
    response = client.post(f"/api/v1/submissions/{parent}/continue", json={"num_generations": 2},
                           headers=owner.headers)
    assert response.status_code == 404, response.get_json()
    assert client.get("/api/v1/submissions", headers=owner.headers).get_json()["data"] == []
    assert client.get("/api/v1/account", headers=owner.headers).get_json()["credits"] == before


def test_deleting_an_unfinished_submission_is_a_conflict(client, owner):
    accepted = client.post("/api/v1/submissions", json=BODY, headers=owner.headers).get_json()
    response = client.delete(f"/api/v1/submissions/{accepted['id']}", headers=owner.headers)
    assert response.status_code == 409
    assert response.get_json()["error"]["details"]["status"] == "queued"


# -- idempotency -------------------------------------------------------------------------------

def test_a_retried_post_with_the_same_key_returns_the_first_response(client, owner):
    headers = dict(owner.headers, **{"Idempotency-Key": "order-17"})
    first = client.post("/api/v1/submissions", json=BODY, headers=headers)
    second = client.post("/api/v1/submissions", json=BODY, headers=headers)
    assert first.status_code == second.status_code == 202
    assert first.get_json() == second.get_json()
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.headers["Location"] == first.headers["Location"]
    assert "Idempotent-Replayed" not in first.headers
    assert len(client.get("/api/v1/submissions", headers=owner.headers).get_json()["data"]) == 1


def test_the_same_key_with_another_body_is_an_idempotency_conflict(client, owner):
    headers = dict(owner.headers, **{"Idempotency-Key": "k1"})
    client.post("/api/v1/submissions", json=BODY, headers=headers)
    response = client.post("/api/v1/submissions", json=dict(BODY, name="other"), headers=headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["code"] == "idempotency_conflict"


def test_validation_errors_are_replayed_but_keys_are_per_account(client, owner, stranger):
    bad = dict(BODY, num_parents_mating=9)
    first = client.post("/api/v1/submissions", json=bad, headers=dict(owner.headers, **{"Idempotency-Key": "x"}))
    again = client.post("/api/v1/submissions", json=bad, headers=dict(owner.headers, **{"Idempotency-Key": "x"}))
    assert first.status_code == again.status_code == 422 and again.headers["Idempotent-Replayed"] == "true"
    theirs = client.post("/api/v1/submissions", json=BODY, headers=dict(stranger.headers, **{"Idempotency-Key": "x"}))
    assert theirs.status_code == 202


def test_idempotency_keys_survive_a_restart(tmp_path):
    server = LiveServer(tmp_path / "instance", {"WORKERS": 0}).start()
    user = ApiUser(server, server.command("create-account", "i@example.com", "--credits", "100")["api_key"])
    first = user.post("/submissions", BODY, headers={"Idempotency-Key": "survivor"}).json()
    server.stop()
    server.start()
    try:
        again = user.post("/submissions", BODY, headers={"Idempotency-Key": "survivor"})
        assert again.json()["id"] == first["id"] and again.headers["Idempotent-Replayed"] == "true"
    finally:
        server.stop()


# -- Prefer: wait and live progress ------------------------------------------------------------

def test_prefer_wait_answers_200_with_the_finished_submission(api_user):
    response = api_user.post("/submissions", BODY, headers={"Prefer": "wait=20"})
    assert response.status_code == 200, response.text
    assert response.headers["Preference-Applied"] == "wait=20"
    assert response.json()["status"] == "succeeded"
    assert response.json()["progress"]["generations_completed"] == 10


def test_prefer_wait_answers_202_when_the_run_takes_longer(api_user):
    started = time.monotonic()
    response = api_user.post("/submissions", dict(BODY, fitness_func=SLOW, num_generations=500),
                             headers={"Prefer": "wait=1"})
    assert response.status_code == 202
    assert 0.9 < time.monotonic() - started < 5
    assert response.headers["Preference-Applied"] == "wait=1"
    api_user.post(f"/submissions/{response.json()['id']}/cancel")


def test_a_run_too_short_for_a_progress_write_still_says_when_its_progress_was_recorded(api_user):
    submission = api_user.run(QUICK, num_generations=3, sol_per_pop=4)  # ends before the first throttled write
    assert submission["status"] == "succeeded" and submission["progress"]["generations_completed"] == 3
    assert submission["progress"]["updated_at"] is not None
    assert submission["started_at"] <= submission["progress"]["updated_at"] <= submission["finished_at"]


def test_the_event_stream_sends_progress_then_one_status_and_ends(api_user):
    accepted = api_user.submit(SLOW, num_generations=60, sol_per_pop=4)
    response = api_user.session.get(api_user.server.api + f"/submissions/{accepted['id']}/events",
                                    stream=True, timeout=60)
    assert response.headers["Content-Type"].startswith("text/event-stream")
    events = []
    started = time.monotonic()
    name = None
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[6:]), time.monotonic()))
    elapsed = time.monotonic() - started
    response.close()
    progress = [e for e in events if e[0] == "progress"]
    assert events[-1][0] == "status" and events[-1][1]["status"] == "succeeded"
    assert [e[0] for e in events].count("status") == 1
    assert len(progress) >= 3
    assert progress[-1][1]["generations_completed"] == 60
    assert len(progress) <= 10 * elapsed + 2  # at most ten a second
    assert all("mean_fitness" in e[1] for e in progress)


def test_a_key_still_being_processed_keeps_its_own_retry_after(app, client, owner):
    import hashlib

    from vilvik_server.store import idempotency
    canonical = json.dumps(BODY, sort_keys=True, separators=(",", ":"))
    fingerprint = hashlib.sha256(f"POST /api/v1/submissions\n{canonical}".encode()).hexdigest()
    with app.extensions["vilvik"].db.transaction() as conn:
        idempotency.claim(conn, owner.id, "in-flight", fingerprint)
    response = client.post("/api/v1/submissions", json=BODY, headers=dict(owner.headers, **{"Idempotency-Key": "in-flight"}))
    assert response.status_code == 409
    assert response.headers["Retry-After"] == "1"


def test_a_continuation_keeps_its_parents_limits(api_user):
    parent = api_user.run(QUICK, limits={"cpu_seconds": 3, "wall_seconds": 30})
    child = api_user.post(f"/submissions/{parent['id']}/continue", {"num_generations": 2}).json()
    assert child["credits_reserved"] == 3.0
    assert api_user.wait(child["id"])["limits"]["cpu_seconds"] == 3


def test_a_run_of_quick_generations_cancelled_midway_continues_exactly_as_one_longer_run(api_user):
    # Quick generations are not checkpointed one by one: the cancel must still keep the exact
    # state of the generation it stopped after, or the continuation would differ from one run.
    params = {"sol_per_pop": 6, "num_genes": 3, "num_parents_mating": 2, "random_seed": 11,
              "parent_selection_type": "tournament"}
    accepted = api_user.submit(QUICK, num_generations=150_000, **params)
    api_user.wait_status(accepted["id"], "running")
    time.sleep(0.4)
    assert api_user.post(f"/submissions/{accepted['id']}/cancel").json()["status"] == "cancelled"
    first = api_user.get("/results", params={"submission_id": accepted["id"]}).json()["data"][0]
    reached = first["generations_completed"]
    assert 0 < reached < 150_000
    assert len(first["best_fitness_per_generation"]) == reached + 1
    continued = api_user.post(f"/submissions/{accepted['id']}/continue", {"num_generations": 7})
    assert continued.status_code == 202, continued.text
    child = api_user.wait(continued.json()["id"])
    assert child["status"] == "succeeded", child
    second = api_user.get("/results", params={"submission_id": child["id"]}).json()["data"][0]

    namespace = {}
    exec(QUICK, namespace)
    ga = pygad.GA(num_generations=reached + 7, fitness_func=namespace["fitness_func"], suppress_warnings=True,
                  **params)
    ga.run()
    assert first["best_fitness_per_generation"] + second["best_fitness_per_generation"][1:] == \
        [float(f) for f in ga.best_solutions_fitness]
    assert second["population"] == ga.population.tolist()


def test_cancelling_in_the_middle_of_a_slow_generation_keeps_the_last_finished_one(api_user):
    slow = "import time\ndef fitness_func(ga, sol, idx):\n    time.sleep(0.15)\n    return float(sum(sol))\n"
    accepted = api_user.submit(slow, num_generations=100, sol_per_pop=4, random_seed=5)
    deadline = time.monotonic() + 30
    while api_user.get(f"/submissions/{accepted['id']}").json()["progress"]["generations_completed"] < 2:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    submission = api_user.post(f"/submissions/{accepted['id']}/cancel").json()
    assert submission["status"] == "cancelled"
    result = api_user.get("/results", params={"submission_id": accepted["id"]}).json()["data"][0]
    assert result["generations_completed"] >= 2
    assert len(result["best_fitness_per_generation"]) == result["generations_completed"] + 1
    assert len(result["population"]) == 4
    continued = api_user.post(f"/submissions/{accepted['id']}/continue", {"num_generations": 1})
    assert continued.status_code == 202
    api_user.post(f"/submissions/{continued.json()['id']}/cancel")


def test_a_submission_shows_its_one_off_webhook(client, owner):
    body = dict(BODY, webhook_url="https://hooks.example/vilvik", webhook_events=["result.completed"])
    accepted = client.post("/api/v1/submissions", json=body, headers=owner.headers).get_json()
    shown = client.get(f"/api/v1/submissions/{accepted['id']}", headers=owner.headers).get_json()
    assert shown["webhook_url"] == "https://hooks.example/vilvik"
    assert shown["webhook_events"] == ["result.completed"]
