"""The PyGAD parameters of a submission, checked against pygad 3.9.2.

Whatever GAParamsSchema accepts, ``pygad.GA`` accepts and can run: rules PyGAD only meets
while building the population or evolving are field errors here. Loaded values stay JSON.
"""
import copy
import functools
import math
import re

import numpy
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

# Hard ceilings, far above any sensible run; per-account quotas are checked elsewhere.
MAX_NUM_GENERATIONS = 1_000_000
MAX_SOL_PER_POP = 10_000
MAX_NUM_GENES = 10_000
MAX_POPULATION_VALUES = 1_000_000    # cells of initial_population
MAX_SPACE_VALUES = 100_000           # numbers in gene_space, all lists together
MAX_STEPPED_SPACE_SIZE = 10**9       # values in one {"low", "high", "step"} range
MAX_UNIQUE_CANDIDATES = 1_000_000    # values PyGAD lists per repair when duplicates are refused
MAX_ABS_NUMBER = 1e15                # keeps every number exact in int64 and float64
MAX_PRECISION = 20
MAX_SAMPLE_SIZE = 100_000
MAX_NSGA3_DIVISIONS = 100            # NSGA-III grows the population to C(M+p-1, p) points
MAX_ETA = 1e6
MAX_STOP_CRITERIA = 16

PARENT_SELECTION_TYPES = ("sss", "rws", "sus", "rank", "random", "tournament", "nsga2", "tournament_nsga2",
                          "nsga3", "tournament_nsga3")
