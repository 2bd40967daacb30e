"""The PyGAD parameters of a submission: a marshmallow schema checked against pygad 3.9.2.

Whatever this schema accepts, ``pygad.GA`` accepts too, and nothing in the parameters alone
makes the run crash: rules PyGAD only discovers while building the population or evolving
are checked here and reported as field errors. Loaded values stay plain JSON.
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
MAX_SPACE_VALUES = 100_000           # numbers in one gene_space list, and in all of them
MAX_STEPPED_SPACE_SIZE = 10**9       # values in one {"low", "high", "step"} range
MAX_UNIQUE_CANDIDATES = 1_000_000    # values PyGAD lists per repair when duplicates are refused
MAX_ABS_NUMBER = 1e15                # keeps every number exact in int64 and float64
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
_PERMUTATIONS = ("swap", "inversion", "scramble")

# Integer gene type -> the (lowest, highest) value it holds ("int" is stored as int64).
INT_TYPES = {"int": (-2**63, 2**63 - 1), "int8": (-2**7, 2**7 - 1), "int16": (-2**15, 2**15 - 1),
             "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1), "uint8": (0, 2**8 - 1),
             "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1)}
# Float gene type -> its largest finite value.
FLOAT_TYPES = {"float": 1.7976931348623157e308, "float16": 65504.0,
               "float32": 3.4028234663852886e38, "float64": 1.7976931348623157e308}
GENE_TYPE_NAMES = tuple(INT_TYPES) + tuple(FLOAT_TYPES)
# Types any gene value fits (within MAX_ABS_NUMBER): genes of these may swap values.
_WIDE_TYPES = {"int", "int64", "float", "float32", "float64"}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
STOP_CRITERION_RE = re.compile(rf"reach(?:_{_NUMBER})+|saturate_[1-9]\d{{0,9}}|"
                               rf"time_\+?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|evaluations_[1-9]\d{{0,12}}")


def _number(value, what="a value"):
    """A finite JSON number (not a bool) of sane magnitude, kept as int or float."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{what} must be a number")
    if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
        raise ValidationError(f"{what} must be finite and within ±{MAX_ABS_NUMBER:g}")
    return value


def _list(value, what, max_len):
    if not isinstance(value, list) or not 1 <= len(value) <= max_len:
        raise ValidationError(f"{what} must be a non-empty list of at most {max_len} items")
    return value


def _bounded(what, low, high, low_open=False, integer=False):
    def parse(value):
        value = _number(value, what)
        if value < low or value > high or (low_open and value == low) or (integer and not isinstance(value, int)):
            raise ValidationError(f"{what} must be {'an integer ' if integer else ''}"
                                  f"{'>' if low_open else '>='} {low:g} and <= {high:g}")
        return value
    return parse


def _single_or_pair(parse_one):
    # A pair [high, low] is for adaptive mutation; the validators check it matches the type.
    def parse(value):
        if isinstance(value, list):
            if len(value) != 2:
                raise ValidationError("must be a single value, or a pair [high, low] for adaptive mutation")
            return [parse_one(v) for v in value]
        return parse_one(value)
    return parse


def _parse_range(value):
    if isinstance(value, list):
        return [_number(v) for v in _list(value, "a per-gene bound", MAX_NUM_GENES)]
    return _number(value)


def _is_pair(value):
    """Whether a gene_type value is one [name, digits] pair (PyGAD reads it so too)."""
    return (isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)
            and not isinstance(value[1], (str, list)))


def _parse_type_entry(value):
    if isinstance(value, str) and value in GENE_TYPE_NAMES:
        return value
    if not _is_pair(value):
        raise ValidationError(f'a gene type is one of {", ".join(GENE_TYPE_NAMES)}, or a pair like ["float", 3]')
    name, digits = _parse_type_entry(value[0]), value[1]
    if digits is not None:
        if isinstance(digits, bool) or not isinstance(digits, int) or not 0 <= digits <= MAX_PRECISION:
            raise ValidationError(f"the rounding precision must be an integer from 0 to {MAX_PRECISION}")
        if name in INT_TYPES:
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
    return max(0, math.ceil((high - low) / step))


