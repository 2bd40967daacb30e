"""Reading what a job sends back. Past the jail's first line it is attacker data.

Each line must be one JSON object of a known type and shape: finite numbers (or
the strings "Infinity", "-Infinity", "NaN" where fitness may be non-finite),
integers no larger than 2**53, a fitness that is one number or a flat list of at
most MAX_OBJECTIVES numbers, lists no longer than the run's own parameters allow,
bounded strings made valid UTF-8. Anything else makes the report malformed, and
the run fails with `invalid_report` (charged: the job wrote it).
"""
import binascii
import json
import math
import re
import struct

from ..domain.words import plural

SPECIAL_FLOATS = ("Infinity", "-Infinity", "NaN")
_SURROGATE = re.compile("[\ud800-\udfff]")  # json joins valid pairs, so any left is alone
MAX_TEXT = 64 * 1024
MAX_OBJECTIVES = 64  # values of one multi-objective fitness
MAX_SETUP_CPU_SECONDS = 60.0  # the jail's own CPU before a job's code runs is milliseconds; never this
MAX_SAFE_INT = 2 ** 53  # beyond it an integer is not exactly a float (nor a JSON number every client reads)
USER_ERROR_CODES = ("fitness_error", "invalid_fitness", "memory_limit", "sandbox_violation")
LINE_BASE_BYTES = 1 << 20  # logs (64 Ki characters, escaped), a traceback, the generators' state, field names
BYTES_PER_NUMBER = 32  # "-1.2345678901234567e-308," with room to spare
TEXT_VALUES = 128 * 1024  # commas and brackets the texts of a line (at most 75 Ki characters) may hold


def max_line_bytes(params, max_output_bytes):
    """The longest line a valid report of this run can have (a result line is the longest).

    Fixed before the run starts, from its own parameters; a longer line is refused unread.
    """
    return min(max_output_bytes, LINE_BASE_BYTES + BYTES_PER_NUMBER * _numbers_at_most(params))


def max_line_values(params):
    """How many JSON values a valid report line of this run can hold, counted as its commas and
    opening brackets (each value but a container's first follows a comma; each container opens
    with one), with room for the texts (logs, message, traceback) whose characters these may be.

    Checked before a line is parsed: within its byte cap, a line of empty lists ("[],") made the
    server build 35 objects a kilobyte, hundreds of MiB for one line. Fixed by the run's shape.
    """
    pop, history = params["sol_per_pop"], params["num_generations"] + 1
    containers = 3 * pop + 2 * history + 64  # a population's rows, a fitness list each, the fields
    return _numbers_at_most(params) + 2 * containers + TEXT_VALUES


def _numbers_at_most(params):
    """The numbers a valid result of this run can hold: its population and best solution; the
    fitness values (up to MAX_OBJECTIVES each) of the last generation, of the Pareto front, of each
    generation's best and of the best solution; the mean fitness per generation."""
    genes, pop = params["num_genes"], params["sol_per_pop"]
    history = params["num_generations"] + 1
    return genes * (pop + 1) + MAX_OBJECTIVES * (2 * pop + history + 1) + history


class MalformedReport(Exception):
    """The job sent something that is not a valid report."""


def parse_line(line):
    """One JSON object from one line; never anything but plain JSON types."""
    try:
        message = json.loads(line, parse_constant=_refuse_constant, parse_int=_bounded_int)
    except (ValueError, RecursionError) as exc:
        raise MalformedReport(f"not a JSON line: {str(exc)[:200]}") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise MalformedReport("a report line must be an object with a type")
    return message


def _refuse_constant(name):
    raise ValueError(f"bare {name} is not JSON")


def _bounded_int(text):
    # Refused before it is converted: a long digit string costs quadratic time to parse.
    if len(text) > 17 or abs(int(text)) > MAX_SAFE_INT:
        raise ValueError(f"an integer beyond 2**53 ({text[:20]}...)")
    return int(text)


