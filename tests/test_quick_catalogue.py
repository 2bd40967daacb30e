"""The quick builder's catalogue (vilvik_server.quick): every problem builds parameters GAParamsSchema
accepts and a fitness source that, run as the sandbox runs it, reaches a sensible answer."""
import ast
import itertools
import json
import logging
import math
import numbers
import random

import numpy
import pygad
import pytest
from marshmallow import ValidationError

from vilvik_sandbox import channel
from vilvik_sandbox.ga_build import build_ga_kwargs
from vilvik_server import quick
from vilvik_server.domain.ga_params import GAParamsSchema, effective_params

_QUIET = logging.getLogger("test_quick_catalogue.pygad")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False

NAMES = ["linear_equation", "sphere", "rastrigin", "knapsack", "subset_sum", "one_max", "tsp"]


def merged_params(problem, problem_params, **overrides):
    """What POST /submissions stores: the builder's parameters, the user's beside them winning."""
    ga_params, source, entry = quick.build(problem, problem_params)
    params = effective_params(GAParamsSchema().load({**ga_params, **overrides}))
    return params, source, entry


def load_fitness(source, entry):
    """The entry compiled as the sandbox compiles it, its every return checked as the runner checks it."""
    namespace = {"__name__": "fitness_module"}
    exec(compile(source, "<fitness_func>", "exec"), namespace)
    function = namespace[entry]

    def checked(ga, solution, index):
        value = function(ga, solution, index)
        for number in value if isinstance(value, list) else [value]:
            assert isinstance(number, numbers.Real) and not isinstance(number, bool), value
            assert math.isfinite(number), value
        return value
    return checked


def run_quick(problem, problem_params=None, seed=1, **overrides):
    """Build, merge, load and run in-process as the sandbox would; the result as the API stores it,
    with its interpretation."""
    problem_params = quick.PROBLEMS[problem].example if problem_params is None else problem_params
    params, source, entry = merged_params(problem, problem_params, random_seed=seed, **overrides)
    ga = pygad.GA(**build_ga_kwargs(params), fitness_func=load_fitness(source, entry), suppress_warnings=True,
                  logger=_QUIET)
    ga.run()
    solution, fitness, index = ga.best_solution(ga.last_generation_fitness)
    result = channel.jsonable({"best_solution": solution, "best_solution_fitness": fitness,
                               "best_solution_idx": int(index), "generations_completed": ga.generations_completed})
    result["interpretation"] = quick.interpret(problem, problem_params, result)
    json.dumps(result["interpretation"], allow_nan=False)
    return result


def held_karp(cities):
    """The shortest closed tour's length, exactly (dynamic programming over subsets)."""
    n = len(cities)
    dist = [[math.dist(a, b) for b in cities] for a in cities]
    best = {(1, 0): 0.0}
    for mask in range(1, 1 << n):
        for last in range(n):
            if (mask, last) not in best:
                continue
            for city in range(n):
                if not mask >> city & 1:
                    key = (mask | 1 << city, city)
                    best[key] = min(best.get(key, math.inf), best[(mask, last)] + dist[last][city])
    return min(best[((1 << n) - 1, last)] + dist[last][0] for last in range(1, n))


def brute_force_tour(cities):
    n = len(cities)
    return min(sum(math.dist(cities[a], cities[b]) for a, b in zip((0,) + rest, rest + (0,)))
               for rest in itertools.permutations(range(1, n)))


# --- the catalogue -----------------------------------------------------------------------------------

def test_the_catalogue_lists_every_problem_as_plain_json():
    entries = quick.catalogue()
    assert [e["name"] for e in entries] == NAMES == list(quick.PROBLEMS)
    assert json.loads(json.dumps(entries, allow_nan=False)) == entries
    for entry in entries:
        assert entry["title"] and entry["description"]
        schema = entry["params_schema"]
        assert schema["type"] == "object" and schema["additionalProperties"] is False
        assert set(schema["required"]) <= set(schema["properties"])
        for name, spec in schema["properties"].items():
            assert spec["type"] in ("number", "integer", "array") and spec["description"]
            assert name in schema["required"] or "default" in spec
        assert set(entry["example"]) <= set(schema["properties"])
        assert entry["defaults"] == quick.build(entry["name"], entry["example"])[0]
        GAParamsSchema().load(entry["defaults"])


def test_optional_problem_params_take_their_defaults():
    assert quick.build("rastrigin", {}) == quick.build("rastrigin", {"num_dims": 3, "low": -5.12, "high": 5.12})
    assert quick.build("one_max", {})[0]["num_genes"] == 50


