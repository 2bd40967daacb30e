"""What a run tells the server about its GA: progress lines, the result, which stop criterion
ended it, and the random generators' state a continuation resumes from.

Plain data only (channel.jsonable): the server reads all of it as attacker data anyway.
"""
import base64
import struct

from . import channel


def fired_criterion(ga):
    """Which of stop_criteria ended the run early: its index in the list, as PyGAD checks them in order."""
    import time as _time

    import numpy

    fitness = numpy.asarray(ga.last_generation_fitness)
    history = list(ga.best_solutions_fitness)
    for index, (word, *values) in enumerate(ga.stop_criteria or []):
        if word == "reach":
            if fitness.ndim == 1:
                reached = fitness.max() >= values[0]
            else:  # one goal for every objective, or one per objective
                goals = values if len(values) > 1 else values * fitness.shape[1]
                reached = all(fitness[:, i].max() >= goal for i, goal in enumerate(goals))
            if reached:
                return index
        elif word == "saturate":
            unchanged = 0
            while unchanged + 1 < len(history) and numpy.array_equal(history[-1 - unchanged], history[-2 - unchanged]):
                unchanged += 1
            if unchanged >= values[0]:
                return index
        elif word == "time" and _time.monotonic() - ga.run_start_time >= float(values[0]):
            return index
        elif word == "evaluations" and ga.num_fitness_evaluations >= int(values[0]):
            return index
    return None


def random_state_as_data(numpy_state, python_state):
    """Random generators' states (from get_state/getstate) as plain JSON data, never a pickle.

    Each generator's 32-bit words (624 for numpy's, 625 for Python's) go as one base64 string
    of their little-endian bytes rather than as ~600 JSON numbers: the server then checks
    and unpacks them at C speed (report._random_state) and stores them as lists of numbers,
    the form restore_random_state() takes.
    """
    name, keys, position, has_gauss, cached_gaussian = numpy_state
    version, internal, gauss_next = python_state
    return {"numpy": [name, _words_text(keys.astype("<u4").tobytes()), int(position), int(has_gauss),
                      float(cached_gaussian)],
            "python": [version, _words_text(struct.pack(f"<{len(internal)}I", *internal)), gauss_next]}


def _words_text(raw):
    return base64.b64encode(raw).decode("ascii")


def restore_random_state(ga, state):
    """Put the GA's random generators back in a state from random_state_as_data()."""
    import numpy

    name, keys, position, has_gauss, cached_gaussian = state["numpy"]
    ga.numpy_random_generator.set_state((name, numpy.array(keys, dtype=numpy.uint32), position, has_gauss,
                                         cached_gaussian))
    version, internal, gauss_next = state["python"]
    ga.python_random_generator.setstate((version, tuple(internal), gauss_next))


def progress_line(ga):
    best = ga.best_solutions_fitness[-1] if ga.best_solutions_fitness else None
    fitness = ga.last_generation_fitness
    mean = mean_fitness(fitness) if fitness is not None else None
    return {"type": "progress", "generations_completed": int(ga.generations_completed),
            "best_fitness": channel.jsonable(best), "mean_fitness": channel.jsonable(mean)}


def summarise(ga):
    solution, fitness, index = ga.best_solution(ga.last_generation_fitness)
    result = {
        "best_solution": solution,
        "best_solution_fitness": fitness,
        "best_solution_idx": int(index),
        "best_solution_generation": best_generation(ga),
        "generations_completed": int(ga.generations_completed),
        "best_fitness_per_generation": ga.best_solutions_fitness,
        "last_generation_fitness": ga.last_generation_fitness,
        "population": ga.population,
    }
    if ga.last_generation_fitness.ndim == 2:
        result["pareto_front"] = [list(map(float, row[1])) if len(row) > 1 else row
                                  for row in getattr(ga, "pareto_fronts", [[]])[0]]
    return channel.jsonable(result)


def mean_fitness(population_fitness):
    """The mean fitness of a population (None for multi-objective runs)."""
    return float(population_fitness.mean()) if population_fitness.ndim == 1 else None


def best_generation(ga):
    """The generation whose best fitness was highest (the first such), as PyGAD counts it."""
    import numpy

    history = numpy.asarray(ga.best_solutions_fitness)
    if history.ndim == 1 and len(history):
        return int(numpy.argmax(history))
    return int(ga.best_solution_generation)