def check_hello(message):
    """The jail's hello: (the layers it applied, the CPU seconds it used before the job's code ran)."""
    if message.get("type") != "hello" or not _is_list_of(message.get("layers"), str, 32):
        raise MalformedReport("the job did not start through the jail")
    setup = message.get("setup_cpu_seconds", 0.0)
    if not isinstance(setup, (int, float)) or isinstance(setup, bool) or not 0 <= setup <= MAX_SETUP_CPU_SECONDS:
        raise MalformedReport("the jail's hello has no sensible setup_cpu_seconds")
    return [clean_text(layer)[:64] for layer in message["layers"]], float(setup)


def check_progress(message, params):
    generations = message.get("generations_completed")
    if not _is_int(generations) or not 0 <= generations <= params["num_generations"]:
        raise MalformedReport("progress: generations_completed out of range")
    return generations, _fitness(message.get("best_fitness"), "best_fitness", allow_none=True), \
        _fitness(message.get("mean_fitness"), "mean_fitness", allow_none=True)


def check_error(message):
    error = message.get("error")
    if not isinstance(error, dict) or error.get("code") not in USER_ERROR_CODES:
        raise MalformedReport("error: unknown error code")
    clean = {"code": error["code"], "message": _text(error.get("message"), "error.message", 2000)}
    if error.get("traceback") is not None:
        clean["traceback"] = _text(error["traceback"], "error.traceback", 8192)
    return clean, _text(message.get("logs", ""), "logs", MAX_TEXT)


def check_result(message, params):
    """The result body (without logs), validated against the run's own shape."""
    genes, pop = params["num_genes"], params["sol_per_pop"]
    generations = params["num_generations"]
    result = {
        "best_solution": _numbers(message.get("best_solution"), "best_solution", genes, exact=True),
        "best_solution_fitness": _fitness(message.get("best_solution_fitness"), "best_solution_fitness"),
        "best_solution_idx": _int_in(message.get("best_solution_idx"), "best_solution_idx", -1, pop - 1),
        "best_solution_generation": _int_in(message.get("best_solution_generation"),
                                            "best_solution_generation", -1, generations),
        "generations_completed": _int_in(message.get("generations_completed"), "generations_completed", 0,
                                         generations),
        "best_fitness_per_generation": _list(message.get("best_fitness_per_generation"),
                                             "best_fitness_per_generation", generations + 1,
                                             lambda v: _fitness(v, "best_fitness_per_generation")),
        "last_generation_fitness": _exactly(_list(message.get("last_generation_fitness"),
                                                  "last_generation_fitness", pop,
                                                  lambda v: _fitness(v, "last_generation_fitness")),
                                            "last_generation_fitness", pop),
        # Exactly sol_per_pop rows: a continuation resumes from them.
        "population": _exactly(_list(message.get("population"), "population", pop,
                                     lambda row: _numbers(row, "population", genes, exact=True)),
                               "population", pop),
    }
    if "pareto_front" in message:
        result["pareto_front"] = _list(message["pareto_front"], "pareto_front", pop,
                                       lambda row: _list(row, "pareto_front", MAX_OBJECTIVES,
                                                         lambda v: _fitness_value(v, "pareto_front")))
    result["mean_fitness_per_generation"] = _list(
        message.get("mean_fitness_per_generation", []), "mean_fitness_per_generation", generations + 1,
        lambda v: _fitness(v, "mean_fitness_per_generation", allow_none=True))
    result["random_state"] = _random_state(message.get("random_state"))
    result["stopped"] = message.get("stopped") is True
    if message.get("stop_criterion") is not None:  # an index into the run's own stop_criteria
        criteria = params.get("stop_criteria") or []
        result["stop_criterion"] = _int_in(message["stop_criterion"], "stop_criterion", 0,
                                           (1 if isinstance(criteria, str) else len(criteria)) - 1)
    extra = set(message) - set(result) - {"type", "logs", "stop_criterion"}
    if extra:
        raise MalformedReport(f"result: unexpected fields {sorted(extra)[:5]}")
    return result, _text(message.get("logs", ""), "logs", MAX_TEXT)


