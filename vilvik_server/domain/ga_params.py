"""The PyGAD parameters of a submission, checked against pygad 3.9.2.

Whatever GAParamsSchema accepts, ``pygad.GA`` accepts and can run: rules PyGAD only meets
while building the population or evolving are field errors here. Loaded values stay JSON.
The schema declares the fields (each parsed by ga_fields.py) and runs the rules that
relate them (ga_rules.py and ga_gene_rules.py, one function per rule); ga_types.py knows
the gene types.
"""
import copy

from marshmallow import Schema, ValidationError, validates_schema

from . import ga_gene_rules, ga_rules
from .ga_fields import (BOOL, CROSSOVER_TYPES, MAX_ETA, MAX_NSGA3_DIVISIONS, MAX_NUM_GENERATIONS, MAX_NUM_GENES,
                        MAX_SAMPLE_SIZE, MAX_SOL_PER_POP, MUTATION_TYPES, NUMBERS, OPS, PARENT_SELECTION_TYPES,
                        RANGE_DEFAULTS, boolean, bounded, choice, int_field, json_field, or_default, parse_categorical,
                        parse_gene_space, parse_gene_type, parse_population, parse_range, parse_stop_criteria)


class GAParamsSchema(Schema):
    """Every JSON-expressible ``pygad.GA`` parameter, by PyGAD's names, with PyGAD's defaults."""

    num_generations = int_field(1, MAX_NUM_GENERATIONS, None, "Generations to evolve.", required=True)
    num_parents_mating = int_field(1, MAX_SOL_PER_POP, None, "Parents mating each generation.", required=True)
    sol_per_pop = int_field(2, MAX_SOL_PER_POP, None, "Solutions in the population (unless initial_population).")
    num_genes = int_field(1, MAX_NUM_GENES, None, "Genes per solution (unless initial_population).")
    initial_population = json_field(parse_population, None, "Starting solutions (lists of genes); sets sol_per_pop "
                               "and num_genes.", type="array", items={"type": "array", "items": {"type": "number"}})
    init_range_low = json_field(parse_range, RANGE_DEFAULTS["init_range_low"], "Lowest initial gene value (or one per gene).", **NUMBERS)
    init_range_high = json_field(parse_range, RANGE_DEFAULTS["init_range_high"], "Initial gene values stay below it (or one per gene).", **NUMBERS)
    gene_type = json_field(parse_gene_type, "float", 'A type name ("int", "float", "int8".."uint64", "float16".."float64"),'
                      ' ["float", digits] to round, or one per gene.')
    gene_space = json_field(parse_gene_space, None, 'Allowed values: a list for every gene, {"low", "high"[, "step"]}, '
                       "or one per gene (list, range, number or null); null means any value.")
    gene_categorical = json_field(parse_categorical, None, "Unordered genes (a bool, or one per gene); they need a "
                             "gene_space list or stepped range.")
    parent_selection_type = json_field(choice(PARENT_SELECTION_TYPES), "sss", "Parent selection (nsga ones need a "
                                  "multi-objective fitness).", enum=list(PARENT_SELECTION_TYPES), **OPS)
    K_tournament = int_field(1, MAX_SOL_PER_POP, 3, "Solutions per tournament (tournament selections).")
    keep_parents = int_field(-1, MAX_SOL_PER_POP, None, "Parents kept (-1 or null: all); used only when keep_elitism is 0.")
    keep_elitism = int_field(0, MAX_SOL_PER_POP, 1, "Best solutions copied to the next generation.")
    nsga3_num_divisions = int_field(1, MAX_NSGA3_DIVISIONS, None, "Divisions per objective for NSGA-III reference points.")
    crossover_type = json_field(choice(CROSSOVER_TYPES), "single_point", 'Crossover; "null" skips it.',
                           enum=list(CROSSOVER_TYPES), **OPS)
    crossover_probability = json_field(bounded(0, 1), None, "Chance of a parent taking part in crossover.", type="number")
    sbx_crossover_eta = json_field(bounded(0, MAX_ETA, True), 30, "SBX distribution index (> 0).", type="number")
    mutation_type = json_field(choice(MUTATION_TYPES), "random", 'Mutation; "null" skips it.', enum=list(MUTATION_TYPES),
                          **OPS)
    mutation_probability = json_field(bounded(0, 1, pair=True), None, "Chance of mutating a gene, [high, low] for "
                                 "adaptive; wins over the gene counts.", **NUMBERS)
    polynomial_mutation_eta = json_field(bounded(0, MAX_ETA, True), 20, "Polynomial mutation index (> 0).", type="number")
    mutation_by_replacement = json_field(boolean, False, "Random mutation replaces genes instead of adding to them.", **BOOL)
    mutation_percent_genes = json_field(or_default(bounded(0, 100, True, pair=True)), "default", 'Percent of genes mutated ("default":'
                                   ' 10), [high, low] for adaptive.', oneOf=[OPS] + NUMBERS["oneOf"])
    mutation_num_genes = json_field(bounded(1, MAX_NUM_GENES, integer=True, pair=True), None, "Genes mutated, [high, low]"
                               " for adaptive; wins over mutation_percent_genes.", **NUMBERS)
    random_mutation_min_val = json_field(parse_range, RANGE_DEFAULTS["random_mutation_min_val"], "Lowest random mutation value (or one per gene).", **NUMBERS)
    random_mutation_max_val = json_field(parse_range, RANGE_DEFAULTS["random_mutation_max_val"], "Highest random mutation value (or one per gene).", **NUMBERS)
    sample_size = int_field(1, MAX_SAMPLE_SIZE, 100, "Candidates drawn when looking for a unique or allowed value.")
    allow_duplicate_genes = json_field(boolean, True, "Allow equal genes in a solution (false: PyGAD repairs).", **BOOL)
    save_best_solutions = json_field(boolean, False, "Keep the best solution of every generation.", **BOOL)
    save_solutions = json_field(boolean, False, "Keep every solution of every generation (memory hungry).", **BOOL)
    stop_criteria = json_field(parse_stop_criteria, None, '"reach_<fitness>", "saturate_<generations>", "time_<seconds>"'
                          ', "evaluations_<count>", or a list of them.', oneOf=[OPS, {"type": "array", "items": OPS}])
    random_seed = int_field(0, 2**32 - 1, None, "Seed making the run reproducible.")
    fitness_batch_size = int_field(1, MAX_SOL_PER_POP, None, "Solutions per fitness call; null: one at a time.")

    @validates_schema(pass_original=True)
    def _check_sizes_and_selection(self, data, original, **kwargs):
        _raise(ga_rules.errors_of(ga_rules.SIZE_AND_SELECTION_RULES, data, original))

    @validates_schema(pass_original=True)
    def _check_ranges_and_mutation(self, data, original, **kwargs):
        _raise(ga_rules.errors_of(ga_rules.RANGE_AND_MUTATION_RULES, data, original))

    @validates_schema
    def _check_genes(self, data, **kwargs):
        _raise(ga_gene_rules.gene_errors(data))


def _raise(errors):
    if errors:
        raise ValidationError(errors)


PARAM_NAMES = tuple(GAParamsSchema._declared_fields)
PARAM_DEFAULTS = {name: None if f.required else f.load_default for name, f in GAParamsSchema._declared_fields.items()}


def _copied(value):
    # Only lists and dicts can be shared with `loaded` or the defaults; strings, numbers and None are immutable.
    return copy.deepcopy(value) if isinstance(value, (list, dict)) else value


def effective_params(loaded: dict) -> dict:
    """Every GA parameter, defaults filled and sizes taken from initial_population, as plain JSON."""
    params = {name: _copied(loaded.get(name, PARAM_DEFAULTS[name])) for name in PARAM_NAMES}
    for name in ("crossover_type", "mutation_type"):
        params[name] = "null" if params[name] is None else params[name]
    if params["initial_population"] is not None:
        params["sol_per_pop"], params["num_genes"] = ga_rules.dims(params)
    return params
