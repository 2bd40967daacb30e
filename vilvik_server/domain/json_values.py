"""Values as the API writes them in JSON: a non-finite float becomes "NaN", "Infinity" or "-Infinity".

Strict JSON has no such numbers, and a fitness may be any of them; every body that can
carry one (results, webhook payloads, experiment statistics, the quick builder's
readings) goes through finite() once, here.
"""
import math


def finite(value):
    """`value` with every non-finite float (in dicts, lists and tuples too) written as its string."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: finite(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite(item) for item in value]
    return value
