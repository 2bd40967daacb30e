"""PyGAD 3.9.2's gene types as numbers: what each holds, and the values PyGAD derives from a gene's settings.

The rules (ga_rules.py) ask these questions about one gene at a time; the answers mirror
what numpy does when PyGAD casts a value to the gene's type, so a rule can refuse a
parameter set that would only fail later, inside a run.
"""
import functools
import math

import numpy

# Integer gene type -> (lowest, highest) value ("int" is stored as int64); float type -> largest value.
INT_TYPES = {"int": (-2**63, 2**63 - 1), "int8": (-2**7, 2**7 - 1), "int16": (-2**15, 2**15 - 1),
             "int32": (-2**31, 2**31 - 1), "int64": (-2**63, 2**63 - 1), "uint8": (0, 2**8 - 1),
             "uint16": (0, 2**16 - 1), "uint32": (0, 2**32 - 1), "uint64": (0, 2**64 - 1)}
FLOAT_TYPES = {"float": 1.7976931348623157e308, "float16": 65504.0, "float32": 3.4028234663852886e38,
               "float64": 1.7976931348623157e308}
GENE_TYPE_NAMES = tuple(INT_TYPES) + tuple(FLOAT_TYPES)
WIDE_TYPES = {"int", "int64", "float", "float32", "float64"}   # hold any number the fields accept
# A ceiling on the integers of a closed range [low, high] that PyGAD lists: high - low + 1 of them
# at most, and one more as a margin (the count only guards a size limit; it is never shown exact).
INTEGER_COUNT_MARGIN = 1


def is_type_pair(value):
    """Whether a gene_type value is one [name, digits] pair (as PyGAD reads it), not a list of per-gene types."""
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) \
        and not isinstance(value[1], (str, list))


def fits(value, name):
    """Whether numpy casts the value to the gene type without overflowing."""
    if name in INT_TYPES:
        return INT_TYPES[name][0] <= value <= INT_TYPES[name][1]
    return abs(value) <= FLOAT_TYPES[name]


def stepped_size(space):
    """Number of values in a stepped range, counted as PyGAD counts them (numpy.arange's length)."""
    low, high, step = space["low"], space["high"], space["step"]
    if all(isinstance(v, int) for v in (low, high, step)):
        return max(0, (abs(high - low) + abs(step) - 1) // abs(step))
    ratio = (high - low) / step   # a tiny step can overflow to inf, which PyGAD could not count
    return max(0, math.ceil(ratio)) if math.isfinite(ratio) else math.inf


@functools.lru_cache(maxsize=4096)
def range_problem(low, high, name, digits):
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


def explicit_values(space):
    """The numbers a gene's space names (range ends included), all cast to the gene type by PyGAD."""
    if isinstance(space, dict):
        return [space["low"], space["low"] + (stepped_size(space) - 1) * space["step"] if "step" in space
                else space["high"]]
    return [v for v in as_list(space) if v is not None]


def integers_in(low, high):
    """A ceiling on the integers PyGAD lists for the closed range [low, high] (see INTEGER_COUNT_MARGIN)."""
    return high - low + 1 + INTEGER_COUNT_MARGIN


def candidates(name, space, free, ranges):
    """How many values PyGAD lists for one gene when it repairs duplicates (allow_duplicate_genes false)."""
    count = len(as_list(space))
    if isinstance(space, dict):
        count = (stepped_size(space) if "step" in space
                 else integers_in(space["low"], space["high"]) if name in INT_TYPES else 1)
    if free and name in INT_TYPES:   # integer init and mutation ranges are listed in full
        count += sum(integers_in(low, high) for low, high in ranges)
    return math.ceil(count)


def as_list(value):
    return value if isinstance(value, list) else [value]
