"""The PyGAD parameters of a submission: a marshmallow schema checked against pygad 3.9.2.

Everything this schema accepts must be accepted by ``pygad.GA`` (and must not make a run
crash for reasons the parameters alone decide), so rules PyGAD only discovers while
building the population or while evolving are checked here and reported as field errors.
"""
import math
import re

import numpy

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

# Hard ceilings: far above any sensible run; quotas (per account) are checked elsewhere.
MAX_NUM_GENERATIONS = 1_000_000
MAX_SOL_PER_POP = 10_000
MAX_NUM_GENES = 10_000
MAX_POPULATION_VALUES = 1_000_000    # cells of initial_population
MAX_SPACE_VALUES = 100_000           # numbers in one gene_space list
MAX_TOTAL_SPACE_VALUES = 1_000_000   # numbers in all gene_space lists together
MAX_STEPPED_SPACE_SIZE = 10**9       # values described by one {"low","high","step"} dict
MAX_UNIQUE_CANDIDATES = 1_000_000    # values enumerated per repair when duplicates are refused
MAX_ABS_NUMBER = 1e15                # genes, bounds and spaces stay exact in int64 and float64
MAX_PRECISION = 20
MAX_SAMPLE_SIZE = 100_000
MAX_NSGA3_DIVISIONS = 100            # NSGA-III grows the population to C(M+p-1, p) points
MAX_ETA = 1e6
MAX_STOP_CRITERIA = 16
MAX_RANDOM_SEED = 2**32 - 1

PARENT_SELECTION_TYPES = ("sss", "rws", "sus", "rank", "random", "tournament", "nsga2",
                          "tournament_nsga2", "nsga3", "tournament_nsga3")
CROSSOVER_TYPES = ("single_point", "two_points", "uniform", "scattered", "sbx", "null")
MUTATION_TYPES = ("random", "swap", "inversion", "scramble", "adaptive", "polynomial", "null")
_TOURNAMENTS = ("tournament", "tournament_nsga2", "tournament_nsga3")
_PERMUTATIONS = ("swap", "inversion", "scramble")