def _random_state(state):
    """The generators' states a continuation resumes from: exactly the shapes numpy and random use.

    Each generator's words come as base64 from a job (ga_report.random_state_as_data), as numbers
    from a worker; they are returned as lists of numbers, the form a continuation's spec carries.
    """
    try:
        name, keys, position, has_gauss, cached = state["numpy"]
        version, internal, gauss_next = state["python"]
        keys, internal = _words(keys, 624), _words(internal, 625)
        valid = (name == "MT19937" and keys is not None and _is_int(position) and 0 <= position <= 624
                 and has_gauss in (0, 1) and isinstance(cached, (int, float)) and math.isfinite(cached)
                 and version == 3 and internal is not None and 0 <= internal[624] <= 624
                 and (gauss_next is None or isinstance(gauss_next, float) and math.isfinite(gauss_next)))
    except (TypeError, ValueError, KeyError):
        valid = False
    if not valid:
        raise MalformedReport("result: random_state has not the shape of a generator's state")
    return {"numpy": [name, keys, position, has_gauss, cached], "python": [version, internal, gauss_next]}


def _words(text, count):
    """`count` unsigned 32-bit words, from the base64 of their little-endian bytes (what a job sends) or
    as a list of numbers (what a worker forwards, checked again); None if it is neither."""
    if isinstance(text, list):
        valid = len(text) == count and all(_is_int(v) and 0 <= v < 2 ** 32 for v in text)
        return text if valid else None
    if not isinstance(text, str) or len(text) > 8 * count:
        return None
    try:
        raw = binascii.a2b_base64(text, strict_mode=True)
    except (binascii.Error, ValueError):
        return None
    if len(raw) != 4 * count:
        return None
    return list(struct.unpack(f"<{count}I", raw))


def _exactly(values, name, length):
    if len(values) != length:
        raise MalformedReport(f"result: {name} must hold {plural(length, 'item')}")
    return values


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _is_list_of(value, kind, limit):
    return isinstance(value, list) and len(value) <= limit and all(isinstance(v, kind) for v in value)


def _int_in(value, name, low, high):
    if not _is_int(value) or not low <= value <= high:
        raise MalformedReport(f"result: {name} out of range")
    return value


def _number(value, name):
    if type(value) is float:  # what json gives: no subclass, no bool
        if math.isfinite(value):
            return value
    elif type(value) is int and -MAX_SAFE_INT <= value <= MAX_SAFE_INT:
        return value
    raise MalformedReport(f"result: {name} holds something that is not a finite number")


def _fitness_value(value, name):
    if isinstance(value, str) and value in SPECIAL_FLOATS:
        return value
    return _number(value, name)


def _fitness(value, name, allow_none=False):
    """One number, or a flat list of 1..MAX_OBJECTIVES numbers (multi-objective); never deeper."""
    if value is None and allow_none:
        return None
    if isinstance(value, list):
        if not value:
            raise MalformedReport(f"result: {name} holds an empty fitness")
        return _list(value, name, MAX_OBJECTIVES, lambda v: _fitness_value(v, name))
    return _fitness_value(value, name)


def _numbers(value, name, length, exact=False):
    values = _list(value, name, length, lambda v: _number(v, name))
    if exact and len(values) != length:
        raise MalformedReport(f"result: {name} must hold {plural(length, 'value')}")
    return values


def _list(value, name, limit, check):
    if not isinstance(value, list) or len(value) > limit:
        raise MalformedReport(f"result: {name} must be a list of at most {plural(limit, 'item')}")
    return [check(item) for item in value]


def _text(value, name, limit):
    if not isinstance(value, str):
        raise MalformedReport(f"{name} must be a string")
    return clean_text(value[-limit:])


def clean_text(text):
    """Valid UTF-8 whatever the job wrote: a lone surrogate ("\\ud800") becomes U+FFFD."""
    return _SURROGATE.sub("\ufffd", text)