CROSSOVER_TYPES = ("single_point", "two_points", "uniform", "scattered", "sbx", "null")
MUTATION_TYPES = ("random", "swap", "inversion", "scramble", "adaptive", "polynomial", "null")
_PERMUTATIONS = ("swap", "inversion", "scramble")
# Integer gene type -> (lowest, highest) value ("int" is stored as int64); float type -> largest value.
INT_TYPES = {"int": (-2**63, 2**63 - 1), "int8": (-2**7, 2**7 - 1), "int16": (-2**15, 2**15 - 1),
             "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1), "uint8": (0, 2**8 - 1),
             "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1)}
FLOAT_TYPES = {"float": 1.7976931348623157e308, "float16": 65504.0, "float32": 3.4028234663852886e38,
               "float64": 1.7976931348623157e308}
GENE_TYPE_NAMES = tuple(INT_TYPES) + tuple(FLOAT_TYPES)
_WIDE_TYPES = {"int", "int64", "float", "float32", "float64"}   # hold any number we accept
_NUM = r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
STOP_CRITERION_RE = re.compile(rf"reach(?:_[-+]?{_NUM})+|time_\+?{_NUM}|saturate_[1-9]\d{{0,9}}|"
                               r"evaluations_[1-9]\d{0,12}")


def _number(value, what=""):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{what} must be a number".lstrip())
    if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
        raise ValidationError(f"{what} must be finite and within ±{MAX_ABS_NUMBER:g}".lstrip())
    return value


def _list(value, what, max_len):
    if not isinstance(value, list) or not 1 <= len(value) <= max_len:
        raise ValidationError(f"{what} must be a non-empty list of at most {max_len} items")
    return value


def _bounded(low, high, low_open=False, integer=False, pair=False):
    """A parser for one number in [low, high] (or (low, high]), or for a [high, low] pair of them."""
    def one(value):
        value = _number(value)
        if value < low or value > high or (low_open and value == low) or (integer and not isinstance(value, int)):
            raise ValidationError(f"must be {'an integer ' if integer else ''}{'>' if low_open else '>='} {low:g} "
                                  f"and <= {high:g}")
        return value

    def parse(value):
        if pair and isinstance(value, list):   # the validators check it goes with adaptive mutation
            if len(value) != 2:
                raise ValidationError("must be a single value, or a pair [high, low] for adaptive mutation")
            return [one(v) for v in value]
        return one(value)
    return parse


def _or_default(parse):
    """Also accept "default", PyGAD's own default value, so stored parameters load again as given."""
    return lambda value: value if value == "default" else parse(value)


def _parse_range(value):
    return [_number(v) for v in _list(value, "a per-gene bound", MAX_NUM_GENES)] if isinstance(value, list) \
        else _number(value)


def _is_pair(value):
    """Whether a gene_type value is one [name, digits] pair (as PyGAD reads it)."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
        and not isinstance(value[1], (str, list))


def _parse_type_entry(value):
    if isinstance(value, str) and value in GENE_TYPE_NAMES:
        return value
    if not _is_pair(value):
        raise ValidationError(f'a gene type is one of {", ".join(GENE_TYPE_NAMES)}, or a pair like ["float", 3]')
    name, digits = _parse_type_entry(value[0]), value[1]
    if digits is not None and (type(digits) is not int or not 0 <= digits <= MAX_PRECISION):   # bool is no int
        raise ValidationError(f"the rounding precision must be an integer from 0 to {MAX_PRECISION}")
    if digits is not None and name in INT_TYPES:
        raise ValidationError(f"{name} genes cannot be rounded: pair a float type with the digits")
    return [name, digits]


def _parse_gene_type(value):
    if isinstance(value, str) or _is_pair(value):
        return _parse_type_entry(value)
    return [_parse_type_entry(v) for v in _list(value, "a per-gene gene_type", MAX_NUM_GENES)]


def _stepped_size(space):
    """Number of values in a stepped range, counted as PyGAD counts them."""
    low, high, step = space["low"], space["high"], space["step"]
    if all(isinstance(v, int) for v in (low, high, step)):
        return max(0, (abs(high - low) + abs(step) - 1) // abs(step))
    ratio = (high - low) / step   # a tiny step can overflow to inf, which PyGAD could not count
    return max(0, math.ceil(ratio)) if math.isfinite(ratio) else math.inf


def _parse_space_entry(value, nested):
    if isinstance(value, list) and not nested:
        return [None if v is None else _number(v, "a gene_space value") for v in value]
    if not isinstance(value, dict):
        return None if value is None else _number(value, "a gene_space value")
    if set(value) not in ({"low", "high"}, {"low", "high", "step"}):
        raise ValidationError('a gene_space range is {"low": a, "high": b} with an optional "step"')
    space = {key: _number(v, f"gene_space {key}") for key, v in value.items()}
    low, high, step = space["low"], space["high"], space.get("step")
    if step is None and not low < high:
        raise ValidationError("a gene_space range needs low < high")
    if step is not None and (step == 0 or high == low or (step > 0) != (high > low)):
        raise ValidationError("a gene_space step must be non-zero and lead from low towards high")
    if step is not None and _stepped_size(space) > MAX_STEPPED_SPACE_SIZE:
        raise ValidationError(f"a gene_space range may hold at most {MAX_STEPPED_SPACE_SIZE} values")
    return space


def _parse_gene_space(value):
    if isinstance(value, dict):
        return _parse_space_entry(value, False)
    _list(value, "gene_space", MAX_SPACE_VALUES)
    if not any(isinstance(v, (list, dict)) for v in value):
        return _parse_space_entry(value, False)   # PyGAD's flat list: one space shared by every gene
    if any(isinstance(v, list) and not v for v in value) or sum(len(v) for v in value if isinstance(v, list)) > \
            MAX_SPACE_VALUES:
        raise ValidationError(f"each gene_space list needs 1 to {MAX_SPACE_VALUES} values (all lists together)")
    return [_parse_space_entry(v, isinstance(v, list) and any(isinstance(x, (list, dict)) for x in v)) for v in value]


def _parse_categorical(value):
    if isinstance(value, bool) or isinstance(value, list) and 1 <= len(value) <= MAX_NUM_GENES \
            and all(isinstance(v, bool) for v in value):
        return value
    raise ValidationError("gene_categorical must be true, false, or a list with one bool per gene")


def _parse_population(value):
    rows = _list(value, "initial_population", MAX_SOL_PER_POP)
    if not all(isinstance(row, list) for row in rows):
        raise ValidationError("initial_population must be a 2-D list: one list of gene values per solution")
    if not 1 <= len(rows[0]) <= MAX_NUM_GENES or any(len(row) != len(rows[0]) for row in rows):
        raise ValidationError(f"every solution must have the same number (1 to {MAX_NUM_GENES}) of genes")
    if len(rows) * len(rows[0]) > MAX_POPULATION_VALUES:
        raise ValidationError(f"initial_population may hold at most {MAX_POPULATION_VALUES} values")
    return [[_number(v, "a gene value") for v in row] for row in rows]


def _parse_stop_criteria(value):
    for item in [value] if isinstance(value, str) else _list(value, "stop_criteria", MAX_STOP_CRITERIA):
        if not isinstance(item, str) or not STOP_CRITERION_RE.fullmatch(item):
            raise ValidationError(f'{item!r} is not a stop criterion: use "reach_<fitness>" (or one number per '
                                  'objective), "saturate_<generations>", "time_<seconds>" or "evaluations_<count>"')
        if any(not abs(float(n)) <= MAX_ABS_NUMBER for n in item.split("_")[1:]):
            raise ValidationError(f"the numbers in {item!r} must be within ±{MAX_ABS_NUMBER:g}")
    return value


def _bool(value):
    if not isinstance(value, bool):   # marshmallow's Boolean would take 1 or "yes"; PyGAD would not
        raise ValidationError("must be true or false")
    return value


def _choice(names):
    def parse(value):
        if value not in names:
            raise ValidationError(f"must be one of: {', '.join(names)}")
        return value
    return parse


class _Json(fields.Field):
    """A JSON value checked by a parse function; an operator's null reads as "null" (PyGAD's None)."""

    def __init__(self, parse, **kwargs):
        super().__init__(**kwargs)
        self.parse = parse

    def deserialize(self, value, attr=None, data=None, **kwargs):
        operator = value is None and "null" in self.metadata.get("enum", ())
        return super().deserialize("null" if operator else value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return self.parse(value)


def _json(parse, default, text, **openapi):
    return _Json(parse, load_default=default, allow_none=default is None, metadata={"description": text, **openapi})


def _int(low, high, default, text, required=False):
    extra = {"required": True} if required else {"load_default": default, "allow_none": default is None}
    return fields.Integer(strict=True, validate=validate.Range(low, high), metadata={"description": text}, **extra)


_NUMBERS = {"oneOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}]}
_BOOL, _OPS = {"type": "boolean"}, {"type": "string"}


class GAParamsSchema(Schema):
    """Every JSON-expressible ``pygad.GA`` parameter, by PyGAD's names, with PyGAD's defaults."""

    num_generations = _int(1, MAX_NUM_GENERATIONS, None, "Generations to evolve.", required=True)
    num_parents_mating = _int(1, MAX_SOL_PER_POP, None, "Parents mating each generation.", required=True)
    sol_per_pop = _int(2, MAX_SOL_PER_POP, None, "Solutions in the population (unless initial_population).")
    num_genes = _int(1, MAX_NUM_GENES, None, "Genes per solution (unless initial_population).")
    initial_population = _json(_parse_population, None, "Starting solutions (lists of genes); sets sol_per_pop "
                               "and num_genes.", type="array", items={"type": "array", "items": {"type": "number"}})
    init_range_low = _json(_parse_range, -4, "Lowest initial gene value (or one per gene).", **_NUMBERS)
    init_range_high = _json(_parse_range, 4, "Initial gene values stay below it (or one per gene).", **_NUMBERS)
    gene_type = _json(_parse_gene_type, "float", 'A type name ("int", "float", "int8".."uint64", "float16".."float64"),'
                      ' ["float", digits] to round, or one per gene.')
    gene_space = _json(_parse_gene_space, None, 'Allowed values: a list for every gene, {"low", "high"[, "step"]}, '
                       "or one per gene (list, range, number or null); null means any value.")
    gene_categorical = _json(_parse_categorical, None, "Unordered genes (a bool, or one per gene); they need a "
                             "gene_space list or stepped range.")
    parent_selection_type = _json(_choice(PARENT_SELECTION_TYPES), "sss", "Parent selection (nsga ones need a "
                                  "multi-objective fitness).", enum=list(PARENT_SELECTION_TYPES), **_OPS)
    K_tournament = _int(1, MAX_SOL_PER_POP, 3, "Solutions per tournament (tournament selections).")
    keep_parents = _int(-1, MAX_SOL_PER_POP, None, "Parents kept (-1 or null: all); used only when keep_elitism is 0.")
    keep_elitism = _int(0, MAX_SOL_PER_POP, 1, "Best solutions copied to the next generation.")
    nsga3_num_divisions = _int(1, MAX_NSGA3_DIVISIONS, None, "Divisions per objective for NSGA-III reference points.")
    crossover_type = _json(_choice(CROSSOVER_TYPES), "single_point", 'Crossover; "null" skips it.',
                           enum=list(CROSSOVER_TYPES), **_OPS)
    crossover_probability = _json(_bounded(0, 1), None, "Chance of a parent taking part in crossover.", type="number")
    sbx_crossover_eta = _json(_bounded(0, MAX_ETA, True), 30, "SBX distribution index (> 0).", type="number")
    mutation_type = _json(_choice(MUTATION_TYPES), "random", 'Mutation; "null" skips it.', enum=list(MUTATION_TYPES),
                          **_OPS)
    mutation_probability = _json(_bounded(0, 1, pair=True), None, "Chance of mutating a gene, [high, low] for "
                                 "adaptive; wins over the gene counts.", **_NUMBERS)
    polynomial_mutation_eta = _json(_bounded(0, MAX_ETA, True), 20, "Polynomial mutation index (> 0).", type="number")
    mutation_by_replacement = _json(_bool, False, "Random mutation replaces genes instead of adding to them.", **_BOOL)
    mutation_percent_genes = _json(_or_default(_bounded(0, 100, True, pair=True)), "default", 'Percent of genes mutated ("default":'
                                   ' 10), [high, low] for adaptive.', oneOf=[_OPS] + _NUMBERS["oneOf"])
    mutation_num_genes = _json(_bounded(1, MAX_NUM_GENES, integer=True, pair=True), None, "Genes mutated, [high, low]"
                               " for adaptive; wins over mutation_percent_genes.", **_NUMBERS)
    random_mutation_min_val = _json(_parse_range, -1.0, "Lowest random mutation value (or one per gene).", **_NUMBERS)
    random_mutation_max_val = _json(_parse_range, 1.0, "Highest random mutation value (or one per gene).", **_NUMBERS)
    sample_size = _int(1, MAX_SAMPLE_SIZE, 100, "Candidates drawn when looking for a unique or allowed value.")
    allow_duplicate_genes = _json(_bool, True, "Allow equal genes in a solution (false: PyGAD repairs).", **_BOOL)
    save_best_solutions = _json(_bool, False, "Keep the best solution of every generation.", **_BOOL)
    save_solutions = _json(_bool, False, "Keep every solution of every generation (memory hungry).", **_BOOL)
    stop_criteria = _json(_parse_stop_criteria, None, '"reach_<fitness>", "saturate_<generations>", "time_<seconds>"'
                          ', "evaluations_<count>", or a list of them.', oneOf=[_OPS, {"type": "array", "items": _OPS}])
    random_seed = _int(0, 2**32 - 1, None, "Seed making the run reproducible.")
    fitness_batch_size = _int(1, MAX_SOL_PER_POP, None, "Solutions per fitness call; null: one at a time.")

    @validates_schema(pass_original=True)
    def _check_sizes_and_selection(self, data, original, **kwargs):
        errors, pop = {}, data.get("initial_population")
        for name, size in (("sol_per_pop", len(pop)), ("num_genes", len(pop[0]))) if pop else ():
            if data.get(name) is not None and data[name] != size:
                errors[name] = [f"must equal the size of initial_population ({size}) or be left out"]
        if pop is not None and len(pop) < 2:
            errors["initial_population"] = ["must hold at least 2 solutions"]
        for name in ("sol_per_pop", "num_genes") if pop is None else ():
            if data.get(name) is None:
                errors[name] = ["is required unless initial_population is given"]
        sol, selection = _dims(data)[0], data.get("parent_selection_type", "sss")
        npm, elite, kept = data.get("num_parents_mating"), data.get("keep_elitism", 1), data.get("keep_parents")
        _at_most(errors, "keep_parents", kept, npm, "num_parents_mating")   # PyGAD's own bound for it
        if sol is not None:
            for name in ("num_parents_mating", "keep_elitism", "fitness_batch_size") + (
                    ("K_tournament",) if "K_tournament" in original else ()):   # PyGAD clips the default quietly
                _at_most(errors, name, data.get(name), sol, "sol_per_pop")
        if sol is not None and npm is not None and data.get("crossover_type") == "null":
            # Without crossover PyGAD 3.9.2 fills the offspring by slicing the parents (then the population);
            # the slices come out the wrong size for these counts. NSGA-III may grow sol_per_pop later on.
            grows = "nsga3" in selection
            if 0 < elite and sol - elite <= elite and npm < (need := elite if grows else sol - elite):
                errors.setdefault("num_parents_mating", []).append(
                    f"must be >= {need} when crossover_type is null and keep_elitism is {elite}")
            kept_count = npm if kept in (None, -1) else kept
            if elite == 0 and 0 < kept_count and 2 * kept_count >= sol and not grows:
                # Then the offspring are a view of the kept parents: mutation changes those in place
                # and PyGAD 3.9.2 keeps their stale fitness, so the reported best is wrong.
                errors.setdefault("keep_parents", []).append(
                    f"must keep fewer than half of sol_per_pop ({kept_count} kept of {sol}) when crossover_type "
                    f"is null and keep_elitism is 0 (set keep_parents lower, or keep_elitism above 0)")
            if elite == 0 and kept is not None and 0 < kept and (sol - kept > kept or grows) \
                    and npm > (most := max(sol - kept, kept + 1) if grows else sol - kept):
                errors.setdefault("num_parents_mating", []).append(
                    f"must be <= {most} when crossover_type is null and keep_parents is {kept}")
        if "nsga3" in selection and data.get("nsga3_num_divisions") is None:
            errors["nsga3_num_divisions"] = [f"is required by parent_selection_type {selection}"]
        if errors:
            raise ValidationError(errors)

    @validates_schema
    def _check_ranges_and_mutation(self, data, **kwargs):
        errors, genes = {}, _dims(data)[1]
        for low, high, strict in (("init_range_low", "init_range_high", True),
                                  ("random_mutation_min_val", "random_mutation_max_val", False)):
            lows, highs = data.get(low, PARAM_DEFAULTS[low]), data.get(high, PARAM_DEFAULTS[high])
            if isinstance(lows, list) != isinstance(highs, list):
                errors[high] = [f"must be a number like {low}, or a list like {low}"]
            for name, value in ((low, lows), (high, highs)):
                if isinstance(value, list) and genes is not None and len(value) != genes:
                    errors[name] = [f"must have one value per gene: length must be num_genes ({genes})"]
            for i, (lo, hi) in enumerate(zip(_as_list(lows), _as_list(highs))):
                if (lo >= hi if strict else lo > hi) and high not in errors:
                    at = f" at gene {i}" if isinstance(lows, list) else ""
                    errors[high] = [f"must be {'>' if strict else '>='} {low} ({lo}){at}"]
        mutation = data.get("mutation_type", "random")
        for name in ("mutation_probability", "mutation_percent_genes", "mutation_num_genes"):
            value = data.get(name)
            if value in (None, "default") or mutation == "null":
                continue
            if isinstance(value, list) != (mutation == "adaptive"):
                errors[name] = ["must be a single value (pairs are for adaptive mutation)" if mutation != "adaptive"
                                else "must be a pair [high, low] for adaptive mutation"]
            elif name == "mutation_num_genes" and genes is not None and max(_as_list(value)) > genes:
                errors[name] = [f"must be <= num_genes ({genes})"]
        if mutation == "adaptive" and data.get("mutation_percent_genes", "default") == "default" \
                and all(data.get(name) is None for name in ("mutation_probability", "mutation_num_genes")):
            errors["mutation_percent_genes"] = ["adaptive mutation needs a pair [high, low] here, in "
                                                "mutation_probability or in mutation_num_genes"]
        if errors:
            raise ValidationError(errors)

    @validates_schema
    def _check_genes(self, data, **kwargs):
        errors = _gene_errors(data, _dims(data)[1]) if _dims(data)[1] is not None else None
        if errors:
            raise ValidationError(errors)


def _dims(data):
    pop = data.get("initial_population")
    return (len(pop), len(pop[0])) if pop else (data.get("sol_per_pop"), data.get("num_genes"))


def _at_most(errors, name, value, bound, bound_name):
    if value is not None and bound is not None and value > bound:
        errors.setdefault(name, []).append(f"must be <= {bound_name} ({bound})")


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _fits(value, name):
    """Whether numpy casts the value to the gene type without overflowing."""
    if name in INT_TYPES:
        return INT_TYPES[name][0] <= value <= INT_TYPES[name][1]
    return abs(value) <= FLOAT_TYPES[name]


@functools.lru_cache(maxsize=4096)
def _range_problem(low, high, name, digits):
    """Why PyGAD finds no value of the type in [low, high) and raises, or None."""
    if name in INT_TYPES:
        first, last = max(math.ceil(low), INT_TYPES[name][0]), min(math.ceil(high) - 1, INT_TYPES[name][1])
        return None if first <= last else f"holds no {name} value"
    if max(abs(low), abs(high)) > FLOAT_TYPES[name]:
        return f"exceeds the {name} range (±{FLOAT_TYPES[name]:g})"
    if not _float_range_ok(low, high, name, digits):
        return f"holds no {name} value{'' if digits is None else f' with {digits}-decimal rounding'}"
    return None


def _float_range_ok(lower, upper, name, digits):
    """PyGAD 3.9.2's own bound search (helper/misc.py) step by step: its rounding also fails on
    some ranges wide enough to hold values (e.g. [-7.8, -7.6) at 1 decimal), so no simpler rule does."""
    dtype = float if name == "float" else getattr(numpy, name)

    def convert(value):
        if digits is None:
            return dtype(value)
        return dtype(numpy.asarray(numpy.round(numpy.asarray(value, dtype=float), digits), dtype=dtype)[()])

    first, last = convert(lower), convert(upper)
    if digits is None:
        first = numpy.nextafter(first, dtype(numpy.inf), dtype=dtype) if float(first) < lower else first
        last = numpy.nextafter(last, dtype(-numpy.inf), dtype=dtype) if float(last) >= upper else last
    else:
        step = 10.0 ** -digits
        if float(first) < lower:
            start = dtype(lower)
            start = numpy.nextafter(start, dtype(numpy.inf), dtype=dtype) if float(start) < lower else start
            first = convert(numpy.ceil(float(start) / step) * step)
        if float(last) >= upper:
            end = dtype(upper)
            end = numpy.nextafter(end, dtype(-numpy.inf), dtype=dtype) if float(end) >= upper else end
            last = convert(numpy.floor(float(end) / step) * step)
    return bool(numpy.isfinite(first) and numpy.isfinite(last) and float(first) >= lower and first <= last
                and float(last) < upper)


def _explicit_values(space):
    """The numbers a gene's space names (range ends included), all cast to the gene type by PyGAD."""
    if isinstance(space, dict):
        return [space["low"], space["low"] + (_stepped_size(space) - 1) * space["step"] if "step" in space
                else space["high"]]
    return [v for v in _as_list(space) if v is not None]


