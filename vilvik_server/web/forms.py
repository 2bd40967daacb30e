"""From HTML form fields to the request bodies the API's schemas validate, and their errors back.

The forms send text; the API takes JSON. A field left empty is left out (PyGAD's
default applies); an integer field becomes an int; any other PyGAD field is read as
JSON when it parses (`0.1`, `[1, 2]`, `true`) and kept as text otherwise (`sss`).
The schemas then judge the values exactly as they judge an API request.
"""
import json

from marshmallow import fields

from ..domain.ga_params import PARAM_DEFAULTS, GAParamsSchema
from ..errors import ValidationFailed

# The custom form's groups: the usual parameters first, the rest folded away.
BASIC = ("num_generations", "num_parents_mating", "sol_per_pop", "num_genes", "init_range_low",
         "init_range_high", "gene_type", "random_seed")
OPERATORS = ("parent_selection_type", "K_tournament", "keep_parents", "keep_elitism", "crossover_type",
             "crossover_probability", "mutation_type", "mutation_probability", "mutation_percent_genes",
             "mutation_num_genes", "mutation_by_replacement", "random_mutation_min_val",
             "random_mutation_max_val", "stop_criteria")
LIMITS = ("cpu_seconds", "wall_seconds", "memory_mb")
GENE_TYPES = ("float", "int", "float16", "float32", "float64", "int8", "int16", "int32", "int64",
              "uint8", "uint16", "uint32", "uint64")


def param_fields():
    """Every PyGAD parameter as the form shows it, in groups: (title, open, [field, ...])."""
    declared = GAParamsSchema._declared_fields
    advanced = tuple(name for name in declared if name not in BASIC + OPERATORS)
    groups = [("Population and genes", True, BASIC), ("Selection, crossover and mutation", True, OPERATORS),
              ("Everything else PyGAD takes", False, advanced)]
    return [(title, opened, [_describe(name, declared[name]) for name in names]) for title, opened, names in groups]


def _describe(name, field):
    default = PARAM_DEFAULTS[name]
    choices = field.metadata.get("enum")
    if name == "gene_type":
        choices = GENE_TYPES
    if isinstance(default, bool):
        choices = ("true", "false")
    return {"name": name, "help": field.metadata.get("description", ""), "required": field.required,
            "integer": isinstance(field, fields.Integer), "choices": choices,
            "default": "" if default is None else default if isinstance(default, str) else json.dumps(default)}


def custom_body(form):
    """The POST /submissions body a custom form stands for."""
    body = {"type": "custom", "name": form.get("name", ""), "fitness_func": form.get("fitness_func", ""),
            "fitness_func_entry": form.get("fitness_func_entry", "").strip() or "fitness_func"}
    for name, field in GAParamsSchema._declared_fields.items():
        value = form.get(name, "").strip()
        if value:
            body[name] = integer(value) if isinstance(field, fields.Integer) else _json_or_text(value)
    limits = {name: integer(form.get(f"limits.{name}", "").strip()) for name in LIMITS
              if form.get(f"limits.{name}", "").strip()}
    if limits:
        body["limits"] = limits
    return body


def quick_body(form, problem):
    """The POST /submissions body of a quick form for `problem` (a catalogue entry)."""
    properties = (problem.get("params_schema") or {}).get("properties") or {}
    problem_params = {}
    for name, spec in properties.items():
        value = form.get(f"problem_params.{name}", "")
        kind = spec.get("type")
        if kind == "boolean":
            problem_params[name] = value == "true"
        elif value.strip():
            problem_params[name] = _typed(value.strip(), kind)
    body = {"type": "quick", "name": form.get("name", ""), "problem": problem["name"],
            "problem_params": problem_params}
    for name in ("num_generations", "sol_per_pop", "random_seed"):
        value = form.get(name, "").strip()
        if value:
            body[name] = integer(value)
    return body


def field_errors(messages):
    """Marshmallow's messages as {dotted field name: [text]} and the API's one-line message."""
    flat = {}

    def walk(prefix, value):
        if isinstance(value, dict):
            for key, inner in value.items():  # a list item's errors (key 3) belong to the list's field
                walk(prefix if isinstance(key, int) else f"{prefix}.{key}" if prefix else str(key), inner)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            flat.setdefault(prefix or "_schema", []).extend(value)
        elif isinstance(value, list):
            for inner in value:
                walk(prefix, inner)
        else:
            flat.setdefault(prefix or "_schema", []).append(str(value))
    walk("", messages)
    return flat, ValidationFailed.for_fields(messages).message


def _typed(value, kind):
    if kind == "integer":
        return integer(value)
    if kind == "number":
        try:
            return float(value) if not value.lstrip("-").isdigit() else int(value)
        except ValueError:
            return value
    if kind == "string":
        return value
    return _json_or_text(value)


def integer(value):
    """An int when the text is one; else the text, so the schema names the field ("Not a valid integer.")."""
    try:
        return int(value)
    except ValueError:
        return value  # the schema names the field: "Not a valid integer."


def _json_or_text(value):
    try:
        return json.loads(value)
    except ValueError:
        return value


def quick_fields(problem, form):
    """The inputs of a quick problem's parameters: name, label, help, kind, value, choices."""
    schema = problem.get("params_schema") or {}
    example = next((problem[key] for key in ("example", "example_params", "example_problem_params")
                    if isinstance(problem.get(key), dict)), {})
    required = set(schema.get("required") or ())
    described = []
    for name, spec in (schema.get("properties") or {}).items():
        key = f"problem_params.{name}"
        if key in form:
            value = form[key]
        else:
            value = example.get(name, spec.get("default"))
            value = "" if value is None else value if isinstance(value, str) else json.dumps(value)
        kind = spec.get("type") if isinstance(spec.get("type"), str) else "json"
        described.append({"name": name, "key": key, "label": spec.get("title") or name.replace("_", " "),
                          "help": spec.get("description", ""), "kind": kind, "value": value,
                          "required": name in required, "choices": spec.get("enum"),
                          "long": kind in ("array", "object", "json") or len(value) > 60})
    return described


def form_from(body):
    """The new-submission form's fields pre-filled from a POST /submissions body (edit and resubmit)."""
    def text(value):
        return value if isinstance(value, str) else json.dumps(value)

    form = {"name": body.get("name", "")}
    if body.get("type") == "quick":
        form.update({f"problem_params.{name}": text(value) for name, value in (body.get("problem_params") or {}).items()})
        form.update({name: text(body[name]) for name in ("num_generations", "sol_per_pop", "random_seed") if name in body})
        return form
    form.update(fitness_func=body.get("fitness_func", ""), fitness_func_entry=body.get("fitness_func_entry", "fitness_func"))
    form.update({name: text(value) for name, value in body.items() if name in GAParamsSchema._declared_fields})
    form.update({f"limits.{name}": str(value) for name, value in (body.get("limits") or {}).items()})
    return form
