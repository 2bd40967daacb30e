"""The PyGAD parameter schema (vilvik_server.domain.ga_params) and the sandbox builder (vilvik_sandbox.ga_build)."""
import json
import logging
import pathlib
import random
import subprocess
import sys
import warnings

import numpy
import pygad
import pytest
from marshmallow import ValidationError, fields

from vilvik_sandbox.ga_build import GA_PARAM_NAMES, build_ga_kwargs
from vilvik_server.domain.ga_params import PARAM_NAMES, GAParamsSchema, effective_params

OVERVIEW_EXAMPLE = {"num_generations": 10, "sol_per_pop": 4, "num_genes": 3, "num_parents_mating": 2,
                    "init_range_low": -1, "init_range_high": 1}
_QUIET = logging.getLogger("test_ga_params.pygad")
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False   # PyGAD logs its exceptions; the assertions report them instead


def load(**overrides):
    return GAParamsSchema().load({**OVERVIEW_EXAMPLE, **overrides})


def errors_of(**overrides):
    with pytest.raises(ValidationError) as info:
        load(**overrides)
    return info.value.messages


def fitness_for(params):
    """A positive fitness (so rws/sus never divide by zero), multi-objective for nsga*, batched if asked."""
    multi = "nsga" in params["parent_selection_type"]

    def one(solution):
        value = 1.0 / (1.0 + sum((float(g) - 1.0) ** 2 for g in solution))
        return [value, 1.0 / (1.0 + sum(abs(float(g)) for g in solution))] if multi else value

    if params["fitness_batch_size"] not in (None, 1):
        return lambda ga, solutions, indices: [one(s) for s in solutions]
    return lambda ga, solution, index: one(solution)


