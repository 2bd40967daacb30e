"""The fields of a PyGAD parameter set: one parser per JSON shape PyGAD 3.9.2 reads, with its limits.

Each parser takes the JSON value of one field and returns it (still plain JSON) or raises
ValidationError; rules that relate fields to each other are in ga_rules.py.
"""
import math
import re

from marshmallow import ValidationError, fields, validate

from .ga_types import GENE_TYPE_NAMES, INT_TYPES, is_type_pair, stepped_size

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
PERMUTATIONS = ("swap", "inversion", "scramble")
# PyGAD's defaults of the four bounds, which the rules read when a body leaves a bound out.
RANGE_DEFAULTS = {"init_range_low": -4, "init_range_high": 4, "random_mutation_min_val": -1.0,
                  "random_mutation_max_val": 1.0}
_NUM = r"(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
STOP_CRITERION_RE = re.compile(rf"reach(?:_[-+]?{_NUM})+|time_\+?{_NUM}|saturate_[1-9]\d{{0,9}}|"
                               r"evaluations_[1-9]\d{0,12}")


def number(value, what=""):
    """A JSON number (not a bool), finite and within ±MAX_ABS_NUMBER."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValidationError(f"{what} must be a number".lstrip())
    if not math.isfinite(value) or abs(value) > MAX_ABS_NUMBER:
        raise ValidationError(f"{what} must be finite and within ±{MAX_ABS_NUMBER:g}".lstrip())
    return value


def bounded_list(value, what, max_len):
    """A non-empty JSON list of at most max_len items."""
    if not isinstance(value, list) or not 1 <= len(value) <= max_len:
        raise ValidationError(f"{what} must be a non-empty list of at most {max_len} items")
    return value


def bounded(low, high, low_open=False, integer=False, pair=False):
    """A parser for one number in [low, high] (or (low, high]), or for a [high, low] pair of them."""
    def one(value):
        value = number(value)
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


def or_default(parse):
    """Also accept "default", PyGAD's own default value, so stored parameters load again as given."""
    return lambda value: value if value == "default" else parse(value)


def parse_range(value):
    return [number(v) for v in bounded_list(value, "a per-gene bound", MAX_NUM_GENES)] if isinstance(value, list) \
        else number(value)


def _parse_type_entry(value):
    if isinstance(value, str) and value in GENE_TYPE_NAMES:
        return value
    if not is_type_pair(value):
        raise ValidationError(f'a gene type is one of {", ".join(GENE_TYPE_NAMES)}, or a pair like ["float", 3]')
    name, digits = _parse_type_entry(value[0]), value[1]
    if digits is not None and (type(digits) is not int or not 0 <= digits <= MAX_PRECISION):   # bool is no int
        raise ValidationError(f"the rounding precision must be an integer from 0 to {MAX_PRECISION}")
    if digits is not None and name in INT_TYPES:
        raise ValidationError(f"{name} genes cannot be rounded: pair a float type with the digits")
    return [name, digits]


def parse_gene_type(value):
    if isinstance(value, str) or is_type_pair(value):
        return _parse_type_entry(value)
    return [_parse_type_entry(v) for v in bounded_list(value, "a per-gene gene_type", MAX_NUM_GENES)]


def _parse_space_entry(value, nested):
    if isinstance(value, list) and not nested:
        return [None if v is None else number(v, "a gene_space value") for v in value]
    if not isinstance(value, dict):
        return None if value is None else number(value, "a gene_space value")
    if set(value) not in ({"low", "high"}, {"low", "high", "step"}):
        raise ValidationError('a gene_space range is {"low": a, "high": b} with an optional "step"')
    space = {key: number(v, f"gene_space {key}") for key, v in value.items()}
    low, high, step = space["low"], space["high"], space.get("step")
    if step is None and not low < high:
        raise ValidationError("a gene_space range needs low < high")
    if step is not None and (step == 0 or high == low or (step > 0) != (high > low)):
        raise ValidationError("a gene_space step must be non-zero and lead from low towards high")
    if step is not None and stepped_size(space) > MAX_STEPPED_SPACE_SIZE:
        raise ValidationError(f"a gene_space range may hold at most {MAX_STEPPED_SPACE_SIZE} values")
    return space