def _candidates(name, space, free, ranges):
    """How many values PyGAD lists for one gene when it repairs duplicates."""
    count = len(_as_list(space))
    if isinstance(space, dict):
        count = (_stepped_size(space) if "step" in space
                 else space["high"] - space["low"] + 2 if name in INT_TYPES else 1)
    if free and name in INT_TYPES:   # integer init and mutation ranges are listed in full
        count += sum(high - low + 2 for low, high in ranges)
    return math.ceil(count)


def _gene_errors(data, genes):
    """Per-gene checks: lengths, categorical genes, values the gene types hold, known PyGAD crashes."""
    errors, gene_type, space = {}, data.get("gene_type", "float"), data.get("gene_space")
    entries = [gene_type] * genes if isinstance(gene_type, str) or _is_pair(gene_type) else gene_type
    types = [(t, None) if isinstance(t, str) else tuple(t) for t in entries]
    nested = isinstance(space, list) and any(isinstance(v, (list, dict)) for v in space)
    categorical = data.get("gene_categorical")
    for name, value in (("gene_type", entries), ("gene_space", space if nested else None), ("gene_categorical",
                                                                                            categorical)):
        if isinstance(value, list) and len(value) != genes:
            errors[name] = [f"must have one entry per gene: length must be num_genes ({genes})"]
    bounds = [(lambda v: v if isinstance(v, list) else [v] * genes)(data.get(n, PARAM_DEFAULTS[n]))
              for n in ("init_range_low", "init_range_high", "random_mutation_min_val", "random_mutation_max_val")]
    if errors or any(len(b) != genes for b in bounds):   # wrong bound lengths are reported by another check
        return errors
    names = {name for name, _ in types}
    mutation, unique = data.get("mutation_type", "random"), not data.get("allow_duplicate_genes", True)
    if len(names) > 1 and mutation in _PERMUTATIONS and not names <= _WIDE_TYPES:
        # Permutation mutations move values between genes; numpy raises when one does not fit.
        errors["gene_type"] = [f"{mutation} mutation moves values between genes, so "
                               f"{', '.join(sorted(names - _WIDE_TYPES))} genes cannot be mixed with other types "
                               f"(only {', '.join(sorted(_WIDE_TYPES))} mix)"]
    # Checking a value against a space with a null entry (permutation or polynomial mutation, SBX,
    # duplicate repair), PyGAD 3.9.2 casts the mutation range (plus the gene unless replacing) and,
    # for a list, the init range to the gene type: numpy raises OverflowError outside its limits.
    casts_range = space is not None and (unique or data.get("crossover_type") == "sbx"
                                         or mutation in _PERMUTATIONS + ("polynomial",))
    pop, candidates = data.get("initial_population"), 0
    flags = categorical if isinstance(categorical, list) else [bool(categorical)] * genes
    for i, ((name, digits), gene_space, flag) in enumerate(zip(types, space if nested else [space] * genes, flags)):
        at = f" (gene {i})" if genes > 1 else ""
        low, high, mut_low, mut_high = (b[i] for b in bounds)
        free = gene_space is None or (isinstance(gene_space, list) and None in gene_space)
        finite = isinstance(gene_space, list) and not free or isinstance(gene_space, dict) and "step" in gene_space
        if flag and not finite:
            errors.setdefault("gene_categorical", [f"a categorical gene needs a gene_space list of numbers or a "
                                                   f"stepped range{at}"])
        problem = free and low < high and _range_problem(low, high, name, digits)   # low >= high: reported already
        if problem:
            errors.setdefault("init_range_low", [f"[init_range_low, init_range_high) = [{low}, {high}) {problem}{at}"])
        problem = isinstance(gene_space, dict) and "step" not in gene_space and _range_problem(
            gene_space["low"], gene_space["high"], name, digits)
        if problem:
            errors.setdefault("gene_space", [f"the range {gene_space} {problem}{at}"])
        if not all(_fits(v, name) for v in _explicit_values(gene_space)):
            errors.setdefault("gene_space", [f"holds a value that does not fit gene_type {name}{at}"])
        if pop is not None and not all(_fits(row[i], name) for row in pop):
            errors.setdefault("initial_population", [f"holds a value that does not fit gene_type {name}{at}"])
        mutation_fits = _fits(mut_low, name) and _fits(mut_high, name)
        if name in FLOAT_TYPES and not mutation_fits:
            errors.setdefault("random_mutation_max_val", [f"the mutation range does not fit gene_type {name}{at}"])
        if casts_range and free and name in INT_TYPES and name not in _WIDE_TYPES and not (mutation_fits and (
                data.get("mutation_by_replacement") if gene_space is None else _fits(low, name) and _fits(high, name))):
            needs = ("mutation_by_replacement=true and random_mutation_min_val/max_val" if gene_space is None
                     else "init_range_low/high and random_mutation_min_val/max_val")
            errors.setdefault("gene_space", [f"a null entry for a {name} gene needs {needs} within {name}'s limits "
                                             f"with this mutation, crossover or allow_duplicate_genes{at}"])
        candidates += _candidates(name, gene_space, free, ((low, high), (mut_low, mut_high))) if unique else 0
    if candidates > MAX_UNIQUE_CANDIDATES:
        errors.setdefault("allow_duplicate_genes", [
            f"false makes PyGAD list every candidate value of every gene: these settings give {candidates} "
            f"(at most {MAX_UNIQUE_CANDIDATES}); narrow the integer ranges or the gene_space steps"])
    return errors


PARAM_NAMES = tuple(GAParamsSchema._declared_fields)
PARAM_DEFAULTS = {name: None if f.required else f.load_default for name, f in GAParamsSchema._declared_fields.items()}


def effective_params(loaded: dict) -> dict:
    """Every GA parameter, defaults filled and sizes taken from initial_population, as plain JSON."""
    params = {name: copy.deepcopy(loaded.get(name, PARAM_DEFAULTS[name])) for name in PARAM_NAMES}
    for name in ("crossover_type", "mutation_type"):
        params[name] = "null" if params[name] is None else params[name]
    if params["initial_population"] is not None:
        params["sol_per_pop"], params["num_genes"] = _dims(params)
    return params
