"""The rules that relate PyGAD parameters to each other: one function per rule, each naming the
PyGAD 3.9.2 behaviour it mirrors.

A rule takes the loaded parameters (`data`; a field left out is absent), the body as sent
(`given`) and the errors found so far, and adds its own: `errors[field]` is a list of
messages. Rules run in the order of the lists below; within a check a later rule may rely
on what an earlier one found. Whatever passes, ``pygad.GA`` accepts and can run: some of
these PyGAD itself only discovers while building the population or evolving. The rules
about each gene (its type, space and ranges) are in ga_gene_rules.py.
"""
from dataclasses import dataclass

from .ga_fields import RANGE_DEFAULTS
from .ga_types import as_list


def dims(data):
    """(sol_per_pop, num_genes): PyGAD takes both from initial_population's shape when it is given."""
    population = data.get("initial_population")
    return (len(population), len(population[0])) if population else (data.get("sol_per_pop"), data.get("num_genes"))


def _add(errors, name, message):
    errors.setdefault(name, []).append(message)


def _at_most(errors, name, value, bound, bound_name):
    if value is not None and bound is not None and value > bound:
        _add(errors, name, f"must be <= {bound_name} ({bound})")


# -- sizes and selection ----------------------------------------------------------------------


def sizes_match_initial_population(data, given, errors):
    """PyGAD sets sol_per_pop and num_genes from initial_population's shape; a different value is a contradiction."""
    population = data.get("initial_population")
    if not population:
        return
    for name, size in (("sol_per_pop", len(population)), ("num_genes", len(population[0]))):
        if data.get(name) is not None and data[name] != size:
            errors[name] = [f"must equal the size of initial_population ({size}) or be left out"]


def initial_population_holds_two_solutions(data, given, errors):
    """PyGAD needs two solutions to mate, like sol_per_pop's own minimum."""
    population = data.get("initial_population")
    if population is not None and len(population) < 2:
        errors["initial_population"] = ["must hold at least 2 solutions"]


def sizes_given_without_initial_population(data, given, errors):
    """Without initial_population PyGAD builds one of sol_per_pop solutions of num_genes genes: both are needed."""
    if data.get("initial_population") is not None:
        return
    for name in ("sol_per_pop", "num_genes"):
        if data.get(name) is None:
            errors[name] = ["is required unless initial_population is given"]


def keep_parents_at_most_parents_mating(data, given, errors):
    """PyGAD refuses keep_parents above num_parents_mating: it keeps parents out of those that mate."""
    _at_most(errors, "keep_parents", data.get("keep_parents"), data.get("num_parents_mating"), "num_parents_mating")


def counts_at_most_the_population(data, given, errors):
    """PyGAD refuses num_parents_mating, keep_elitism and fitness_batch_size above sol_per_pop, and an explicit
    K_tournament too (its default, 3, it clips quietly to a smaller population)."""
    solutions = dims(data)[0]
    if solutions is None:
        return
    counted = ("num_parents_mating", "keep_elitism", "fitness_batch_size")
    if "K_tournament" in given:
        counted += ("K_tournament",)
    for name in counted:
        _at_most(errors, name, data.get(name), solutions, "sol_per_pop")


@dataclass(frozen=True)
class _NoCrossover:
    """What the three no-crossover rules read: with crossover_type null, PyGAD 3.9.2 fills the offspring by
    slicing the parents (then the population), and NSGA-III may grow sol_per_pop later on."""

    solutions: int
    parents_mating: int
    elitism: int
    keep_parents: int | None
    grows: bool

    @classmethod
    def of(cls, data):
        solutions, parents_mating = dims(data)[0], data.get("num_parents_mating")
        if solutions is None or parents_mating is None or data.get("crossover_type") != "null":
            return None
        return cls(solutions, parents_mating, data.get("keep_elitism", 1), data.get("keep_parents"),
                   "nsga3" in data.get("parent_selection_type", "sss"))

    @property
    def kept_count(self):
        """How many parents PyGAD keeps: keep_parents, or all that mated when it is -1 or null."""
        return self.parents_mating if self.keep_parents in (None, -1) else self.keep_parents


def no_crossover_mates_enough_parents_beside_the_elite(data, given, errors):
    """Without crossover, an elite that leaves no more room than itself needs that many mated parents
    (sol_per_pop - keep_elitism of them, or keep_elitism when NSGA-III may grow the population):
    fewer, and PyGAD 3.9.2's offspring slices come out the wrong size."""
    run = _NoCrossover.of(data)
    if run is None or not 0 < run.elitism or run.solutions - run.elitism > run.elitism:
        return
    needed = run.elitism if run.grows else run.solutions - run.elitism
    if run.parents_mating < needed:
        _add(errors, "num_parents_mating",
             f"must be >= {needed} when crossover_type is null and keep_elitism is {run.elitism}")


def no_crossover_keeps_fewer_than_half(data, given, errors):
    """Without crossover and without an elite, keeping half the population or more makes the offspring a
    view of the kept parents: mutation changes those in place and PyGAD 3.9.2 keeps their stale fitness,
    so the reported best is wrong."""
    run = _NoCrossover.of(data)
    if run is None or run.elitism != 0 or run.grows or not 0 < run.kept_count or 2 * run.kept_count < run.solutions:
        return
    _add(errors, "keep_parents",
         f"must keep fewer than half of sol_per_pop ({run.kept_count} kept of {run.solutions}) when crossover_type "
         f"is null and keep_elitism is 0 (set keep_parents lower, or keep_elitism above 0)")