@pytest.mark.parametrize("problem", NAMES)
def test_the_source_embeds_its_data_and_imports_only_numpy_and_math(problem):
    params, source, entry = quick.build(problem, quick.PROBLEMS[problem].example)
    tree = ast.parse(source)
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, (ast.Import, ast.ImportFrom))
                for alias in node.names}
    assert imported <= {"numpy", "math"}
    names = {node.id for node in ast.walk(tree) if isinstance(node, ast.Name)}
    assert not names & {"open", "eval", "exec", "compile", "__import__", "globals", "getattr"}
    assert entry == "fitness_func" and any(isinstance(n, ast.FunctionDef) and n.name == entry for n in tree.body)
    for value in quick.PROBLEMS[problem].example.values():
        if isinstance(value, list):
            assert repr(value[-1]) in source


# --- every problem reaches a sensible answer -------------------------------------------------------

def test_the_linear_equation_is_solved_within_a_hundredth():
    result = run_quick("linear_equation")
    reading = result["interpretation"]
    inputs = [4, -2, 3.5, 5, -11, -4.7]
    output = sum(w * x for w, x in zip(result["best_solution"], inputs))
    assert abs(output - 44) < 0.01 and reading["absolute_error"] < 0.01
    assert reading["output"] == pytest.approx(output) and reading["desired_output"] == 44
    assert reading["weights"] == result["best_solution"]
    assert result["best_solution_fitness"] == pytest.approx(1 / (abs(output - 44) + 1e-6))


def test_a_large_desired_output_is_within_reach():
    result = run_quick("linear_equation", {"inputs": [1, 2, 3], "desired_output": 25000})
    assert result["interpretation"]["absolute_error"] < 0.01


@pytest.mark.parametrize("problem, dims, threshold", [("sphere", 5, 1e-3), ("rastrigin", 3, 0.01),
                                                      ("rastrigin", 5, 0.05)])
def test_the_benchmarks_come_near_their_optimum(problem, dims, threshold):
    result = run_quick(problem, {"num_dims": dims})
    reading = result["interpretation"]
    point = result["best_solution"]
    assert len(point) == dims and all(-5.12 <= x <= 5.12 for x in point)
    assert reading["value"] < threshold and reading["value"] == pytest.approx(-result["best_solution_fitness"])
    assert reading["distance_to_optimum"] == pytest.approx(math.hypot(*point))
    assert reading["optimum"] == [0.0] * dims and reading["optimum_in_bounds"] is True


def test_the_benchmark_keeps_to_its_bounds_even_with_random_mutation():
    result = run_quick("sphere", {"num_dims": 3, "low": 1, "high": 2}, mutation_type="random", crossover_type="uniform",
                       num_generations=20)
    assert all(1 <= x <= 2 for x in result["best_solution"])
    assert result["interpretation"]["optimum_in_bounds"] is False


def knapsack_optimum(weights, values, capacity):
    return max(sum(v for v, take in zip(values, pick) if take)
               for pick in itertools.product((0, 1), repeat=len(weights))
               if sum(w for w, take in zip(weights, pick) if take) <= capacity)