def _parse_space_dict(value):
    if set(value) not in ({"low", "high"}, {"low", "high", "step"}):
        raise ValidationError('a gene_space range is {"low": a, "high": b} with an optional "step"')
    space = {key: _number(v, f"gene_space {key}") for key, v in value.items()}
    if "step" not in space and not space["low"] < space["high"]:
        raise ValidationError("a gene_space range needs low < high")
    if "step" in space:
        if space["step"] == 0 or space["high"] == space["low"] or (space["step"] > 0) != (space["high"] > space["low"]):
            raise ValidationError("a gene_space step must be non-zero and lead from low towards high")
        if _stepped_size(space) > MAX_STEPPED_SPACE_SIZE:
            raise ValidationError(f"a gene_space range may hold at most {MAX_STEPPED_SPACE_SIZE} values")
    return space


def _parse_gene_space(value):
    def values(items):
        return [None if v is None else _number(v, "a gene_space value")
                for v in _list(items, "a gene_space list", MAX_SPACE_VALUES)]
    if isinstance(value, dict):
        return _parse_space_dict(value)
    if not any(isinstance(v, (list, dict)) for v in _list(value, "gene_space", MAX_SPACE_VALUES)):
        return values(value)   # PyGAD's flat list: one space shared by every gene
    entries = [_parse_space_dict(v) if isinstance(v, dict) else values(v) if isinstance(v, list)
               else None if v is None else _number(v, "a gene_space value") for v in value]
    if sum(len(e) for e in entries if isinstance(e, list)) > MAX_SPACE_VALUES:
        raise ValidationError(f"gene_space may hold at most {MAX_SPACE_VALUES} values in all")
    return entries


def _parse_categorical(value):
    if isinstance(value, bool) or (isinstance(value, list) and 1 <= len(value) <= MAX_NUM_GENES
                                   and all(isinstance(v, bool) for v in value)):
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
            raise ValidationError(f'{item!r} is not a stop criterion: use "reach_<fitness>" (or one number per objective), '
                  '"saturate_<generations>", "time_<seconds>" or "evaluations_<count>"')
        if any(not abs(float(n)) <= MAX_ABS_NUMBER for n in item.split("_")[1:]):
            raise ValidationError(f"the numbers in {item!r} must be within ±{MAX_ABS_NUMBER:g}")
    return value


class _Json(fields.Field):
    """A JSON-shaped value checked by a parse function; the loaded value stays JSON."""

    def __init__(self, parse, **kwargs):
        super().__init__(**kwargs)
        self._parse = parse

    def _deserialize(self, value, attr, data, **kwargs):
        return self._parse(value)