def no_crossover_mates_no_more_than_the_room_left(data, given, errors):
    """Without crossover and without an elite, the kept parents leave sol_per_pop - keep_parents places
    (at least keep_parents + 1 when NSGA-III may grow the population); more mated parents and PyGAD
    3.9.2's offspring slices come out the wrong size."""
    run = _NoCrossover.of(data)
    kept = None if run is None else run.keep_parents
    if run is None or run.elitism != 0 or kept is None or not 0 < kept:
        return
    room = run.solutions - kept
    if not (room > kept or run.grows):
        return
    most = max(room, kept + 1) if run.grows else room
    if run.parents_mating > most:
        _add(errors, "num_parents_mating", f"must be <= {most} when crossover_type is null and keep_parents is {kept}")


def nsga3_has_divisions(data, given, errors):
    """PyGAD's NSGA-III builds its reference points from nsga3_num_divisions and has no default for it."""
    selection = data.get("parent_selection_type", "sss")
    if "nsga3" in selection and data.get("nsga3_num_divisions") is None:
        errors["nsga3_num_divisions"] = [f"is required by parent_selection_type {selection}"]


SIZE_AND_SELECTION_RULES = (
    sizes_match_initial_population, initial_population_holds_two_solutions, sizes_given_without_initial_population,
    keep_parents_at_most_parents_mating, counts_at_most_the_population,
    no_crossover_mates_enough_parents_beside_the_elite, no_crossover_keeps_fewer_than_half,
    no_crossover_mates_no_more_than_the_room_left, nsga3_has_divisions,
)


# -- ranges and mutation ----------------------------------------------------------------------


def _ordered_bounds(data, errors, low, high, strict):
    genes = dims(data)[1]
    lows, highs = data.get(low, RANGE_DEFAULTS[low]), data.get(high, RANGE_DEFAULTS[high])
    if isinstance(lows, list) != isinstance(highs, list):
        errors[high] = [f"must be a number like {low}, or a list like {low}"]
    for name, value in ((low, lows), (high, highs)):
        if isinstance(value, list) and genes is not None and len(value) != genes:
            errors[name] = [f"must have one value per gene: length must be num_genes ({genes})"]
    for i, (lo, hi) in enumerate(zip(as_list(lows), as_list(highs))):
        if (lo >= hi if strict else lo > hi) and high not in errors:
            at = f" at gene {i}" if isinstance(lows, list) else ""
            errors[high] = [f"must be {'>' if strict else '>='} {low} ({lo}){at}"]


def init_range_is_ordered(data, given, errors):
    """PyGAD draws initial genes from [init_range_low, init_range_high): it must hold a value. Both are
    numbers or both per-gene lists of num_genes values."""
    _ordered_bounds(data, errors, "init_range_low", "init_range_high", strict=True)


def mutation_range_is_ordered(data, given, errors):
    """PyGAD draws random mutation values from [random_mutation_min_val, random_mutation_max_val]."""
    _ordered_bounds(data, errors, "random_mutation_min_val", "random_mutation_max_val", strict=False)


MUTATION_AMOUNTS = ("mutation_probability", "mutation_percent_genes", "mutation_num_genes")


def pairs_only_for_adaptive_mutation(data, given, errors):
    """PyGAD reads a [high, low] pair of mutation amounts for adaptive mutation, and one value otherwise."""
    mutation = data.get("mutation_type", "random")
    for name in MUTATION_AMOUNTS:
        value = data.get(name)
        if value in (None, "default") or mutation == "null":
            continue
        if isinstance(value, list) != (mutation == "adaptive"):
            errors[name] = ["must be a single value (pairs are for adaptive mutation)" if mutation != "adaptive"
                            else "must be a pair [high, low] for adaptive mutation"]


def mutation_num_genes_at_most_num_genes(data, given, errors):
    """PyGAD refuses to mutate more genes than a solution has."""
    genes, value = dims(data)[1], data.get("mutation_num_genes")
    if value in (None, "default") or data.get("mutation_type", "random") == "null" or genes is None \
            or "mutation_num_genes" in errors:
        return
    if max(as_list(value)) > genes:
        errors["mutation_num_genes"] = [f"must be <= num_genes ({genes})"]


def adaptive_mutation_has_a_pair(data, given, errors):
    """PyGAD's adaptive mutation needs a [high, low] pair in one of the three amounts; its default has none."""
    if data.get("mutation_type", "random") == "adaptive" and data.get("mutation_percent_genes", "default") == "default" \
            and all(data.get(name) is None for name in ("mutation_probability", "mutation_num_genes")):
        errors["mutation_percent_genes"] = ["adaptive mutation needs a pair [high, low] here, in "
                                            "mutation_probability or in mutation_num_genes"]


RANGE_AND_MUTATION_RULES = (
    init_range_is_ordered, mutation_range_is_ordered, pairs_only_for_adaptive_mutation,
    mutation_num_genes_at_most_num_genes, adaptive_mutation_has_a_pair,
)


def errors_of(rules, data, given):
    """Run `rules` in order; the errors they found, by field."""
    errors = {}
    for rule in rules:
        rule(data, given, errors)
    return errors