def parse_gene_space(value):
    if isinstance(value, dict):
        return _parse_space_entry(value, False)
    bounded_list(value, "gene_space", MAX_SPACE_VALUES)
    if not any(isinstance(v, (list, dict)) for v in value):
        return _parse_space_entry(value, False)   # PyGAD's flat list: one space shared by every gene
    if any(isinstance(v, list) and not v for v in value) or sum(len(v) for v in value if isinstance(v, list)) > \
            MAX_SPACE_VALUES:
        raise ValidationError(f"each gene_space list needs 1 to {MAX_SPACE_VALUES} values (all lists together)")
    return [_parse_space_entry(v, isinstance(v, list) and any(isinstance(x, (list, dict)) for x in v)) for v in value]


def parse_categorical(value):
    if isinstance(value, bool) or isinstance(value, list) and 1 <= len(value) <= MAX_NUM_GENES \
            and all(isinstance(v, bool) for v in value):
        return value
    raise ValidationError("gene_categorical must be true, false, or a list with one bool per gene")


def parse_population(value):
    rows = bounded_list(value, "initial_population", MAX_SOL_PER_POP)
    if not all(isinstance(row, list) for row in rows):
        raise ValidationError("initial_population must be a 2-D list: one list of gene values per solution")
    if not 1 <= len(rows[0]) <= MAX_NUM_GENES or any(len(row) != len(rows[0]) for row in rows):
        raise ValidationError(f"every solution must have the same number (1 to {MAX_NUM_GENES}) of genes")
    if len(rows) * len(rows[0]) > MAX_POPULATION_VALUES:
        raise ValidationError(f"initial_population may hold at most {MAX_POPULATION_VALUES} values")
    return [[number(v, "a gene value") for v in row] for row in rows]


def parse_stop_criteria(value):
    for item in [value] if isinstance(value, str) else bounded_list(value, "stop_criteria", MAX_STOP_CRITERIA):
        if not isinstance(item, str) or not STOP_CRITERION_RE.fullmatch(item):
            raise ValidationError(f'{item!r} is not a stop criterion: use "reach_<fitness>" (or one number per '
                                  'objective), "saturate_<generations>", "time_<seconds>" or "evaluations_<count>"')
        if any(not abs(float(n)) <= MAX_ABS_NUMBER for n in item.split("_")[1:]):
            raise ValidationError(f"the numbers in {item!r} must be within ±{MAX_ABS_NUMBER:g}")
    return value


def boolean(value):
    if not isinstance(value, bool):   # marshmallow's Boolean would take 1 or "yes"; PyGAD would not
        raise ValidationError("must be true or false")
    return value


def choice(names):
    def parse(value):
        if value not in names:
            raise ValidationError(f"must be one of: {', '.join(names)}")
        return value
    return parse


class JsonField(fields.Field):
    """A JSON value checked by a parse function; an operator's null reads as "null" (PyGAD's None)."""

    def __init__(self, parse, **kwargs):
        super().__init__(**kwargs)
        self.parse = parse

    def deserialize(self, value, attr=None, data=None, **kwargs):
        operator = value is None and "null" in self.metadata.get("enum", ())
        return super().deserialize("null" if operator else value, attr, data, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        return self.parse(value)


def json_field(parse, default, text, **openapi):
    return JsonField(parse, load_default=default, allow_none=default is None, metadata={"description": text, **openapi})


def int_field(low, high, default, text, required=False):
    extra = {"required": True} if required else {"load_default": default, "allow_none": default is None}
    return fields.Integer(strict=True, validate=validate.Range(low, high), metadata={"description": text}, **extra)


NUMBERS = {"oneOf": [{"type": "number"}, {"type": "array", "items": {"type": "number"}}]}
BOOL, OPS = {"type": "boolean"}, {"type": "string"}