def run_stored(params):
    """Build and run PyGAD as the sandbox does; any warning (outside suppress_warnings) fails."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ga = pygad.GA(**build_ga_kwargs(params), fitness_func=fitness_for(params), suppress_warnings=True,
                      logger=_QUIET)
        ga.run()
    return ga


def test_it_accepts_the_overview_example():
    assert load()["sol_per_pop"] == 4


def test_it_fills_pygads_defaults():
    params = effective_params(load())
    assert list(params) == list(PARAM_NAMES)
    assert params == {
        **OVERVIEW_EXAMPLE, "initial_population": None, "gene_type": "float", "gene_space": None,
        "gene_categorical": None, "parent_selection_type": "sss", "K_tournament": 3, "keep_parents": None,
        "keep_elitism": 1, "nsga3_num_divisions": None, "crossover_type": "single_point",
        "crossover_probability": None, "sbx_crossover_eta": 30, "mutation_type": "random",
        "mutation_probability": None, "polynomial_mutation_eta": 20, "mutation_by_replacement": False,
        "mutation_percent_genes": "default", "mutation_num_genes": None, "random_mutation_min_val": -1.0,
        "random_mutation_max_val": 1.0, "sample_size": 100, "allow_duplicate_genes": True,
        "save_best_solutions": False, "save_solutions": False, "stop_criteria": None, "random_seed": None,
        "fitness_batch_size": None}
    assert json.loads(json.dumps(params)) == params


def test_it_requires_num_generations_and_num_parents_mating():
    with pytest.raises(ValidationError) as info:
        GAParamsSchema().load({"sol_per_pop": 4, "num_genes": 3})
    assert set(info.value.messages) == {"num_generations", "num_parents_mating"}


def test_it_requires_sol_per_pop_and_num_genes_without_initial_population():
    with pytest.raises(ValidationError) as info:
        GAParamsSchema().load({"num_generations": 3, "num_parents_mating": 2})
    assert set(info.value.messages) == {"sol_per_pop", "num_genes"}


def test_it_takes_sol_per_pop_and_num_genes_from_initial_population():
    body = {"num_generations": 3, "num_parents_mating": 2, "initial_population": [[1, 2.5], [3, 4], [5, 6]]}
    params = effective_params(GAParamsSchema().load(body))
    assert (params["sol_per_pop"], params["num_genes"]) == (3, 2)
    assert params["initial_population"] == [[1, 2.5], [3, 4], [5, 6]]


def test_it_leaves_the_default_K_tournament_to_pygad_on_a_tiny_population():
    # PyGAD clips the default 3 to sol_per_pop quietly; only an explicit value is checked.
    load(sol_per_pop=2, num_parents_mating=2, parent_selection_type="tournament")
    assert errors_of(sol_per_pop=2, num_parents_mating=2, K_tournament=3) == {
        "K_tournament": ["must be <= sol_per_pop (2)"]}


def test_it_reads_json_null_operators_as_null():
    params = effective_params(load(crossover_type=None, mutation_type="null"))
    assert (params["crossover_type"], params["mutation_type"]) == ("null", "null")
    kwargs = build_ga_kwargs(params)
    assert kwargs["crossover_type"] is None and kwargs["mutation_type"] is None


def test_its_fields_and_rules_are_inherited_by_a_larger_schema():
    class SubmissionCreateSchema(GAParamsSchema):
        name = fields.String(load_default=None)

    loaded = SubmissionCreateSchema().load({**OVERVIEW_EXAMPLE, "name": "demo"})
    assert loaded["name"] == "demo" and effective_params(loaded)["sol_per_pop"] == 4
    with pytest.raises(ValidationError) as info:
        SubmissionCreateSchema().load({**OVERVIEW_EXAMPLE, "num_parents_mating": 5})
    assert info.value.messages == {"num_parents_mating": ["must be <= sol_per_pop (4)"]}


REJECTED = {
    # name: (overrides, field, words in the message)
    "num_parents_mating_above_sol_per_pop": ({"num_parents_mating": 5}, "num_parents_mating", "<= sol_per_pop (4)"),
    "init_range_low_not_below_high": ({"init_range_low": 1, "init_range_high": 1}, "init_range_high",
                                      "> init_range_low"),
    "random_mutation_min_above_max": ({"random_mutation_min_val": 2}, "random_mutation_max_val", ">= random_mutation"),
    "per_gene_bounds_of_the_wrong_length": ({"init_range_low": [0, 0], "init_range_high": [1, 1]}, "init_range_low",
                                            "num_genes (3)"),
    "per_gene_gene_space_of_the_wrong_length": ({"gene_space": [[1, 2], None]}, "gene_space", "num_genes (3)"),
    "per_gene_gene_type_of_the_wrong_length": ({"gene_type": ["int", "float"]}, "gene_type", "num_genes (3)"),
    "gene_categorical_of_the_wrong_length": ({"gene_categorical": [True]}, "gene_categorical", "num_genes (3)"),
    "a_categorical_gene_without_a_finite_space": ({"gene_categorical": True}, "gene_categorical", "gene_space"),
    "keep_elitism_above_sol_per_pop": ({"keep_elitism": 5}, "keep_elitism", "<= sol_per_pop (4)"),
    "keep_parents_above_num_parents_mating": ({"keep_parents": 3}, "keep_parents", "<= num_parents_mating (2)"),
    "keep_parents_below_minus_one": ({"keep_parents": -2}, "keep_parents", "-1"),
    "fitness_batch_size_above_sol_per_pop": ({"fitness_batch_size": 5}, "fitness_batch_size", "<= sol_per_pop (4)"),
    "fitness_batch_size_zero": ({"fitness_batch_size": 0}, "fitness_batch_size", "1"),
    "an_explicit_K_tournament_above_sol_per_pop": ({"K_tournament": 5}, "K_tournament", "<= sol_per_pop (4)"),
    "a_crossover_probability_above_one": ({"crossover_probability": 1.5}, "crossover_probability", "<= 1"),
    "a_negative_mutation_probability": ({"mutation_probability": -0.1}, "mutation_probability", ">= 0"),
    "adaptive_mutation_without_a_pair": ({"mutation_type": "adaptive"}, "mutation_percent_genes", "pair"),
    "adaptive_mutation_with_a_single_probability": ({"mutation_type": "adaptive", "mutation_probability": 0.2},
                                                    "mutation_probability", "pair"),
    "a_pair_without_adaptive_mutation": ({"mutation_probability": [0.5, 0.1]}, "mutation_probability", "single"),
    "mutation_percent_genes_of_zero": ({"mutation_percent_genes": 0}, "mutation_percent_genes", "> 0"),
    "mutation_percent_genes_above_100": ({"mutation_percent_genes": 101}, "mutation_percent_genes", "<= 100"),
    "mutation_percent_genes_words_other_than_default": ({"mutation_percent_genes": "most"},
                                                        "mutation_percent_genes", "number"),
    "mutation_num_genes_above_num_genes": ({"mutation_num_genes": 4}, "mutation_num_genes", "<= num_genes (3)"),
    "a_fractional_mutation_num_genes": ({"mutation_num_genes": 1.5}, "mutation_num_genes", "integer"),
    "an_unknown_stop_word": ({"stop_criteria": "stop_5"}, "stop_criteria", "stop criterion"),
    "a_stop_criterion_without_a_number": ({"stop_criteria": ["saturate_5", "reach"]}, "stop_criteria", "'reach'"),
    "saturate_zero": ({"stop_criteria": "saturate_0"}, "stop_criteria", "stop criterion"),
    "an_infinite_reach": ({"stop_criteria": "reach_1e400"}, "stop_criteria", "within"),
    "a_negative_random_seed": ({"random_seed": -1}, "random_seed", "0"),
    "a_random_seed_above_2_32": ({"random_seed": 2**32}, "random_seed", "4294967295"),
    "a_ragged_initial_population": ({"initial_population": [[1, 2], [3]]}, "initial_population", "same number"),
    "a_one_dimensional_initial_population": ({"initial_population": [1, 2]}, "initial_population", "2-D"),
    "a_non_finite_initial_population": ({"initial_population": [[1.0], [float("nan")]]}, "initial_population",
                                        "finite"),
    "booleans_in_initial_population": ({"initial_population": [[True], [False]]}, "initial_population", "number"),
    "an_initial_population_that_contradicts_sol_per_pop": ({"initial_population": [[1, 2, 3]] * 3}, "sol_per_pop",
                                                            "initial_population (3)"),
    "nsga3_without_divisions": ({"parent_selection_type": "nsga3"}, "nsga3_num_divisions", "required"),
    "an_unknown_parent_selection": ({"parent_selection_type": "best"}, "parent_selection_type", "one of"),
    "an_unknown_crossover": ({"crossover_type": "three_points"}, "crossover_type", "one of"),
    "an_unknown_mutation": ({"mutation_type": "gaussian"}, "mutation_type", "one of"),
    "a_gene_space_range_without_high": ({"gene_space": {"low": 1}}, "gene_space", "high"),
    "a_gene_space_range_upside_down": ({"gene_space": {"low": 2, "high": 1}}, "gene_space", "low < high"),
    "a_gene_space_step_leading_away": ({"gene_space": {"low": 0, "high": 1, "step": -1}}, "gene_space", "step"),
    "an_empty_gene_space": ({"gene_space": []}, "gene_space", "non-empty"),
    "an_unknown_gene_type": ({"gene_type": "complex"}, "gene_type", "gene type"),
    "rounding_an_integer_gene_type": ({"gene_type": ["int", 2]}, "gene_type", "cannot be rounded"),
    "a_negative_precision": ({"gene_type": ["float", -1]}, "gene_type", "precision"),
    "zero_generations": ({"num_generations": 0}, "num_generations", "1"),
    "a_population_of_one": ({"sol_per_pop": 1, "num_parents_mating": 1}, "sol_per_pop", "2"),
    "absurd_sizes": ({"sol_per_pop": 10**6}, "sol_per_pop", "10000"),
    "numbers_as_strings": ({"init_range_low": "-1"}, "init_range_low", "number"),
    "one_for_true": ({"allow_duplicate_genes": 1}, "allow_duplicate_genes", "true or false"),
    "absurd_numbers": ({"init_range_high": 1e300}, "init_range_high", "within"),
    # Rules PyGAD 3.9.2 only discovers while building the population or evolving:
    "an_init_range_without_an_integer": ({"gene_type": "int", "init_range_low": 0.2, "init_range_high": 0.8},
                                         "init_range_low", "holds no int value"),
    "an_init_range_outside_an_unsigned_type": ({"gene_type": "uint8", "init_range_low": -5, "init_range_high": -1},
                                               "init_range_low", "uint8"),
    "a_range_pygads_rounding_misses": ({"gene_type": ["float", 1], "init_range_low": -7.8, "init_range_high": -7.6},
                                       "init_range_low", "1-decimal rounding"),
    "a_gene_space_value_the_type_cannot_hold": ({"gene_type": "uint8", "gene_space": [0, 300]}, "gene_space",
                                                "uint8"),
    "float16_genes_beyond_its_range": ({"gene_type": "float16", "init_range_high": 1e5}, "init_range_low",
                                       "float16"),
    "no_crossover_with_too_few_parents_for_the_offspring": ({"crossover_type": "null", "num_parents_mating": 1,
                                                             "keep_elitism": 2}, "num_parents_mating", ">= 2"),
    "no_crossover_with_too_many_parents_for_kept_parents": (
        {"crossover_type": "null", "sol_per_pop": 8, "num_parents_mating": 8, "keep_elitism": 0, "keep_parents": 2},
        "num_parents_mating", "<= 6"),
    "swapping_values_into_a_narrow_gene_type": ({"gene_type": ["int", "uint8", "float"], "mutation_type": "swap"},
                                                "gene_type", "uint8"),
    "a_null_space_entry_for_an_unsigned_gene_with_swap": (
        {"gene_type": "uint8", "init_range_low": 0, "gene_space": [None, [0, 5, None], [1, 2]],
         "mutation_type": "swap"}, "gene_space", "uint8"),
    "a_null_list_entry_for_a_narrow_gene_with_sbx": ({"gene_type": "uint64", "gene_space": [None],
                                                      "crossover_type": "sbx"}, "gene_space", "init_range_low/high"),
    "unique_genes_over_a_huge_integer_range": ({"gene_type": "int", "allow_duplicate_genes": False,
                                                "init_range_low": 0, "init_range_high": 10**9},
                                               "allow_duplicate_genes", "at most"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
def test_it_rejects(case):
    overrides, field, words = REJECTED[case]
    messages = errors_of(**overrides)
    assert field in messages, messages
    assert any(words in message for message in messages[field]), messages[field]


RUNS = {
    **{f"selection_{s}": {"parent_selection_type": s, "K_tournament": 2} for s in
       ("sss", "rws", "sus", "rank", "random", "tournament")},
    **{f"multi_objective_{s}": {"parent_selection_type": s, "nsga3_num_divisions": 3} for s in
       ("nsga2", "tournament_nsga2", "nsga3", "tournament_nsga3")},
    **{f"crossover_{c}": {"crossover_type": c, "crossover_probability": 0.8} for c in
       ("single_point", "two_points", "uniform", "scattered", "sbx", None)},
    **{f"mutation_{m}": {"mutation_type": m, "mutation_num_genes": 2} for m in
       ("random", "swap", "inversion", "scramble", "polynomial", "null")},
    "mutation_adaptive_probabilities": {"mutation_type": "adaptive", "mutation_probability": [0.6, 0.1]},
    "mutation_adaptive_counts": {"mutation_type": "adaptive", "mutation_num_genes": [3, 1],
                                 "gene_space": {"low": 0, "high": 5}},
    "mutation_adaptive_percentages": {"mutation_type": "adaptive", "mutation_percent_genes": [60, 20]},
    "mutation_by_replacement": {"mutation_by_replacement": True, "mutation_probability": 0.3},
    "mutation_percent_below_one_gene": {"mutation_percent_genes": 1},
    "gene_type_int": {"gene_type": "int", "init_range_low": -5, "init_range_high": 5},
    "gene_type_narrow": {"gene_type": "uint8", "init_range_low": 0, "init_range_high": 255},
    "gene_type_rounded": {"gene_type": ["float32", 2]},
    "gene_type_per_gene": {"gene_type": ["int16", ["float", 1], "float16"], "mutation_type": "polynomial"},
    "gene_space_shared_list": {"gene_space": [0, 1, 2, 3, None]},
    "gene_space_range": {"gene_space": {"low": -2, "high": 2}, "crossover_type": "sbx"},
    "gene_space_stepped": {"gene_space": {"low": 0, "high": 10, "step": 0.5}, "gene_type": ["float", 1]},
    "gene_space_per_gene": {"gene_space": [[1, 2, 3], None, {"low": 0, "high": 9, "step": 3}]},
    "gene_categorical": {"gene_space": [[0, 1, 2], [5, 6], {"low": 0, "high": 4, "step": 1}],
                         "gene_categorical": [True, True, False], "mutation_type": "polynomial",
                         "crossover_type": "sbx"},
    "unique_genes": {"gene_type": "int", "gene_space": {"low": 0, "high": 10, "step": 1},
                     "allow_duplicate_genes": False, "sample_size": 20},
    "unique_permutation": {"gene_space": [0, 1, 2], "gene_type": "int", "allow_duplicate_genes": False,
                           "mutation_type": "swap"},
    "initial_population": {"sol_per_pop": None, "num_genes": None, "initial_population": [[0, 1, 2.5], [3, 4, 5],
                                                                                         [-1, 0, 1], [2, 2, 2]]},
    "stop_criteria": {"stop_criteria": ["reach_0.99", "saturate_3", "evaluations_500", "time_60"]},
    "fitness_batches": {"fitness_batch_size": 3},
    "multi_objective_batches": {"parent_selection_type": "nsga2", "fitness_batch_size": 2,
                                "stop_criteria": "reach_2_2"},
    "keep_parents": {"keep_elitism": 0, "keep_parents": 1},
    "save_everything": {"save_best_solutions": True, "save_solutions": True},
    "per_gene_ranges": {"init_range_low": [0, -1, 5], "init_range_high": [1, 1, 6],
                        "random_mutation_min_val": [0, -1, -0.5], "random_mutation_max_val": [0.1, 1, 0.5]},
}


@pytest.mark.parametrize("case", sorted(RUNS))
def test_pygad_runs_every_kind_of_accepted_parameter_set(case):
    overrides = {"sol_per_pop": 6, "num_parents_mating": 3, "num_generations": 4, "random_seed": 1,
                 **RUNS[case]}
    body = {k: v for k, v in {**OVERVIEW_EXAMPLE, **overrides}.items() if v is not None or k.endswith("_type")}
    params = effective_params(GAParamsSchema().load(body))
    ga = run_stored(params)
    assert ga.generations_completed >= 1 and len(ga.best_solutions_fitness) >= 2


def test_a_seeded_run_is_exactly_a_hand_written_pygad_run():
    body = {"num_generations": 12, "sol_per_pop": 8, "num_parents_mating": 4, "random_seed": 2024,
            "gene_type": [["float", 2], "int16", "float32"], "crossover_type": "two_points",
            "gene_space": [None, {"low": -5, "high": 5}, [0.5, 1.5, 2.5]], "parent_selection_type": "tournament",
            "K_tournament": 3, "mutation_type": "adaptive", "mutation_probability": [0.5, 0.1],
            "keep_elitism": 2, "save_best_solutions": True, "initial_population": None, "num_genes": 3}
    by_hand = dict(num_generations=12, sol_per_pop=8, num_parents_mating=4, num_genes=3, random_seed=2024,
                   gene_type=[[float, 2], numpy.int16, numpy.float32], crossover_type="two_points",
                   gene_space=[None, {"low": -5, "high": 5}, [0.5, 1.5, 2.5]], parent_selection_type="tournament",
                   K_tournament=3, mutation_type="adaptive", mutation_probability=[0.5, 0.1], keep_elitism=2,
                   save_best_solutions=True)
    params = effective_params(GAParamsSchema().load(body))
    ours = run_stored(params)
    theirs = pygad.GA(**by_hand, fitness_func=fitness_for(params), suppress_warnings=True)
    theirs.run()
    assert_same_run(ours, theirs)


def test_a_seeded_run_from_an_initial_population_is_exactly_a_hand_written_one():
    population = [[0.5, -1, 2], [1, 1, 1], [3, -2, 0.25], [0, 0, 0], [2, 2, -2]]
    body = {"num_generations": 9, "num_parents_mating": 3, "random_seed": 5, "initial_population": population,
            "mutation_type": "polynomial", "crossover_type": "sbx", "stop_criteria": "saturate_4"}
    params = effective_params(GAParamsSchema().load(body))
    ours = run_stored(params)
    theirs = pygad.GA(num_generations=9, num_parents_mating=3, random_seed=5, initial_population=population,
                      mutation_type="polynomial", crossover_type="sbx", stop_criteria="saturate_4",
                      fitness_func=fitness_for(params), suppress_warnings=True)
    theirs.run()
    assert_same_run(ours, theirs)


def assert_same_run(ours, theirs):
    ours_best, theirs_best = ours.best_solution(ours.last_generation_fitness), theirs.best_solution(
        theirs.last_generation_fitness)
    assert numpy.array_equal(ours_best[0], theirs_best[0]) and ours_best[1] == theirs_best[1]
    assert ours.best_solutions_fitness == theirs.best_solutions_fitness
    assert numpy.array_equal(ours.population, theirs.population)
    assert ours.population.dtype == theirs.population.dtype


def test_every_parameter_is_documented_in_the_openapi_schema():
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin

    spec = APISpec("vilvik", "1", "3.0.3", plugins=[MarshmallowPlugin()])
    spec.components.schema("GAParams", schema=GAParamsSchema)
    document = spec.to_dict()["components"]["schemas"]["GAParams"]
    assert set(document["properties"]) == set(PARAM_NAMES)
    assert all(prop.get("description") for prop in document["properties"].values())
    assert "null" in document["properties"]["mutation_type"]["enum"]
    assert document["required"] == ["num_generations", "num_parents_mating"]


def test_the_sandbox_builder_knows_exactly_the_schemas_parameters():
    assert GA_PARAM_NAMES == set(PARAM_NAMES)


def test_build_ga_kwargs_refuses_parameters_it_does_not_know():
    with pytest.raises(ValueError, match="on_generation"):
        build_ga_kwargs({**effective_params(load()), "on_generation": "print"})


def test_the_sandbox_builder_imports_neither_the_server_nor_marshmallow():
    code = ("import sys, vilvik_sandbox.ga_build; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('vilvik_server', 'flask', 'marshmallow')))")
    root = pathlib.Path(__file__).resolve().parents[1]
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=root)
    assert out.stdout.strip() == "[]"


def random_body(rng):
    """A random, often invalid, parameter set mixing every option the schema knows."""
    sol, genes = rng.randint(2, 7), rng.randint(1, 4)
    number = lambda: rng.choice([-300, -5, -1, -0.5, 0, 0.3, 1, 2.5, 4, 200, 70000])  # noqa: E731
    space = lambda: rng.choice([None, [number(), number(), None], [number()], {"low": -1, "high": number()},  # noqa
                                {"low": 0, "high": 6, "step": rng.choice([1, 0.5])}, number()])
    name = lambda: rng.choice(["int", "float", "int8", "uint8", "uint64", "float16", "float32", ["float", 1]])  # noqa
    body = {"num_generations": rng.randint(1, 3), "sol_per_pop": sol, "num_genes": genes,
            "num_parents_mating": rng.randint(1, sol), "random_seed": rng.randint(0, 100),
            "parent_selection_type": rng.choice(["sss", "rws", "tournament", "nsga2", "nsga3"]),
            "nsga3_num_divisions": 2, "keep_elitism": rng.randint(0, sol), "keep_parents": rng.randint(-1, 2),
            "crossover_type": rng.choice(["single_point", "uniform", "sbx", "null"]),
            "mutation_type": rng.choice(["random", "swap", "inversion", "scramble", "polynomial", "null"]),
            "mutation_by_replacement": rng.random() < 0.5, "allow_duplicate_genes": rng.random() < 0.6,
            "fitness_batch_size": rng.choice([None, 1, 2]), "sample_size": rng.choice([1, 10, 100])}
    if rng.random() < 0.7:
        low = number()
        body.update(init_range_low=low, init_range_high=low + rng.choice([0.3, 1, 10]))
    if rng.random() < 0.5:
        body["gene_type"] = name() if rng.random() < 0.5 else [name() for _ in range(genes)]
    if rng.random() < 0.5:
        body["gene_space"] = [space() for _ in range(genes)] if rng.random() < 0.6 else space()
    if rng.random() < 0.1:
        body["gene_categorical"] = True
    return body


def test_every_accepted_random_parameter_set_runs_in_pygad():
    rng, accepted = random.Random(20240603), 0
    for _ in range(400):
        try:
            params = effective_params(GAParamsSchema().load(random_body(rng)))
        except ValidationError:
            continue
        accepted += 1
        try:
            run_stored(params)
        except Exception as exc:  # noqa: BLE001 - report the parameters that broke PyGAD
            pytest.fail(f"PyGAD failed ({exc!r}) on accepted parameters {json.dumps(params)}")
    assert accepted > 100


def test_stored_parameters_load_again_unchanged():
    """A continuation reloads its parent's stored parameters: every default must load as given."""
    from vilvik_server.domain.ga_params import GAParamsSchema, effective_params
    for given in ({"num_generations": 5, "sol_per_pop": 4, "num_genes": 3, "num_parents_mating": 2},
                  {"num_generations": 5, "initial_population": [[1, 2], [3, 4], [5, 6]], "num_parents_mating": 2,
                   "mutation_type": "adaptive", "mutation_probability": [0.5, 0.1]}):
        stored = effective_params(GAParamsSchema().load(given))
        assert effective_params(GAParamsSchema().load(dict(stored))) == stored


@pytest.mark.parametrize("sol, npm, kept", [(6, 4, -1), (6, 4, 3), (6, 6, 3), (10, 6, 5), (10, 6, None)])
def test_it_refuses_a_null_crossover_that_would_mutate_the_kept_parents_in_place(sol, npm, kept):
    from marshmallow import ValidationError

    from vilvik_server.domain.ga_params import GAParamsSchema
    body = {"num_generations": 5, "sol_per_pop": sol, "num_genes": 4, "num_parents_mating": npm,
            "crossover_type": "null", "keep_elitism": 0}
    if kept is not None:
        body["keep_parents"] = kept
    with pytest.raises(ValidationError) as caught:
        GAParamsSchema().load(body)
    assert "keep_parents" in caught.value.messages