# Gene type name -> (lowest, highest) value the type can store.
INT_TYPES = {"int": (-2**63, 2**63 - 1), "int8": (-2**7, 2**7 - 1), "int16": (-2**15, 2**15 - 1),
             "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1), "uint8": (0, 2**8 - 1),
             "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1)}
# Float name -> (largest finite value, machine epsilon, smallest subnormal).
FLOAT_TYPES = {"float": (1.7976931348623157e308, 2.0**-52, 5e-324),
               "float16": (65504.0, 2.0**-10, 2.0**-24),
               "float32": (3.4028234663852886e38, 2.0**-23, 2.0**-149),
               "float64": (1.7976931348623157e308, 2.0**-52, 5e-324)}
GENE_TYPE_NAMES = tuple(INT_TYPES) + tuple(FLOAT_TYPES)
# Types PyGAD casts with numpy scalars that raise on out-of-range values (int/int64 fit our numbers).
_WIDE_TYPES = {"int", "int64", "float", "float32", "float64"}
_NARROW_INT_TYPES = ("int8", "int16", "int32", "uint8", "uint16", "uint32", "uint64")

_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
STOP_CRITERION_RE = re.compile(rf"^(?:reach(?:_{_NUM})+|saturate_[1-9]\d{{0,9}}|time_\+?(?:\d+(?:\.\d*)?|\.\d+)"
                               rf"(?:[eE][-+]?\d+)?|evaluations_[1-9]\d{{0,12}})$")


def _fail(message):
    raise ValidationError(message)


def _number(value, what="value"):
    """Return a finite JSON number (not a bool) of sane magnitude, else raise."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        _fail(f"{what} must be a number")
    if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
        _fail(f"{what} must be finite and within ±{MAX_ABS_NUMBER:g}")
    return value


def _list(value, what, max_len):
    if not isinstance(value, list) or not 1 <= len(value) <= max_len:
        _fail(f"{what} must be a non-empty list of at most {max_len} items")
    return value


class _Custom(fields.Field):
    """A JSON-shaped field validated by a parse function; the loaded value stays JSON."""

    def __init__(self, parse, **kwargs):
        super().__init__(**kwargs)
        self._parse = parse

    def _deserialize(self, value, attr, data, **kwargs):
        return self._parse(value)


class _Bool(fields.Boolean):
    """Only JSON true/false: PyGAD rejects anything that is not a real bool."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class _Operator(fields.String):
    """An operator name; JSON null is the same as the name "null" (the step is skipped)."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        return super().deserialize("null" if value is None else value, attr, data, **kwargs)


def _parse_range(value):
    if isinstance(value, list):
        return [_number(v) for v in _list(value, "a per-gene bound", MAX_NUM_GENES)]
    return _number(value)


def _parse_pair_or(item):
    def parse(value):
        if isinstance(value, list):
            if len(value) != 2:
                _fail("must be a single value, or a pair [high, low] for adaptive mutation")
            return [item(v) for v in value]
        return item(value)
    return parse


def _probability(value):
    value = _number(value, "a probability")
    if not 0 <= value <= 1:
        _fail("probabilities must be between 0 and 1")
    return value


def _percent(value):
    value = _number(value, "a percentage")
    if not 0 < value <= 100:
        _fail("percentages must be > 0 and <= 100")
    return value


def _gene_count(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_NUM_GENES:
        _fail(f"gene counts must be integers between 1 and {MAX_NUM_GENES}")
    return value


def _parse_percent_genes(value):
    return value if value == "default" else _parse_pair_or(_percent)(value)


def _parse_type_entry(value):
    if isinstance(value, str):
        if value not in GENE_TYPE_NAMES:
            _fail(f"unknown gene type {value!r}; use one of {', '.join(GENE_TYPE_NAMES)}")
        return value
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        name, digits = _parse_type_entry(value[0]), value[1]
        if digits is None:
            return [name, None]
        if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= MAX_PRECISION:
            _fail(f"the rounding precision must be an integer between 0 and {MAX_PRECISION}")
        if name in INT_TYPES:
            _fail(f"{name} genes cannot be rounded: give a float type with a precision")
        return [name, digits]
    _fail('a gene type is a name such as "float" or "int32", or a pair like ["float", 3]')


def _is_pair(value):
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
        and not isinstance(value[1], (str, list))


def _parse_gene_type(value):
    if isinstance(value, str) or _is_pair(value):
        return _parse_type_entry(value)
    return [_parse_type_entry(v) for v in _list(value, "a per-gene gene_type", MAX_NUM_GENES)]


def _parse_space_dict(value):
    if set(value) not in ({"low", "high"}, {"low", "high", "step"}):
        _fail('a gene_space range is {"low": a, "high": b} with an optional "step"')
    low, high = _number(value["low"], "low"), _number(value["high"], "high")
    if "step" not in value:
        if not low < high:
            _fail("a gene_space range needs low < high")
        return {"low": low, "high": high}
    step = _number(value["step"], "step")
    if step == 0 or (step > 0) != (high > low) or high == low:
        _fail("a gene_space step must be non-zero and lead from low towards high")
    if _stepped_size(value) > MAX_STEPPED_SPACE_SIZE:
        _fail(f"a gene_space range may hold at most {MAX_STEPPED_SPACE_SIZE} steps")
    return {"low": low, "high": high, "step": step}


def _parse_space_values(value):
    return [None if v is None else _number(v, "a gene_space value")
            for v in _list(value, "a gene_space list", MAX_SPACE_VALUES)]


def _parse_gene_space(value):
    if isinstance(value, dict):
        return _parse_space_dict(value)
    _list(value, "gene_space", max(MAX_SPACE_VALUES, MAX_NUM_GENES))
    if not any(isinstance(v, (list, dict)) for v in value):
        return _parse_space_values(value)   # one space shared by every gene
    entries = [v if v is None else _parse_space_dict(v) if isinstance(v, dict) else
               _parse_space_values(v) if isinstance(v, list) else _number(v, "a gene_space value")
               for v in value]
    if sum(len(e) for e in entries if isinstance(e, list)) > MAX_TOTAL_SPACE_VALUES:
        _fail(f"gene_space may hold at most {MAX_TOTAL_SPACE_VALUES} values in all")
    return entries


def _parse_categorical(value):
    if isinstance(value, bool):
        return value
    if isinstance(value, list) and all(isinstance(v, bool) for v in value) and 1 <= len(value) <= MAX_NUM_GENES:
        return value
    _fail("gene_categorical must be true, false, or a list with one bool per gene")


def _parse_population(value):
    _list(value, "initial_population", MAX_SOL_PER_POP)
    if not all(isinstance(row, list) for row in value):
        _fail("initial_population must be a 2-D list: one list of gene values per solution")
    width = len(value[0])
    if not 1 <= width <= MAX_NUM_GENES or any(len(row) != width for row in value):
        _fail(f"every solution must have the same number (1 to {MAX_NUM_GENES}) of genes")
    if len(value) * width > MAX_POPULATION_VALUES:
        _fail(f"initial_population may hold at most {MAX_POPULATION_VALUES} values")
    return [[_number(v, "a gene value") for v in row] for row in value]


def _parse_stop_criteria(value):
    items = [value] if isinstance(value, str) else _list(value, "stop_criteria", MAX_STOP_CRITERIA)
    for item in items:
        if not isinstance(item, str) or not STOP_CRITERION_RE.match(item):
            _fail(f'{item!r} is not a stop criterion: use "reach_<fitness>" (one number per objective '
                  'allowed), "saturate_<generations>", "time_<seconds>" or "evaluations_<count>"')
        if any(not math.isfinite(float(n)) or abs(float(n)) > MAX_ABS_NUMBER for n in item.split("_")[1:]):
            _fail(f"the numbers in {item!r} must be finite and within ±{MAX_ABS_NUMBER:g}")
    return value


def _stepped_size(space):
    """Number of values in a stepped range, counted as PyGAD counts them."""
    low, high, step = space["low"], space["high"], space["step"]
    if all(isinstance(v, int) for v in (low, high, step)):
        return max(0, (abs(high - low) + abs(step) - 1) // abs(step))
    return max(0, math.ceil((high - low) / step))


def _int(minimum, maximum, default, text, required=False):
    extra = {"required": True} if required else {"load_default": default, "allow_none": default is None}
    return fields.Integer(strict=True, validate=validate.Range(minimum, maximum), metadata={"description": text}, **extra)


def _custom(parse, default, text, **schema):
    return _Custom(parse, load_default=default, allow_none=default is None,
                   metadata={"description": text, **schema})


def _choice(names, default, text, cls=fields.String):
    return cls(load_default=default, validate=validate.OneOf(names), metadata={"description": text})


_NUMBER_OR_LIST = {"oneOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}]}


class GAParamsSchema(Schema):
    """Every JSON-expressible ``pygad.GA`` parameter, by PyGAD's names, with PyGAD's defaults."""

    num_generations = _int(1, MAX_NUM_GENERATIONS, None, "Number of generations to evolve.", required=True)
    num_parents_mating = _int(1, MAX_SOL_PER_POP, None, "Parents selected for mating each generation (<= sol_per_pop).", required=True)
    sol_per_pop = _int(2, MAX_SOL_PER_POP, None, "Solutions in the population (required unless initial_population is given).")
    num_genes = _int(1, MAX_NUM_GENES, None, "Genes per solution (required unless initial_population is given).")
    initial_population = _custom(_parse_population, None, "Starting population: one list of gene values per solution; it sets sol_per_pop and num_genes.", type="array", items={"type": "array", "items": {"type": "number"}})
    init_range_low = _custom(_parse_range, -4, "Lowest initial gene value (or one per gene).", **_NUMBER_OR_LIST)
    init_range_high = _custom(_parse_range, 4, "Highest initial gene value, excluded (or one per gene); > init_range_low.", **_NUMBER_OR_LIST)
    gene_type = _custom(_parse_gene_type, "float", 'Gene type: "int", "float", "int8".."uint64", "float16".."float64", ["float", digits] to round, or one per gene.')
    gene_space = _custom(_parse_gene_space, None, 'Allowed values: a list shared by all genes, {"low","high"[,"step"]}, or one entry (list, range or null) per gene; null means any value.')
    gene_categorical = _custom(_parse_categorical, None, "Marks unordered genes (a bool, or one per gene); a categorical gene needs a finite gene_space.")
    parent_selection_type = _choice(PARENT_SELECTION_TYPES, "sss", "Parent selection operator (nsga* and tournament_nsga* need a multi-objective fitness).")
    K_tournament = _int(1, MAX_SOL_PER_POP, 3, "Solutions competing in each tournament (tournament selections only).")
    keep_parents = _int(-1, MAX_SOL_PER_POP, None, "Parents kept in the next generation (-1 or null: all); used only when keep_elitism is 0.")
    keep_elitism = _int(0, MAX_SOL_PER_POP, 1, "Best solutions copied to the next generation (<= sol_per_pop).")
    nsga3_num_divisions = _int(1, MAX_NSGA3_DIVISIONS, None, "Divisions per objective for NSGA-III reference points (required by nsga3 selections).")
    crossover_type = _choice(CROSSOVER_TYPES, "single_point", 'Crossover operator; "null" skips crossover.', _Operator)
    crossover_probability = _custom(_probability, None, "Chance of each parent taking part in crossover (0..1).", type="number")
    sbx_crossover_eta = _custom(lambda v: _eta(v, "sbx_crossover_eta"), 30, "SBX distribution index (> 0; higher keeps children nearer their parents).", type="number")
    mutation_type = _choice(MUTATION_TYPES, "random", 'Mutation operator; "null" skips mutation.', _Operator)
    mutation_probability = _custom(_parse_pair_or(_probability), None, "Chance of mutating each gene (0..1), or [high, low] for adaptive mutation; overrides the two gene counts.", **_NUMBER_OR_LIST)
    polynomial_mutation_eta = _custom(lambda v: _eta(v, "polynomial_mutation_eta"), 20, "Polynomial mutation distribution index (> 0; higher makes smaller steps).", type="number")
    mutation_by_replacement = _Bool(load_default=False, metadata={"description": "Random mutation replaces the gene instead of adding to it."})
    mutation_percent_genes = _custom(_parse_percent_genes, "default", 'Percent of genes to mutate (0 < p <= 100, "default" = 10), or [high, low] for adaptive mutation.')
    mutation_num_genes = _custom(_parse_pair_or(_gene_count), None, "Genes to mutate (1..num_genes), or [high, low] for adaptive mutation; overrides mutation_percent_genes.", **_NUMBER_OR_LIST)
    random_mutation_min_val = _custom(_parse_range, -1.0, "Lowest random mutation value (or one per gene).", **_NUMBER_OR_LIST)
    random_mutation_max_val = _custom(_parse_range, 1.0, "Highest random mutation value (or one per gene); >= random_mutation_min_val.", **_NUMBER_OR_LIST)
    sample_size = _int(1, MAX_SAMPLE_SIZE, 100, "Candidate values drawn when searching for a unique gene value.")
    allow_duplicate_genes = _Bool(load_default=True, metadata={"description": "Allow equal values in one solution; false makes PyGAD search for unique values."})
    save_best_solutions = _Bool(load_default=False, metadata={"description": "Keep the best solution of every generation."})
    save_solutions = _Bool(load_default=False, metadata={"description": "Keep every solution of every generation (memory hungry)."})
    stop_criteria = _custom(_parse_stop_criteria, None, 'Stop early: "reach_<fitness>", "saturate_<generations>", "time_<seconds>", "evaluations_<count>", or a list of them.', oneOf=[{"type": "string"}, {"type": "array", "items": {"type": "string"}}])
    random_seed = _int(0, MAX_RANDOM_SEED, None, "Seed making the run reproducible (0..2**32-1).")
    fitness_batch_size = _int(1, MAX_SOL_PER_POP, None, "Solutions passed to each fitness call (1..sol_per_pop); null calls it per solution.")

    @validates_schema(pass_original=True)
    def _check_population_and_selection(self, data, original, **kwargs):
        errors = {}
        pop = data.get("initial_population")
        if pop is not None:
            for name, size in (("sol_per_pop", len(pop)), ("num_genes", len(pop[0]))):
                if data.get(name) is not None and data[name] != size:
                    errors[name] = [f"must equal the size of initial_population ({size}) or be left out"]
            if len(pop) < 2:
                errors["initial_population"] = ["must hold at least 2 solutions"]
        else:
            for name in ("sol_per_pop", "num_genes"):
                if data.get(name) is None:
                    errors[name] = ["is required unless initial_population is given"]
        sol, genes = _dims(data)
        if sol is not None:
            npm, elit, kp = data.get("num_parents_mating"), data.get("keep_elitism", 1), data.get("keep_parents")
            _at_most(errors, "num_parents_mating", npm, sol, "sol_per_pop")
            _at_most(errors, "keep_elitism", elit, sol, "sol_per_pop")
            _at_most(errors, "fitness_batch_size", data.get("fitness_batch_size"), sol, "sol_per_pop")
            if isinstance(original, dict) and "K_tournament" in original:  # the default 3 is clipped silently
                _at_most(errors, "K_tournament", data.get("K_tournament"), sol, "sol_per_pop")
            if kp is not None and npm is not None:   # PyGAD bounds keep_parents by the parents selected
                _at_most(errors, "keep_parents", kp, min(npm, sol), "num_parents_mating")
        if sol is not None and data.get("crossover_type") == "null" and npm is not None and 0 < elit:
            # PyGAD 3.9.2 fills the offspring from the parents alone when offspring <= elite; NSGA-III
            # may grow the population later, so there any size up to keep_elitism must be covered.
            need = elit if "nsga3" in data.get("parent_selection_type", "") else sol - elit
            if sol - elit <= elit and npm < need:
                _at_least(errors, "num_parents_mating", npm, need, f"{need} when crossover_type is null and "
                          f"keep_elitism is {elit}")
        if data.get("parent_selection_type") in ("nsga3", "tournament_nsga3") and data.get("nsga3_num_divisions") is None:
            errors["nsga3_num_divisions"] = [f"is required by parent_selection_type {data['parent_selection_type']}"]
        if errors:
            raise ValidationError(errors)

    @validates_schema
    def _check_ranges_and_mutation(self, data, **kwargs):
        errors = {}
        genes = _dims(data)[1]
        for low, high, strict in (("init_range_low", "init_range_high", True),
                                  ("random_mutation_min_val", "random_mutation_max_val", False)):
            lows, highs = data.get(low, -4 if strict else -1.0), data.get(high, 4 if strict else 1.0)
            if isinstance(lows, list) != isinstance(highs, list):
                errors[high] = [f"must be a number like {low}, or a list like {low}"]
                continue
            for name, value in ((low, lows), (high, highs)):
                if isinstance(value, list) and genes is not None and len(value) != genes:
                    errors[name] = [f"must have one value per gene: length must be num_genes ({genes})"]
            if not isinstance(lows, list):
                lows, highs = [lows], [highs]
            for i, (lo, hi) in enumerate(zip(lows, highs)):
                if (lo >= hi) if strict else (lo > hi):
                    where = "" if len(lows) == 1 else f" at gene {i}"
                    errors.setdefault(high, [f"must be {'>' if strict else '>='} {low} ({lo}){where}"])
        mtype = data.get("mutation_type", "random")
        adaptive = mtype == "adaptive"
        for name in ("mutation_probability", "mutation_percent_genes", "mutation_num_genes"):
            value = data.get(name)
            if value is None or value == "default" or mtype == "null":
                continue
            if isinstance(value, list) != adaptive:
                errors[name] = ["must be a pair [high, low] for adaptive mutation" if adaptive
                                else "must be a single value (pairs are for adaptive mutation)"]
            elif name == "mutation_num_genes" and genes is not None and max(_as_list(value)) > genes:
                errors[name] = [f"must be <= num_genes ({genes})"]
        if adaptive and data.get("mutation_probability") is None and data.get("mutation_num_genes") is None \
                and data.get("mutation_percent_genes", "default") == "default":
            errors["mutation_percent_genes"] = ["adaptive mutation needs a pair [high, low] in mutation_probability, "
                                                "mutation_num_genes or mutation_percent_genes"]
        if errors:
            raise ValidationError(errors)

    @validates_schema
    def _check_genes(self, data, **kwargs):
        genes = _dims(data)[1]
        if genes is None:
            return
        errors = _gene_errors(data, genes)
        if errors:
            raise ValidationError(errors)


def _eta(value, name):
    value = _number(value, name)
    if not 0 < value <= MAX_ETA:
        _fail(f"must be > 0 and <= {MAX_ETA:g}")
    return value


def _dims(data):
    pop = data.get("initial_population")
    if pop is not None:
        return len(pop), len(pop[0])
    return data.get("sol_per_pop"), data.get("num_genes")


def _at_most(errors, name, value, bound, bound_name):
    if value is not None and value > bound:
        errors.setdefault(name, []).append(f"must be <= {bound_name} ({bound})")


def _at_least(errors, name, value, bound, text):
    if value < bound:
        errors.setdefault(name, []).append(f"must be >= {text}")


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _per_gene(value, genes):
    """Expand a scalar-or-per-gene value to one entry per gene."""
    return value if isinstance(value, list) else [value] * genes


def _type_entries(gene_type, genes):
    """One (name, precision) per gene, or None when a per-gene list has the wrong length."""
    if isinstance(gene_type, str):
        return [(gene_type, None)] * genes
    if _is_pair(gene_type):
        return [tuple(gene_type)] * genes
    if len(gene_type) != genes:
        return None
    return [(t, None) if isinstance(t, str) else tuple(t) for t in gene_type]


def _has_free_value(space):
    """True when a gene's space lets PyGAD draw from the init/mutation ranges (null entries)."""
    return space is None or (isinstance(space, list) and any(v is None for v in space))


def _explicit_values(space):
    if isinstance(space, list):
        return [v for v in space if v is not None]
    if isinstance(space, dict):
        if "step" not in space:
            return [space["low"], space["high"]]
        return [space["low"], space["low"] + (_stepped_size(space) - 1) * space["step"]]
    return [] if space is None else [space]


def _fits(value, name):
    """Whether numpy can cast the value to the gene type without overflowing."""
    if name in INT_TYPES:
        return INT_TYPES[name][0] <= value <= INT_TYPES[name][1]
    return abs(value) <= FLOAT_TYPES[name][0]


def _int_span(low, high, name):
    """First and last integer PyGAD samples from [low, high) for an integer type."""
    tmin, tmax = INT_TYPES[name]
    return max(math.ceil(low), tmin), min(math.ceil(high) - 1, tmax)


def _interval_problem(low, high, name, digits):
    """Why PyGAD would find no value of the type in [low, high), or None."""
    if name in INT_TYPES:
        first, last = _int_span(low, high, name)
        return None if first <= last else f"holds no {name} value"
    largest = FLOAT_TYPES[name][0]
    if max(abs(low), abs(high)) > largest:
        return f"exceeds the {name} range (±{largest:g})"
    if not _float_range_ok(low, high, name, digits):
        return f"holds no {name} value{'' if digits is None else f' rounded to {digits} digits'}"
    return None


def _float_range_ok(lower, upper, name, digits):
    """PyGAD 3.9.2's own test (helper/misc.py) for a float range holding a value of the type.

    Mirrored step by step: its rounding arithmetic also fails on some wide enough ranges,
    e.g. [-7.8, -7.6) rounded to 1 digit, so no simpler rule predicts it.
    """
    dtype = float if name == "float" else getattr(numpy, name)

    def convert(value):
        if digits is None:
            return dtype(value)
        return dtype(numpy.asarray(numpy.round(numpy.asarray(value, dtype=float), digits), dtype=dtype)[()])

    first, last = convert(lower), convert(upper)
    if digits is None:
        if float(first) < lower:
            first = numpy.nextafter(first, dtype(numpy.inf), dtype=dtype)
        if float(last) >= upper:
            last = numpy.nextafter(last, dtype(-numpy.inf), dtype=dtype)
    else:
        step = 10.0 ** -digits
        if float(first) < lower:
            start = dtype(lower)
            if float(start) < lower:
                start = numpy.nextafter(start, dtype(numpy.inf), dtype=dtype)
            first = convert(numpy.ceil(float(start) / step) * step)
        if float(last) >= upper:
            end = dtype(upper)
            if float(end) >= upper:
                end = numpy.nextafter(end, dtype(-numpy.inf), dtype=dtype)
            last = convert(numpy.floor(float(end) / step) * step)
    return bool(numpy.isfinite(first) and numpy.isfinite(last) and float(first) >= lower
                and first <= last and float(last) < upper)


def _gene_errors(data, genes):
    """Per-gene checks: lengths, categorical genes, and values the gene types can hold."""
    errors = {}
    types = _type_entries(data.get("gene_type", "float"), genes)
    if types is None:
        errors["gene_type"] = [f"must have one entry per gene: length must be num_genes ({genes})"]
    space = data.get("gene_space")
    nested = isinstance(space, list) and any(isinstance(v, (list, dict)) for v in space)
    if nested and len(space) != genes:
        errors["gene_space"] = [f"must have one entry per gene: length must be num_genes ({genes})"]
    spaces = space if nested else [space] * genes
    categorical = data.get("gene_categorical")
    if isinstance(categorical, list) and len(categorical) != genes:
        errors["gene_categorical"] = [f"must have one entry per gene: length must be num_genes ({genes})"]
    if errors:
        return errors
    flags = _per_gene(bool(categorical), genes) if not isinstance(categorical, list) else categorical
    lows, highs = (_per_gene(data.get(n, d), genes) for n, d in (("init_range_low", -4), ("init_range_high", 4)))
    mlows, mhighs = (_per_gene(data.get(n, d), genes)
                     for n, d in (("random_mutation_min_val", -1.0), ("random_mutation_max_val", 1.0)))
    allow_dup = data.get("allow_duplicate_genes", True)
    # PyGAD 3.9.2 casts the mutation range to the gene type when it checks a value against a
    # space with null entries (permutation/polynomial mutation, SBX, duplicate repair):
    # numpy raises OverflowError when that range leaves a narrow integer type.
    space_checks = space is not None and (not allow_dup or data.get("crossover_type") == "sbx"
                                          or data.get("mutation_type", "random") in _PERMUTATIONS + ("polynomial",))
    names = {name for name, _ in types}
    if len(names) > 1 and data.get("mutation_type", "random") in _PERMUTATIONS and not names <= _WIDE_TYPES:
        # Permutation mutations move values between genes; numpy raises when one does not fit.
        errors["gene_type"] = [f"{data['mutation_type']} mutation moves values between genes, so "
                               f"{', '.join(sorted(names - _WIDE_TYPES))} genes cannot be mixed with other types "
                               f"(only {', '.join(sorted(_WIDE_TYPES))} mix)"]
    pop = data.get("initial_population")
    candidates = 0
    for i, ((name, digits), gspace, flag) in enumerate(zip(types, spaces, flags)):
        at = f" (gene {i})" if genes > 1 else ""
        if flag and not (isinstance(gspace, list) and None not in gspace or isinstance(gspace, dict) and "step" in gspace):
            errors.setdefault("gene_categorical", [f"a categorical gene needs a gene_space list of numbers or "
                                                   f"a stepped range{at}"])
        free = _has_free_value(gspace)
        if free:
            problem = _interval_problem(lows[i], highs[i], name, digits)
            if problem:
                errors.setdefault("init_range_low", [f"[init_range_low, init_range_high) = [{lows[i]}, {highs[i]}) "
                                                     f"{problem}{at}"])
        if isinstance(gspace, dict) and "step" not in gspace:
            problem = _interval_problem(gspace["low"], gspace["high"], name, digits)
            if problem:
                errors.setdefault("gene_space", [f"the range {gspace} {problem}{at}"])
        for value in _explicit_values(gspace):
            if not _fits(value, name):
                errors.setdefault("gene_space", [f"{value} does not fit gene_type {name}{at}"])
        if pop is not None and not all(_fits(row[i], name) for row in pop):
            errors.setdefault("initial_population", [f"holds a value that does not fit gene_type {name}{at}"])
        if name in FLOAT_TYPES and not (_fits(mlows[i], name) and _fits(mhighs[i], name)):
            errors.setdefault("random_mutation_max_val", [f"the mutation range does not fit gene_type {name}{at}"])
        if space_checks and free and name in _NARROW_INT_TYPES and not (
                _fits(mlows[i], name) and _fits(mhighs[i], name)
                and (gspace is not None or data.get("mutation_by_replacement"))):
            errors.setdefault("gene_space", [
                f"a null entry for a {name} gene with this mutation/crossover or allow_duplicate_genes=false needs "
                f"random_mutation_min_val..random_mutation_max_val within the {name} limits"
                f"{'' if gspace is not None else ' and mutation_by_replacement=true'}{at}"])
        if not allow_dup:
            candidates += _candidate_count(name, gspace, free, (lows[i], highs[i]), (mlows[i], mhighs[i]))
    if candidates > MAX_UNIQUE_CANDIDATES:
        errors.setdefault("allow_duplicate_genes", [
            f"false makes PyGAD list every candidate value of every gene: these ranges give {candidates} "
            f"(at most {MAX_UNIQUE_CANDIDATES}); narrow the integer ranges or gene_space steps"])
    return errors


def _candidate_count(name, space, free, init_range, mutation_range):
    """Values PyGAD enumerates for one gene while repairing duplicates."""
    count = len(space) if isinstance(space, list) else 1
    if isinstance(space, dict):
        count = _stepped_size(space) if "step" in space else (
            space["high"] - space["low"] + 2 if name in INT_TYPES else 1)
    if free and name in INT_TYPES:
        count += init_range[1] - init_range[0] + 2 + mutation_range[1] - mutation_range[0] + 2
    return math.ceil(count)


PARAM_NAMES = tuple(GAParamsSchema._declared_fields)
PARAM_DEFAULTS = {name: (None if field.required else field.load_default)
                  for name, field in GAParamsSchema._declared_fields.items()}


def effective_params(loaded: dict) -> dict:
    """Every GA parameter, defaults filled and sizes derived from initial_population, as JSON."""
    params = {}
    for name in PARAM_NAMES:
        value = loaded.get(name, PARAM_DEFAULTS[name])
        params[name] = "null" if value is None and name in ("crossover_type", "mutation_type") else _copy(value)
    if params["initial_population"] is not None:
        params["sol_per_pop"], params["num_genes"] = len(params["initial_population"]), len(params["initial_population"][0])
    return params


def _copy(value):
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value
