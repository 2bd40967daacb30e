"""Turn stored (JSON) GA parameters into keyword arguments for ``pygad.GA``.

Runs inside the sandboxed worker: numpy, pygad and the standard library only.
"""
import copy

import numpy

# The JSON names of gene types and the types a Python user would pass to PyGAD.
GENE_TYPES = {
    "int": int, "float": float,
    "int8": numpy.int8, "int16": numpy.int16, "int32": numpy.int32, "int64": numpy.int64,
    "uint8": numpy.uint8, "uint16": numpy.uint16, "uint32": numpy.uint32, "uint64": numpy.uint64,
    "float16": numpy.float16, "float32": numpy.float32, "float64": numpy.float64,
}

# Every pygad.GA keyword the stored parameters may hold (callables are added by the caller);
# the same names as vilvik_server.domain.ga_params.PARAM_NAMES, which this module cannot import.
GA_PARAM_NAMES = frozenset((
    "num_generations", "num_parents_mating", "sol_per_pop", "num_genes", "initial_population",
    "init_range_low", "init_range_high", "gene_type", "gene_space", "gene_categorical",
    "parent_selection_type", "K_tournament", "keep_parents", "keep_elitism", "nsga3_num_divisions",
    "crossover_type", "crossover_probability", "sbx_crossover_eta", "mutation_type",
    "mutation_probability", "polynomial_mutation_eta", "mutation_by_replacement",
    "mutation_percent_genes", "mutation_num_genes", "random_mutation_min_val",
    "random_mutation_max_val", "sample_size", "allow_duplicate_genes", "save_best_solutions",
    "save_solutions", "stop_criteria", "random_seed", "fitness_batch_size",
))


def _gene_type_entry(entry):
    """One gene type: a name, or a [name, digits] rounding pair."""
    if isinstance(entry, str):
        return GENE_TYPES[entry]
    name, digits = entry
    return [GENE_TYPES[name], digits]


def gene_type_kwarg(value):
    """The gene_type argument: a type, a [type, digits] pair, or a list with one per gene."""
    if isinstance(value, str):
        return GENE_TYPES[value]
    is_pair = len(value) == 2 and isinstance(value[0], str) and not isinstance(value[1], (str, list))
    if is_pair:
        return _gene_type_entry(value)
    return [_gene_type_entry(entry) for entry in value]


def build_ga_kwargs(params: dict) -> dict:
    """Keyword arguments for pygad.GA from stored effective params (without fitness or callbacks)."""
    unknown = set(params) - GA_PARAM_NAMES
    if unknown:
        # A silently dropped parameter would make the run differ from what the user asked for.
        raise ValueError(f"unknown GA parameters: {', '.join(sorted(unknown))}")
    kwargs = copy.deepcopy(params)   # PyGAD copies containers too, but the stored dict must never change
    for name in ("crossover_type", "mutation_type"):
        if kwargs.get(name) == "null":
            kwargs[name] = None
    if "gene_type" in kwargs:
        kwargs["gene_type"] = gene_type_kwarg(kwargs["gene_type"])
    population = kwargs.get("initial_population")
    if population is not None:
        # Exact integers stay integers; any float makes the whole array float64, as numpy would.
        is_int = all(isinstance(v, int) for row in population for v in row)
        kwargs["initial_population"] = numpy.array(population, dtype=numpy.int64 if is_int else numpy.float64)
        # PyGAD takes both sizes from the population; drop the copies to avoid any doubt.
        kwargs.pop("sol_per_pop", None)
        kwargs.pop("num_genes", None)
    return kwargs