@pytest.mark.parametrize("instance", ["example", "random"])
def test_the_knapsack_finds_the_optimum(instance):
    if instance == "example":
        params = quick.PROBLEMS["knapsack"].example
    else:
        rng = random.Random(7)
        weights = [rng.randint(5, 60) for _ in range(14)]
        params = {"weights": weights, "values": [rng.randint(5, 60) for _ in range(14)],
                  "capacity": sum(weights) // 2}
    result = run_quick("knapsack", params)
    reading = result["interpretation"]
    optimum = knapsack_optimum(params["weights"], params["values"], params["capacity"])
    if instance == "example":
        assert optimum == 309 and reading["chosen_items"] == [0, 1, 2, 3, 5]
    assert reading["total_value"] == optimum == result["best_solution_fitness"]
    assert reading["within_capacity"] is True and reading["total_weight"] <= params["capacity"]
    assert reading["total_weight"] == sum(params["weights"][i] for i in reading["chosen_items"])
    assert set(result["best_solution"]) <= {0, 1}


def test_an_overweight_choice_scores_below_every_fitting_one():
    params, source, entry = merged_params("knapsack", {"weights": [5, 4], "values": [10, 1], "capacity": 6})
    fitness = load_fitness(source, entry)
    assert fitness(None, numpy.array([1, 1]), 0) == -3.0
    assert fitness(None, numpy.array([0, 0]), 0) == 0.0
    assert fitness(None, numpy.array([1, 0]), 0) == 10.0
    assert quick.interpret("knapsack", {"weights": [5, 4], "values": [10, 1], "capacity": 6},
                           {"best_solution": [1, 1]})["within_capacity"] is False


def test_the_subset_sum_finds_an_exact_subset_and_stops():
    result = run_quick("subset_sum")
    reading = result["interpretation"]
    numbers_ = quick.PROBLEMS["subset_sum"].example["numbers"]
    assert reading["sum"] == 5842 == sum(numbers_[i] for i in reading["chosen_indices"])
    assert reading["exact"] is True and reading["difference"] == 0 and result["best_solution_fitness"] == 0
    assert reading["chosen_numbers"] == [numbers_[i] for i in reading["chosen_indices"]]
    assert result["generations_completed"] < 500   # reach_0 stopped it


def test_one_max_sets_every_bit():
    result = run_quick("one_max")
    assert result["best_solution"] == [1] * 50
    assert result["interpretation"]["ones"] == 50 and result["interpretation"]["optimal"] is True


@pytest.mark.parametrize("instance", ["example", "eight"])
def test_the_tsp_tour_is_a_permutation_and_optimal_or_nearly(instance):
    if instance == "example":
        cities = quick.PROBLEMS["tsp"].example["coordinates"]
        shortest = held_karp(cities)
    else:
        rng = random.Random(3)
        cities = [[rng.randint(0, 100), rng.randint(0, 100)] for _ in range(8)]
        shortest = brute_force_tour(cities)
        assert held_karp(cities) == pytest.approx(shortest)
    result = run_quick("tsp", {"coordinates": cities})
    reading = result["interpretation"]
    n = len(cities)
    assert sorted(result["best_solution"]) == list(range(n)) and reading["solution_is_permutation"] is True
    assert sorted(reading["tour"]) == list(range(n)) and reading["tour"][0] == 0
    length = sum(math.dist(cities[a], cities[b]) for a, b in zip(reading["tour"], reading["tour"][1:] + [0]))
    assert reading["tour_length"] == pytest.approx(length) == pytest.approx(-result["best_solution_fitness"])
    assert length <= shortest * 1.02


def test_the_tsp_fitness_reads_a_non_permutation_as_a_penalised_tour():
    cities = [[0, 0], [3, 0], [3, 4], [0, 4]]
    params, source, entry = merged_params("tsp", {"coordinates": cities})
    fitness = load_fitness(source, entry)
    assert fitness(None, numpy.array([0, 1, 2, 3]), 0) == pytest.approx(-14.0)
    worst_tour = -fitness(None, numpy.array([0, 2, 1, 3]), 0)
    assert -fitness(None, numpy.array([0, 1, 1, 3]), 0) > worst_tour   # city 2 missing: worse than any tour
    reading = quick.interpret("tsp", {"coordinates": cities}, {"best_solution": [3, 1, 1, 0]})
    assert reading["tour"] == [0, 2, 3, 1] and reading["solution_is_permutation"] is False


def test_pygad_overrides_beside_the_problem_win():
    params, _, _ = merged_params("knapsack", quick.PROBLEMS["knapsack"].example, num_generations=7,
                                 parent_selection_type="rank")
    assert params["num_generations"] == 7 and params["parent_selection_type"] == "rank"
    assert params["gene_space"] == [0, 1] and params["gene_type"] == "int"
    result = run_quick("tsp", crossover_type="two_points", num_generations=10, keep_elitism=1)
    assert sorted(result["best_solution"]) == list(range(10))   # PyGAD repairs the duplicates crossover makes


@pytest.mark.parametrize("problem", ["linear_equation", "tsp"])
def test_the_source_scores_batches(problem):
    result = run_quick(problem, num_generations=5, fitness_batch_size=4)
    assert result["generations_completed"] == 5


def test_a_wrong_gene_count_fails_with_a_clear_message():
    params, source, entry = merged_params("knapsack", quick.PROBLEMS["knapsack"].example)
    with pytest.raises(ValueError, match=r"exactly 10 genes \(num_genes\)"):
        load_fitness(source, entry)(None, numpy.zeros(3), 0)


def test_the_largest_problems_build_and_run():
    rng = random.Random(5)
    cases = {"tsp": {"coordinates": [[rng.uniform(-1e9, 1e9), rng.uniform(-1e9, 1e9)] for _ in range(200)]},
             "knapsack": {"weights": [rng.randint(0, 10**9) for _ in range(200)],
                          "values": [rng.uniform(0, 1e9) for _ in range(200)], "capacity": 1e11},
             "subset_sum": {"numbers": [rng.uniform(-1e9, 1e9) for _ in range(200)], "target": -2e11},
             "linear_equation": {"inputs": [1e-6] * 200, "desired_output": -1e9},
             "rastrigin": {"num_dims": 100, "low": -1e6, "high": 1e6}, "one_max": {"num_bits": 1000}}
    for problem, params in cases.items():
        result = run_quick(problem, params, num_generations=1, sol_per_pop=4, num_parents_mating=2,
                           **({"keep_parents": 1} if problem == "tsp" else {}))
        assert result["generations_completed"] == 1 and result["interpretation"]["summary"]
    assert len(quick.build("tsp", cases["tsp"])[1]) < 64 * 1024


# --- bad problem_params -------------------------------------------------------------------------------

@pytest.mark.parametrize("problem, params, field", [
    ("linear_equation", {"desired_output": 44}, "inputs"),
    ("linear_equation", {"inputs": [], "desired_output": 44}, "inputs"),
    ("linear_equation", {"inputs": [1, True], "desired_output": 44}, "inputs"),
    ("linear_equation", {"inputs": [1, 2], "desired_output": float("nan")}, "desired_output"),
    ("linear_equation", {"inputs": [1, 2], "desired_output": "44"}, "desired_output"),
    ("linear_equation", {"inputs": [1] * 201, "desired_output": 4}, "inputs"),
    ("rastrigin", {"num_dims": 0}, "num_dims"),
    ("rastrigin", {"num_dims": 2.5}, "num_dims"),
    ("sphere", {"num_dims": 101}, "num_dims"),
    ("sphere", {"low": 3, "high": 3}, "high"),
    ("sphere", {"high": float("inf")}, "high"),
    ("knapsack", {"weights": [1, 2], "values": [3], "capacity": 2}, "values"),
    ("knapsack", {"weights": [1, -2], "values": [3, 4], "capacity": 2}, "weights"),
    ("knapsack", {"weights": [1, 2], "values": [3, 4], "capacity": 0}, "capacity"),
    ("knapsack", {"weights": [1, 2], "values": [3, 4]}, "capacity"),
    ("knapsack", {"weights": [1, 2], "values": [3, 4], "capacity": 2, "colour": "red"}, "colour"),
    ("subset_sum", {"numbers": "1,2,3", "target": 3}, "numbers"),
    ("subset_sum", {"numbers": [1, 2, 3], "target": None}, "target"),
    ("one_max", {"num_bits": 1001}, "num_bits"),
    ("tsp", {"coordinates": [[0, 0], [1, 1]]}, "coordinates"),
    ("tsp", {"coordinates": [[0, 0], [1, 1], [2, 2, 2]]}, "coordinates"),
    ("tsp", {"coordinates": [[0, 0], [1, 1], [2, 1e10]]}, "coordinates"),
    ("tsp", {"coordinates": [[i, i] for i in range(201)]}, "coordinates"),
])
def test_bad_problem_params_name_the_field(problem, params, field):
    with pytest.raises(ValidationError) as info:
        quick.build(problem, params)
    assert field in info.value.messages, info.value.messages


def test_problem_params_must_be_an_object():
    with pytest.raises(ValidationError):
        quick.build("knapsack", [1, 2, 3])


def test_list_errors_name_the_item():
    with pytest.raises(ValidationError) as info:
        quick.build("knapsack", {"weights": [1, -2, "x"], "values": [3, 4, 5], "capacity": 2})
    assert set(info.value.messages["weights"]) == {1, 2}


def test_an_unknown_problem_is_the_callers_to_refuse():
    assert "nope" not in quick.PROBLEMS
    with pytest.raises(KeyError):
        quick.build("nope", {})


def test_interpret_copes_with_a_result_without_a_solution():
    assert quick.interpret("one_max", {}, {"best_solution": None})["summary"] == "no solution"


def test_without_problem_params_a_problem_takes_its_defaults_but_never_the_examples_data(client, owner):
    accepted = client.post("/api/v1/submissions", json={"type": "quick", "problem": "one_max"}, headers=owner.headers)
    assert accepted.status_code == 202, accepted.get_json()
    assert accepted.get_json()["generated"]["params"]["num_genes"] == 50   # num_bits' default
    refused = client.post("/api/v1/submissions", json={"type": "quick", "problem": "subset_sum"}, headers=owner.headers)
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["param"] == "problem_params.numbers"
    assert set(error["details"]["fields"]["problem_params"]) == {"numbers", "target"}
    example = json.dumps(quick.PROBLEMS["subset_sum"].example)
    assert f"its example problem_params are {example}" in error["message"]
    pasted = client.post("/api/v1/submissions", headers=owner.headers,
                         json={"type": "quick", "problem": "subset_sum", "problem_params": json.loads(example)})
    assert pasted.status_code == 202, pasted.get_json()