class _Bool(fields.Boolean):
    """JSON true/false only: PyGAD rejects anything that is not a real bool (1 included)."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class _Operator(fields.String):
    """An operator name; JSON null means "null" (the step is skipped, PyGAD's None)."""

    def deserialize(self, value, attr=None, data=None, **kwargs):
        return super().deserialize("null" if value is None else value, attr, data, **kwargs)


def _int(low, high, default, text, required=False):
    extra = {"required": True} if required else {"load_default": default, "allow_none": default is None}
    return fields.Integer(strict=True, validate=validate.Range(low, high), metadata={"description": text}, **extra)


def _json(parse, default, text, **openapi):
    return _Json(parse, load_default=default, allow_none=default is None, metadata={"description": text, **openapi})


def _bool(default, text):
    return _Bool(load_default=default, metadata={"description": text})


def _choice(names, default, text, cls=fields.String):
    return cls(load_default=default, validate=validate.OneOf(names), metadata={"description": text})


_NUMBERS = {"oneOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}]}


class GAParamsSchema(Schema):
    """Every JSON-expressible ``pygad.GA`` parameter, by PyGAD's names, with PyGAD's defaults."""

    num_generations = _int(1, MAX_NUM_GENERATIONS, None, "Number of generations to evolve.", required=True)
    num_parents_mating = _int(1, MAX_SOL_PER_POP, None, "Parents mating each generation (<= sol_per_pop).",
                              required=True)
    sol_per_pop = _int(2, MAX_SOL_PER_POP, None, "Solutions in the population (unless initial_population is given).")
    num_genes = _int(1, MAX_NUM_GENES, None, "Genes per solution (unless initial_population is given).")
    initial_population = _json(_parse_population, None, "Starting population, one list of genes per solution; "
                               "sets sol_per_pop and num_genes.", type="array", items={"type": "array"})
    init_range_low = _json(_parse_range, -4, "Lowest initial gene value (or one per gene).", **_NUMBERS)
    init_range_high = _json(_parse_range, 4, "Initial values stay below it (or one per gene).", **_NUMBERS)
    gene_type = _json(_parse_gene_type, "float", 'Gene type: "int", "float", "int8".."uint64", "float16".."float64", '
                      '["float", digits] to round, or one per gene.')
    gene_space = _json(_parse_gene_space, None, 'Allowed values: a list shared by every gene, {"low", "high"[, "step"]}'
                       ', or one entry per gene (list, range, number or null); null means any value.')
    gene_categorical = _json(_parse_categorical, None, "Unordered genes (a bool, or one per gene); a categorical "
                             "gene needs a gene_space list or stepped range.")
    parent_selection_type = _choice(PARENT_SELECTION_TYPES, "sss", "Parent selection; the nsga ones need a "
                                    "multi-objective fitness (a list of numbers).")
    K_tournament = _int(1, MAX_SOL_PER_POP, 3, "Solutions in each tournament (tournament selections).")
    keep_parents = _int(-1, MAX_SOL_PER_POP, None, "Parents kept in the next generation (-1 or null: all); "
                        "used only when keep_elitism is 0.")
    keep_elitism = _int(0, MAX_SOL_PER_POP, 1, "Best solutions copied to the next generation.")
    nsga3_num_divisions = _int(1, MAX_NSGA3_DIVISIONS, None, "Divisions per objective for NSGA-III reference points.")
    crossover_type = _choice(CROSSOVER_TYPES, "single_point", 'Crossover operator; "null" skips it.', _Operator)
    crossover_probability = _json(_bounded("crossover_probability", 0, 1), None, "Chance of each parent taking "
                                  "part in crossover (0..1).", type="number")
    sbx_crossover_eta = _json(_bounded("sbx_crossover_eta", 0, MAX_ETA, True), 30, "SBX distribution index "
                              "(higher keeps children nearer their parents).", type="number")
    mutation_type = _choice(MUTATION_TYPES, "random", 'Mutation operator; "null" skips it.', _Operator)
    mutation_probability = _json(_single_or_pair(_bounded("mutation_probability", 0, 1)), None, "Chance of "
                                 "mutating each gene, or [high, low] for adaptive; wins over the gene counts.",
                                 **_NUMBERS)
    polynomial_mutation_eta = _json(_bounded("polynomial_mutation_eta", 0, MAX_ETA, True), 20, "Polynomial "
                                    "mutation distribution index (higher makes smaller steps).", type="number")
    mutation_by_replacement = _bool(False, "Random mutation replaces the gene instead of adding to it.")
    mutation_percent_genes = _json(_single_or_pair(_bounded("mutation_percent_genes", 0, 100, True)), "default",
                                   'Percent of genes mutated ("default": 10), or [high, low] for adaptive.',
                                   oneOf=[{"type": "string", "enum": ["default"]}] + _NUMBERS["oneOf"])
    mutation_num_genes = _json(_single_or_pair(_bounded("mutation_num_genes", 1, MAX_NUM_GENES, integer=True)), None, "Genes mutated, or [high, low] for adaptive; "
                               "wins over mutation_percent_genes.", **_NUMBERS)
    random_mutation_min_val = _json(_parse_range, -1.0, "Lowest random mutation value (or one per gene).", **_NUMBERS)
    random_mutation_max_val = _json(_parse_range, 1.0, "Highest random mutation value (or one per gene).", **_NUMBERS)
    sample_size = _int(1, MAX_SAMPLE_SIZE, 100, "Candidates drawn when looking for a unique or allowed value.")
    allow_duplicate_genes = _bool(True, "Allow equal genes in a solution; false makes PyGAD search unique values.")
    save_best_solutions = _bool(False, "Keep the best solution of every generation.")
    save_solutions = _bool(False, "Keep every solution of every generation (memory hungry).")
    stop_criteria = _json(_parse_stop_criteria, None, 'Stop early: "reach_<fitness>", "saturate_<generations>", '
                          '"time_<seconds>", "evaluations_<count>", or a list of them.',
                          oneOf=[{"type": "string"}, {"type": "array", "items": {"type": "string"}}])
    random_seed = _int(0, MAX_RANDOM_SEED, None, "Seed making the run reproducible.")
    fitness_batch_size = _int(1, MAX_SOL_PER_POP, None, "Solutions per fitness call; null: one at a time.")

    @validates_schema(pass_original=True)
    def _check_sizes_and_selection(self, data, original, **kwargs):
        errors = {}
        pop = data.get("initial_population")
        for name, size in ((("sol_per_pop", len(pop)), ("num_genes", len(pop[0]))) if pop else ()):
            if data.get(name) is not None and data[name] != size:
                errors[name] = [f"must equal the size of initial_population ({size}) or be left out"]
        if pop is not None and len(pop) < 2:
            errors["initial_population"] = ["must hold at least 2 solutions"]
        for name in ("sol_per_pop", "num_genes") if pop is None else ():
            if data.get(name) is None:
                errors[name] = ["is required unless initial_population is given"]
        sol, selection = _dims(data)[0], data.get("parent_selection_type", "sss")
        npm, elite, kept = data.get("num_parents_mating"), data.get("keep_elitism", 1), data.get("keep_parents")
        if sol is not None:
            _at_most(errors, "num_parents_mating", npm, sol, "sol_per_pop")
            _at_most(errors, "keep_elitism", elite, sol, "sol_per_pop")
            _at_most(errors, "fitness_batch_size", data.get("fitness_batch_size"), sol, "sol_per_pop")
            if isinstance(original, dict) and "K_tournament" in original:   # PyGAD clips the default quietly
                _at_most(errors, "K_tournament", data.get("K_tournament"), sol, "sol_per_pop")
        if kept is not None and npm is not None:   # PyGAD bounds keep_parents by the parents selected
            _at_most(errors, "keep_parents", kept, npm, "num_parents_mating")
        if sol is not None and npm is not None and data.get("crossover_type") == "null":
            # Without crossover PyGAD 3.9.2 builds the offspring from the parents (and, when they are
            # too few, from the population) with slices that go wrong for these sizes. NSGA-III may
            # grow sol_per_pop after the start, so there the bound must hold for any larger size.
            grows = "nsga3" in selection
            if 0 < elite and sol - elite <= elite and npm < (need := elite if grows else sol - elite):
                errors.setdefault("num_parents_mating", []).append(
                    f"must be >= {need} when crossover_type is null and keep_elitism is {elite}")
            if elite == 0 and kept and kept > 0 and (sol - kept > kept or grows) \
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
                continue
            for name, value in ((low, lows), (high, highs)):
                if isinstance(value, list) and genes is not None and len(value) != genes:
                    errors[name] = [f"must have one value per gene: length must be num_genes ({genes})"]
            for i, (lo, hi) in enumerate(zip(_as_list(lows), _as_list(highs))):
                if lo >= hi if strict else lo > hi:
                    where = f" at gene {i}" if isinstance(lows, list) else ""
                    errors.setdefault(high, [f"must be {'>' if strict else '>='} {low} ({lo}){where}"])
        mutation = data.get("mutation_type", "random")
        adaptive = mutation == "adaptive"
        for name in ("mutation_probability", "mutation_percent_genes", "mutation_num_genes"):
            value = data.get(name)
            if value is None or value == "default" or mutation == "null":
                continue
            if isinstance(value, list) != adaptive:
                errors[name] = ["must be a pair [high, low] for adaptive mutation" if adaptive
                                else "must be a single value (pairs are for adaptive mutation)"]
            elif name == "mutation_num_genes" and genes is not None and max(_as_list(value)) > genes:
                errors[name] = [f"must be <= num_genes ({genes})"]
        if adaptive and data.get("mutation_probability") is None and data.get("mutation_num_genes") is None \
                and data.get("mutation_percent_genes", "default") == "default":
            errors["mutation_percent_genes"] = ["adaptive mutation needs a pair [high, low] here, in "
                                                "mutation_probability or in mutation_num_genes"]
        if errors:
            raise ValidationError(errors)

    @validates_schema
    def _check_genes(self, data, **kwargs):
        genes = _dims(data)[1]
        errors = _gene_errors(data, genes) if genes is not None else None
        if errors:
            raise ValidationError(errors)


def _dims(data):
    pop = data.get("initial_population")
    return (len(pop), len(pop[0])) if pop else (data.get("sol_per_pop"), data.get("num_genes"))


def _at_most(errors, name, value, bound, bound_name):
    if value is not None and value > bound:
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
    """Why PyGAD finds no value of the type in [low, high) (and raises), or None."""
    if name in INT_TYPES:
        first, last = max(math.ceil(low), INT_TYPES[name][0]), min(math.ceil(high) - 1, INT_TYPES[name][1])
        return None if first <= last else f"holds no {name} value"
    if max(abs(low), abs(high)) > FLOAT_TYPES[name]:
        return f"exceeds the {name} range (±{FLOAT_TYPES[name]:g})"
    if not _float_range_ok(low, high, name, digits):
        return f"holds no {name} value{'' if digits is None else f' rounded to {digits} digits'}"
    return None


def _float_range_ok(lower, upper, name, digits):
    """PyGAD 3.9.2's own bound search (helper/misc.py), step by step.

    Its rounding arithmetic also fails on some ranges wide enough to hold values
    (e.g. [-7.8, -7.6) rounded to 1 digit), so no simpler rule predicts it.
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


def _gene_types(gene_type, genes):
    """One (name, digits) per gene, or None when a per-gene list has the wrong length."""
    entries = [gene_type] * genes if isinstance(gene_type, str) or _is_pair(gene_type) else gene_type
    return [(t, None) if isinstance(t, str) else tuple(t) for t in entries] if len(entries) == genes else None


def _explicit_values(space):
    """The numbers a gene's space names (range ends included), cast to the gene type by PyGAD."""
    if isinstance(space, dict):
        last = space["high"] if "step" not in space else space["low"] + (_stepped_size(space) - 1) * space["step"]
        return [space["low"], last]
    return [v for v in _as_list(space) if v is not None]


def _candidates(name, space, free, ranges):
    """How many values PyGAD lists for one gene when it repairs duplicates."""
    if isinstance(space, dict):
        count = _stepped_size(space) if "step" in space else (
            space["high"] - space["low"] + 2 if name in INT_TYPES else 1)
    else:
        count = len(_as_list(space))
    if free and name in INT_TYPES:   # integer init and mutation ranges are listed in full
        count += sum(high - low + 2 for low, high in ranges)
    return math.ceil(count)


def _gene_errors(data, genes):
    """Per-gene checks: lengths, categorical genes, values the gene types hold, PyGAD crashes."""
    errors = {}
    types = _gene_types(data.get("gene_type", "float"), genes)
    space = data.get("gene_space")
    nested = isinstance(space, list) and any(isinstance(v, (list, dict)) for v in space)
    categorical = data.get("gene_categorical")
    for name, wrong in (("gene_type", types is None), ("gene_space", nested and len(space) != genes),
                        ("gene_categorical", isinstance(categorical, list) and len(categorical) != genes)):
        if wrong:
            errors[name] = [f"must have one entry per gene: length must be num_genes ({genes})"]
    bounds = [(lambda v: v if isinstance(v, list) else [v] * genes)(data.get(n, PARAM_DEFAULTS[n]))
              for n in ("init_range_low", "init_range_high", "random_mutation_min_val", "random_mutation_max_val")]
    if errors or any(len(b) != genes for b in bounds):   # bound lengths are reported by another check
        return errors
    spaces = space if nested else [space] * genes
    flags = categorical if isinstance(categorical, list) else [bool(categorical)] * genes
    names = {name for name, _ in types}
    mutation, allow_duplicates = data.get("mutation_type", "random"), data.get("allow_duplicate_genes", True)
    if len(names) > 1 and mutation in _PERMUTATIONS and not names <= _WIDE_TYPES:
        # Permutation mutations move values between genes; numpy raises when one does not fit.
        errors["gene_type"] = [f"{mutation} mutation moves values between genes, so {', '.join(sorted(names - _WIDE_TYPES))}"
                               f" genes cannot be mixed with other types (only {', '.join(sorted(_WIDE_TYPES))} mix)"]
    # PyGAD 3.9.2 casts the mutation range to the gene type when it checks a value against a space
    # with a null entry (permutation or polynomial mutation, SBX, duplicate repair): numpy raises
    # OverflowError when that range (plus the gene, when added) leaves a narrow integer type.
    casts_range = space is not None and (not allow_duplicates or data.get("crossover_type") == "sbx"
                                         or mutation in _PERMUTATIONS + ("polynomial",))
    pop, candidates = data.get("initial_population"), 0
    for i, ((name, digits), gene_space, flag) in enumerate(zip(types, spaces, flags)):
        at = f" (gene {i})" if genes > 1 else ""
        low, high, mut_low, mut_high = (b[i] for b in bounds)
        free = gene_space is None or (isinstance(gene_space, list) and None in gene_space)
        if flag and not (isinstance(gene_space, list) and not free or isinstance(gene_space, dict) and "step" in gene_space):
            errors.setdefault("gene_categorical", [f"a categorical gene needs a gene_space list of numbers "
                                                   f"or a stepped range{at}"])
        problem = free and _range_problem(low, high, name, digits)
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
        if casts_range and free and name in INT_TYPES and name not in _WIDE_TYPES and not (
                mutation_fits and (gene_space is not None or data.get("mutation_by_replacement"))):
            errors.setdefault("gene_space", [
                f"a null entry for a {name} gene, with this mutation, crossover or allow_duplicate_genes=false, needs "
                f"random_mutation_min_val and random_mutation_max_val within {name}'s limits"
                f"{'' if gene_space is not None else ' and mutation_by_replacement=true'}{at}"])
        if not allow_duplicates:
            candidates += _candidates(name, gene_space, free, ((low, high), (mut_low, mut_high)))
    if candidates > MAX_UNIQUE_CANDIDATES:
        errors.setdefault("allow_duplicate_genes", [
            f"false makes PyGAD list every candidate value of every gene: these settings give {candidates} "
            f"(at most {MAX_UNIQUE_CANDIDATES}); narrow the integer ranges or the gene_space steps"])
    return errors


PARAM_NAMES = tuple(GAParamsSchema._declared_fields)
PARAM_DEFAULTS = {name: None if field.required else field.load_default
                  for name, field in GAParamsSchema._declared_fields.items()}


def effective_params(loaded: dict) -> dict:
    """Every GA parameter, defaults filled and sizes taken from initial_population, as plain JSON."""
    params = {name: copy.deepcopy(loaded.get(name, PARAM_DEFAULTS[name])) for name in PARAM_NAMES}
    for name in ("crossover_type", "mutation_type"):
        params[name] = "null" if params[name] is None else params[name]
    if params["initial_population"] is not None:
        params["sol_per_pop"], params["num_genes"] = _dims(params)
    return params
