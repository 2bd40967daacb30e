"""The quick builder: ready-made problems for ``type: "quick"`` submissions.

- ``PROBLEMS``: name -> Problem.
- ``catalogue()``: the JSON list behind ``GET /quick/problems``.
- ``build(problem, problem_params)``: validate the problem's parameters and return the PyGAD parameters
  (by PyGAD's names, for the caller to merge with the user's overrides and check with GAParamsSchema),
  the fitness source and its entry name.
- ``interpret(problem, problem_params, result)``: a readable reading of a result (the chosen items,
  the tour, the weights and output ...).

The unknown-problem case is the caller's: ``build`` and ``interpret`` raise KeyError for it.
"""
import copy

from marshmallow import ValidationError

from ..domain.json_values import finite
from .fields import params_schema
from .problems import ENTRY, PROBLEM_LIST, Problem, _genes

__all__ = ["PROBLEMS", "Problem", "build", "catalogue", "interpret", "load_params"]

PROBLEMS = {problem.name: problem for problem in PROBLEM_LIST}


def load_params(problem: str, problem_params) -> dict:
    """The problem's parameters checked and with defaults filled; ValidationError names the field."""
    if not isinstance(problem_params, dict):
        raise ValidationError("must be an object of the problem's parameters (see GET /quick/problems)")
    return PROBLEMS[problem].schema().load(problem_params)


def build(problem: str, problem_params: dict) -> tuple[dict, str, str]:
    """(PyGAD parameters, fitness source, fitness_func_entry) for a problem and its parameters."""
    spec = PROBLEMS[problem]
    params = load_params(problem, problem_params)
    return spec.ga_params(params), spec.source(params), ENTRY


def interpret(problem: str, problem_params: dict, result: dict) -> dict:
    """A readable answer from a result's best_solution (see each problem's fields)."""
    spec = PROBLEMS[problem]
    params = load_params(problem, problem_params or {})
    genes = _genes(result)
    if genes is None:
        return {"summary": "no solution"}
    reading = spec.interpret(params, genes, result)
    fitness = result.get("best_solution_fitness")
    if fitness is not None:
        reading["fitness"] = fitness
    return finite(reading)




def catalogue() -> list:
    """Every problem: name, title, description, params_schema, defaults (PyGAD parameters the builder
    writes, for the example) and an example of problem_params; plain JSON."""
    entries = []
    for spec in PROBLEM_LIST:
        ga_params, _, _ = build(spec.name, spec.example)
        entries.append({"name": spec.name, "title": spec.title, "description": spec.description,
                        "params_schema": params_schema(spec.schema()), "defaults": ga_params,
                        "example": copy.deepcopy(spec.example), "fitness_func_entry": ENTRY})
    return entries
