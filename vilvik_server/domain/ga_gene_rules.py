"""The rules about each gene: its type, its space and the ranges PyGAD 3.9.2 casts to its type.

Like ga_rules.py, one function per rule, each naming the PyGAD behaviour it mirrors; the
per-gene rules run gene by gene, so the first problem found for a field is the first gene's.
"""
from dataclasses import dataclass

from .ga_fields import MAX_UNIQUE_CANDIDATES, PERMUTATIONS, RANGE_DEFAULTS
from .ga_rules import dims
from .ga_types import FLOAT_TYPES, INT_TYPES, WIDE_TYPES, candidates, explicit_values, fits, is_type_pair, \
    range_problem


@dataclass(frozen=True)
class Gene:
    """One gene's settings, as PyGAD reads them for gene `index`."""

    index: int
    type_name: str
    digits: int | None
    space: object
    categorical: bool
    low: float
    high: float
    mutation_low: float
    mutation_high: float
    at: str   # " (gene 2)" in a message, when there is more than one gene

    @property
    def free(self):
        """Whether PyGAD may give it any value of a range (no space, or a space with a null entry)."""
        return self.space is None or (isinstance(self.space, list) and None in self.space)

    @property
    def finite(self):
        """Whether its space is a finite set of numbers: a list without null, or a stepped range."""
        return (isinstance(self.space, list) and not self.free
                or isinstance(self.space, dict) and "step" in self.space)


_BOUNDS = ("init_range_low", "init_range_high", "random_mutation_min_val", "random_mutation_max_val")


def _per_gene(data, name, genes):
    value = data.get(name, RANGE_DEFAULTS[name])
    return value if isinstance(value, list) else [value] * genes


def _type_entries(data, genes):
    gene_type = data.get("gene_type", "float")
    return [gene_type] * genes if isinstance(gene_type, str) or is_type_pair(gene_type) else gene_type


def _nested_space(data):
    space = data.get("gene_space")
    return isinstance(space, list) and any(isinstance(v, (list, dict)) for v in space)


def genes_of(data, genes):
    """Every gene's settings; per-gene lists must already have num_genes entries."""
    types = [(t, None) if isinstance(t, str) else tuple(t) for t in _type_entries(data, genes)]
    space, categorical = data.get("gene_space"), data.get("gene_categorical")
    spaces = space if _nested_space(data) else [space] * genes
    flags = categorical if isinstance(categorical, list) else [bool(categorical)] * genes
    bounds = [_per_gene(data, name, genes) for name in _BOUNDS]
    return [Gene(i, name, digits, spaces[i], flags[i], *(b[i] for b in bounds), f" (gene {i})" if genes > 1 else "")
            for i, (name, digits) in enumerate(types)]


def per_gene_lists_have_num_genes_entries(data, genes, errors):
    """PyGAD reads a list of gene types, of spaces or of categorical flags as one entry per gene."""
    space = data.get("gene_space") if _nested_space(data) else None
    for name, value in (("gene_type", _type_entries(data, genes)), ("gene_space", space),
                        ("gene_categorical", data.get("gene_categorical"))):
        if isinstance(value, list) and len(value) != genes:
            errors[name] = [f"must have one entry per gene: length must be num_genes ({genes})"]


def permutations_move_values_only_between_wide_types(data, genes, errors):
    """Swap, inversion and scramble mutation move values between genes; numpy raises when one does not
    fit the type of the gene it lands in, so narrow types cannot be mixed with others."""
    names = {name for name, _ in ((t, None) if isinstance(t, str) else tuple(t) for t in _type_entries(data, genes))}
    mutation = data.get("mutation_type", "random")
    if len(names) > 1 and mutation in PERMUTATIONS and not names <= WIDE_TYPES:
        errors["gene_type"] = [f"{mutation} mutation moves values between genes, so "
                               f"{', '.join(sorted(names - WIDE_TYPES))} genes cannot be mixed with other types "
                               f"(only {', '.join(sorted(WIDE_TYPES))} mix)"]


def categorical_gene_has_a_finite_space(data, gene, errors):
    """PyGAD picks a categorical gene's new value among its space's values: it needs a finite set of them."""
    if gene.categorical and not gene.finite:
        errors.setdefault("gene_categorical", [f"a categorical gene needs a gene_space list of numbers or a "
                                               f"stepped range{gene.at}"])


def init_range_holds_a_value_of_the_type(data, gene, errors):
    """PyGAD raises while building the population when [init_range_low, init_range_high) holds no value of
    the gene's type (after its rounding). An empty range (low >= high) is reported by init_range_is_ordered."""
    problem = gene.free and gene.low < gene.high and range_problem(gene.low, gene.high, gene.type_name, gene.digits)
    if problem:
        errors.setdefault("init_range_low", [f"[init_range_low, init_range_high) = [{gene.low}, {gene.high}) "
                                             f"{problem}{gene.at}"])


