"""Runs at the edges of what PyGAD accepts: an overflowing mean, a tournament of two."""


def test_finite_fitness_whose_mean_overflows_succeeds_with_the_non_finite_string(api_user):
    # Every fitness is finite (1.7e308), but their mean overflows to inf: the run succeeds,
    # and the mean is written as "Infinity" like any non-finite fitness value.
    source = "def fitness_func(ga, solution, idx):\n    return 1.7e308\n"
    submission = api_user.run(source, num_generations=3, sol_per_pop=4, num_genes=2, random_seed=1)
    assert submission["status"] == "succeeded", submission["error"]
    assert submission["progress"]["mean_fitness"] == "Infinity"
    result = api_user.get("/results", params={"submission_id": submission["id"]}).json()["data"][0]
    assert result["best_solution_fitness"] == 1.7e308
    assert set(result["mean_fitness_per_generation"]) == {"Infinity"}


def test_a_tournament_of_two_can_be_continued(api_user):
    # The original never set K_tournament; its stored default (3) is more than sol_per_pop (2),
    # which PyGAD clips quietly. The continuation must not refuse what the original never asked.
    source = "def fitness_func(ga, solution, idx):\n    return float(-sum(x * x for x in solution))\n"
    first = api_user.run(source, num_generations=3, sol_per_pop=2, num_genes=2, num_parents_mating=2,
                         parent_selection_type="tournament", random_seed=5)
    assert first["status"] == "succeeded", first["error"]
    response = api_user.post(f"/submissions/{first['id']}/continue", {"num_generations": 2})
    assert response.status_code == 202, response.text
    second = api_user.wait(response.json()["id"])
    assert second["status"] == "succeeded", second["error"]
    assert second["params"]["parent_selection_type"] == "tournament"


def test_a_continuation_may_still_not_ask_for_a_tournament_larger_than_the_population(api_user):
    source = "def fitness_func(ga, solution, idx):\n    return 1.0\n"
    first = api_user.run(source, num_generations=2, sol_per_pop=2, num_genes=2, num_parents_mating=2,
                         parent_selection_type="tournament", random_seed=5)
    response = api_user.post(f"/submissions/{first['id']}/continue", {"num_generations": 2, "K_tournament": 3})
    assert response.status_code == 422 and "K_tournament" in response.text


def test_a_stored_result_with_a_short_population_is_no_resume_state(api_user):
    # The report now refuses such a result; one stored before that must not be resumed either.
    import sqlite3

    source = "def fitness_func(ga, solution, idx):\n    return 1.0\n"
    first = api_user.run(source, num_generations=2, sol_per_pop=4, num_genes=2, num_parents_mating=2, random_seed=5)
    database = sqlite3.connect(f"{api_user.server.instance}/vilvik.sqlite3")
    try:
        with database:
            database.execute("UPDATE results SET body = json_set(body, '$.population', json('[[1.0, 2.0]]'))"
                             " WHERE submission_id = ?", (first["id"],))
    finally:
        database.close()
    response = api_user.post(f"/submissions/{first['id']}/continue", {"num_generations": 2})
    assert response.status_code == 409 and "not whole" in response.text


def test_a_finished_run_shows_the_mean_fitness_of_its_last_generation(api_user):
    # Progress lines are throttled, so the last one the run wrote may never have been stored:
    # the terminal submission takes best and mean from the result, never a stale earlier line.
    source = "def fitness_func(ga, solution, idx):\n    return float(sum(solution))\n"
    submission = api_user.run(source, num_generations=30, sol_per_pop=6, num_genes=3, random_seed=3)
    assert submission["status"] == "succeeded", submission["error"]
    result = api_user.get("/results", params={"submission_id": submission["id"]}).json()["data"][0]
    assert submission["progress"]["best_fitness"] == result["best_solution_fitness"]
    assert submission["progress"]["mean_fitness"] == result["mean_fitness_per_generation"][-1]