def space_range_holds_a_value_of_the_type(data, gene, errors):
    """The same for a {"low", "high"} gene_space range, which PyGAD samples like an init range."""
    space = gene.space
    problem = isinstance(space, dict) and "step" not in space and range_problem(
        space["low"], space["high"], gene.type_name, gene.digits)
    if problem:
        errors.setdefault("gene_space", [f"the range {space} {problem}{gene.at}"])


def space_values_fit_the_type(data, gene, errors):
    """PyGAD casts every value a space names to the gene's type; numpy raises OverflowError on one that does not fit."""
    if not all(fits(v, gene.type_name) for v in explicit_values(gene.space)):
        errors.setdefault("gene_space", [f"holds a value that does not fit gene_type {gene.type_name}{gene.at}"])


def initial_population_values_fit_the_type(data, gene, errors):
    """PyGAD casts initial_population to the gene types; numpy raises OverflowError on a value that does not fit."""
    population = data.get("initial_population")
    if population is not None and not all(fits(row[gene.index], gene.type_name) for row in population):
        errors.setdefault("initial_population", [f"holds a value that does not fit gene_type "
                                                 f"{gene.type_name}{gene.at}"])


def mutation_range_fits_a_float_type(data, gene, errors):
    """PyGAD casts random mutation values to a float gene's type; beyond its range they become inf."""
    if gene.type_name in FLOAT_TYPES and not _mutation_range_fits(gene):
        errors.setdefault("random_mutation_max_val", [f"the mutation range does not fit gene_type "
                                                      f"{gene.type_name}{gene.at}"])


def _mutation_range_fits(gene):
    return fits(gene.mutation_low, gene.type_name) and fits(gene.mutation_high, gene.type_name)


def _casts_ranges(data):
    """Checking a value against a space with a null entry (permutation or polynomial mutation, SBX, duplicate
    repair), PyGAD 3.9.2 casts the mutation range (plus the gene, unless replacing it) and, for a list,
    the init range to the gene's type."""
    return data.get("gene_space") is not None and (
        not data.get("allow_duplicate_genes", True) or data.get("crossover_type") == "sbx"
        or data.get("mutation_type", "random") in PERMUTATIONS + ("polynomial",))


def null_space_entry_ranges_fit_a_narrow_integer_type(data, gene, errors):
    """Where PyGAD casts those ranges (see _casts_ranges), numpy raises OverflowError outside a narrow
    integer type's limits: they must lie within them."""
    if not (_casts_ranges(data) and gene.free and gene.type_name in INT_TYPES and gene.type_name not in WIDE_TYPES):
        return
    name = gene.type_name
    if gene.space is None:
        casts_fit = _mutation_range_fits(gene) and data.get("mutation_by_replacement")
        needs = "mutation_by_replacement=true and random_mutation_min_val/max_val"
    else:
        casts_fit = _mutation_range_fits(gene) and fits(gene.low, name) and fits(gene.high, name)
        needs = "init_range_low/high and random_mutation_min_val/max_val"
    if not casts_fit:
        errors.setdefault("gene_space", [f"a null entry for a {name} gene needs {needs} within {name}'s limits "
                                         f"with this mutation, crossover or allow_duplicate_genes{gene.at}"])


PER_GENE_RULES = (
    categorical_gene_has_a_finite_space, init_range_holds_a_value_of_the_type, space_range_holds_a_value_of_the_type,
    space_values_fit_the_type, initial_population_values_fit_the_type, mutation_range_fits_a_float_type,
    null_space_entry_ranges_fit_a_narrow_integer_type,
)


def unique_genes_list_a_bounded_number_of_candidates(data, genes, errors):
    """With allow_duplicate_genes false, PyGAD lists every candidate value of every gene to repair a
    duplicate: integer ranges and stepped spaces in full. Past a ceiling that is memory, not a run."""
    if data.get("allow_duplicate_genes", True):
        return
    total = sum(candidates(gene.type_name, gene.space, gene.free,
                           ((gene.low, gene.high), (gene.mutation_low, gene.mutation_high)))
                for gene in genes)
    if total > MAX_UNIQUE_CANDIDATES:
        errors.setdefault("allow_duplicate_genes", [
            f"false makes PyGAD list every candidate value of every gene: these settings give {total} "
            f"(at most {MAX_UNIQUE_CANDIDATES}); narrow the integer ranges or the gene_space steps"])


def gene_errors(data):
    """The per-gene rules, gene by gene; none when num_genes is unknown (another rule says why)."""
    genes, errors = dims(data)[1], {}
    if genes is None:
        return errors
    per_gene_lists_have_num_genes_entries(data, genes, errors)
    if errors or any(len(_per_gene(data, name, genes)) != genes for name in _BOUNDS):
        return errors   # wrong bound lengths are reported by init_range_is_ordered and mutation_range_is_ordered
    permutations_move_values_only_between_wide_types(data, genes, errors)
    every_gene = genes_of(data, genes)
    for gene in every_gene:
        for rule in PER_GENE_RULES:
            rule(data, gene, errors)
    unique_genes_list_a_bounded_number_of_candidates(data, every_gene, errors)
    return errors
