"""The quick builder's problems: parameters, PyGAD defaults, fitness source and reading of a result.

Each problem's fitness source is self-contained: it embeds the problem's data as literals and imports
only numpy and math, since it runs in the sandbox like any user's code. Every source defines
``fitness_func(ga_instance, solution, solution_idx)``, which also scores a batch of solutions when
``fitness_batch_size`` is set, and refuses (with a clear message) a solution of the wrong length.
"""
import math
from dataclasses import dataclass
from typing import Callable

from marshmallow import Schema, ValidationError, validates_schema

from ..domain.words import plural
from .fields import MAX_ABS, MAX_ITEMS, Number, NumberList, PointList

ENTRY = "fitness_func"


@dataclass(frozen=True)
class Problem:
    name: str
    title: str
    description: str
    schema: type            # a marshmallow Schema class for problem_params
    example: dict           # example problem_params
    ga_params: Callable     # loaded problem_params -> PyGAD parameters
    source: Callable        # loaded problem_params -> fitness source
    interpret: Callable     # (loaded problem_params, best solution as floats, result) -> interpretation


# ---------------------------------------------------------------------------------------------------
# Writing sources


def _literal(values, indent=4, width=100):
    """A Python list literal of numbers (or of lists of numbers), wrapped to `width` columns."""
    items = [repr(v) if not isinstance(v, list) else "[" + ", ".join(repr(x) for x in v) + "]" for v in values]
    lines, line = [], ""
    for item in items:
        if line and len(line) + len(item) + 2 > width - indent:
            lines.append(line)
            line = ""
        line += ("" if not line else " ") + item + ","
    lines.append(line)
    pad = " " * indent
    return "[\n" + "\n".join(pad + text for text in lines) + "\n]"


_WRAPPER = '''

def fitness_func(ga_instance, solution, solution_idx):
    """PyGAD's fitness function; with fitness_batch_size set it scores a batch of solutions."""
    genes = numpy.asarray(solution, dtype=float)
    if genes.ndim == 2:
        return [score(row) for row in genes]
    return score(genes)


def score(genes):
    if genes.shape != (NUM_GENES,):
        raise ValueError(f"this problem needs exactly {NUM_GENES} genes (num_genes), got {genes.size}")
'''


def _source(docstring, data, body):
    """A fitness module: docstring, imports, data constants, fitness_func and the body of score()."""
    imports = "import math\n\nimport numpy" if "math." in body else "import numpy"
    return f'"""{docstring}"""\n{imports}\n\n{data.strip()}\n{_WRAPPER}{body}'


def _indices(mask):
    return [i for i, chosen in enumerate(mask) if chosen]


def _genes(result):
    """The result's best solution as a list of floats, or None if there is none."""
    solution = result.get("best_solution")
    if not isinstance(solution, list):
        return None
    try:
        return [float(v) for v in solution]
    except (TypeError, ValueError):
        return None


def _rounded(value, digits=12):
    """A float for display: tiny binary noise removed, integers kept as integers."""
    value = round(float(value), digits)
    return int(value) if value.is_integer() and abs(value) < 2 ** 53 else value


# ---------------------------------------------------------------------------------------------------
# linear_equation


class LinearEquationParams(Schema):
    inputs = NumberList(1, MAX_ITEMS, -1e6, 1e6, required=True,
                        description="The inputs x1..xn of y = w1*x1 + ... + wn*xn.")
    desired_output = Number(-1e9, 1e9, required=True, description="The output y the weights should give.")


def _weight_scale(p):
    """How large the weights may get: 4 as in PyGAD's example, more when the desired output needs it
    (w_i = desired * sign(x_i) / sum|x| reaches it and lies within half of this)."""
    total = sum(abs(x) for x in p["inputs"])
    return min(1e14, max(4.0, 2.0 * abs(p["desired_output"]) / total)) if total else 4.0


def _linear_ga(p):
    scale = _weight_scale(p)
    # SBX and polynomial mutation keep the weights within the initial range, which holds a solution.
    return {"num_generations": 300, "sol_per_pop": 20, "num_parents_mating": 10, "num_genes": len(p["inputs"]),
            "gene_type": "float", "init_range_low": -scale, "init_range_high": scale,
            "parent_selection_type": "tournament", "K_tournament": 3, "keep_elitism": 2,
            "crossover_type": "sbx", "sbx_crossover_eta": 30, "mutation_type": "polynomial",
            "polynomial_mutation_eta": 40, "stop_criteria": "reach_10000"}


def _linear_source(p):
    data = (f"INPUTS = numpy.array({_literal(p['inputs'])}, dtype=float)\n"
            f"DESIRED_OUTPUT = {p['desired_output']!r}\nNUM_GENES = {len(p['inputs'])}")
    body = ("    output = float(numpy.dot(genes, INPUTS))\n"
            "    return 1.0 / (abs(output - DESIRED_OUTPUT) + 1e-6)\n")
    doc = ("Quick problem linear_equation: find weights w with w . INPUTS = DESIRED_OUTPUT.\n\n"
           "Fitness 1 / (|w . INPUTS - DESIRED_OUTPUT| + 1e-6), as in PyGAD's first example; the run stops\n"
           "early once the error is below 0.0001 (fitness 10000).\n")
    return _source(doc, data, body)


def _linear_interpret(p, genes, result):
    output = sum(w * x for w, x in zip(genes, p["inputs"]))
    error = abs(output - p["desired_output"])
    return {"weights": genes, "inputs": p["inputs"], "output": output, "desired_output": p["desired_output"],
            "absolute_error": error,
            "summary": f"output {output:.6g} for the desired {p['desired_output']:.6g} (error {error:.3g})"}


# ---------------------------------------------------------------------------------------------------
# sphere and rastrigin


class BenchmarkParams(Schema):
    num_dims = Number(1, 100, integer=True, load_default=5, description="Dimensions (genes).")
    low = Number(-1e6, 1e6, load_default=-5.12, description="Lower bound of every coordinate.")
    high = Number(-1e6, 1e6, load_default=5.12, description="Upper bound of every coordinate (> low).")

    @validates_schema
    def _low_below_high(self, data, **kwargs):
        if data["low"] >= data["high"]:
            raise ValidationError({"high": [f"must be > low ({data['low']})"]})


class RastriginParams(BenchmarkParams):
    num_dims = Number(1, 100, integer=True, load_default=3, description="Dimensions (genes).")


def _benchmark_ga(num_generations):
    return lambda p: _real_coded(p, num_generations)


def _real_coded(p, num_generations):
    # gene_space keeps every gene within [low, high] whatever operators a user picks instead.
    bounds = {"low": p["low"], "high": p["high"]}
    return {"num_generations": num_generations, "sol_per_pop": 40, "num_parents_mating": 20, "num_genes": p["num_dims"],
            "gene_type": "float", "init_range_low": p["low"], "init_range_high": p["high"], "gene_space": bounds,
            "parent_selection_type": "tournament", "K_tournament": 3, "keep_elitism": 2,
            "crossover_type": "sbx", "sbx_crossover_eta": 15, "mutation_type": "polynomial",
            "polynomial_mutation_eta": 20}


_SPHERE_BODY = "    return -float(numpy.sum(genes * genes))\n"
_RASTRIGIN_BODY = ("    return -float(10.0 * NUM_GENES + numpy.sum(genes * genes - 10.0 * numpy.cos(2.0 * math.pi * "
                   "genes)))\n")


def _benchmark_source(name, formula, body):
    def source(p):
        data = f"NUM_GENES = {p['num_dims']}\nLOW, HIGH = {p['low']!r}, {p['high']!r}  # gene_space keeps genes here"
        doc = (f"Quick problem {name}: minimise f(x) = {formula} over [LOW, HIGH]^NUM_GENES.\n\n"
               "Fitness -f(x) (PyGAD maximises); the global minimum is f(0, ..., 0) = 0.\n")
        return _source(doc, data, body)
    return source


def _sphere_value(x):
    return sum(v * v for v in x)


def _rastrigin_value(x):
    return 10.0 * len(x) + sum(v * v - 10.0 * math.cos(2.0 * math.pi * v) for v in x)


def _benchmark_interpret(value):
    def interpret(p, genes, result):
        f = value(genes)
        distance = math.sqrt(sum(v * v for v in genes))
        inside = p["low"] <= 0 <= p["high"]
        return {"point": genes, "value": f, "optimum": [0.0] * len(genes), "optimum_value": 0.0,
                "optimum_in_bounds": inside, "distance_to_optimum": distance,
                "summary": f"f = {f:.6g} at distance {distance:.3g} from the optimum f(0, ..., 0) = 0"}
    return interpret


# ---------------------------------------------------------------------------------------------------
# Binary problems: knapsack, subset_sum, one_max

_BINARY = {"gene_type": "int", "gene_space": [0, 1], "init_range_low": 0, "init_range_high": 2}


def _flip_rate(n):
    """Mutation probability: about one flipped bit per offspring, at most 10% of them."""
    return round(min(0.1, 1.0 / n), 4)


class KnapsackParams(Schema):
    weights = NumberList(1, MAX_ITEMS, 0, MAX_ABS, required=True, description="Each item's weight (>= 0).")
    values = NumberList(1, MAX_ITEMS, 0, MAX_ABS, required=True,
                        description="Each item's value (>= 0), as many as weights.")
    capacity = Number(0, MAX_ABS * MAX_ITEMS, exclusive_minimum=True, required=True,
                      description="The most total weight the knapsack holds (> 0).")

    @validates_schema
    def _same_length(self, data, **kwargs):
        if len(data["values"]) != len(data["weights"]):
            raise ValidationError({"values": [f"must hold one value per weight ({len(data['weights'])})"]})


def _knapsack_ga(p):
    return {"num_generations": 200, "sol_per_pop": 40, "num_parents_mating": 20, "num_genes": len(p["weights"]),
            **_BINARY, "parent_selection_type": "tournament", "K_tournament": 3, "keep_elitism": 2,
            "crossover_type": "uniform", "mutation_type": "random",
            "mutation_probability": _flip_rate(len(p["weights"]))}


def _fits(weight, capacity):
    """Within capacity, allowing for the rounding of float sums (the same rule as the fitness source)."""
    return weight <= capacity + 1e-9 * max(1.0, abs(capacity))


def _knapsack_source(p):
    data = (f"WEIGHTS = numpy.array({_literal(p['weights'])}, dtype=float)\n"
            f"VALUES = numpy.array({_literal(p['values'])}, dtype=float)\n"
            f"CAPACITY = {p['capacity']!r}\nNUM_GENES = {len(p['weights'])}\n"
            "SLACK = 1e-9 * max(1.0, abs(CAPACITY))  # float sums may round a hair over an exact fit")
    body = ("    chosen = genes >= 0.5\n"
            "    weight = float(WEIGHTS[chosen].sum())\n"
            "    if weight > CAPACITY + SLACK:\n"
            "        return CAPACITY - weight  # overweight: negative, below every choice that fits\n"
            "    return float(VALUES[chosen].sum())\n")
    doc = ("Quick problem knapsack (0/1): gene i = 1 puts item i in the knapsack.\n\n"
           "Fitness: the total value of the chosen items when their total weight is within CAPACITY,\n"
           "else minus the excess weight (so any choice that fits beats any that does not).\n")
    return _source(doc, data, body)


def _knapsack_interpret(p, genes, result):
    chosen = _indices(g >= 0.5 for g in genes)
    weight = sum(p["weights"][i] for i in chosen)
    value = sum(p["values"][i] for i in chosen)
    fits = _fits(weight, p["capacity"])
    return {"chosen_items": chosen, "total_weight": _rounded(weight), "total_value": _rounded(value),
            "capacity": p["capacity"], "within_capacity": fits,
            "summary": f"items {chosen}: weight {_rounded(weight)} of {p['capacity']}, value {_rounded(value)}"
                       + ("" if fits else " (over capacity)")}


class SubsetSumParams(Schema):
    numbers = NumberList(1, MAX_ITEMS, -MAX_ABS, MAX_ABS, required=True, description="The numbers to choose from.")
    target = Number(-MAX_ABS * MAX_ITEMS, MAX_ABS * MAX_ITEMS, required=True,
                    description="The sum the chosen numbers should make.")


def _subset_ga(p):
    # Exact sums are needles: rank selection and a high mutation rate keep the population diverse.
    return {"num_generations": 500, "sol_per_pop": 40, "num_parents_mating": 20, "num_genes": len(p["numbers"]),
            **_BINARY, "parent_selection_type": "rank", "keep_elitism": 2, "crossover_type": "uniform",
            "mutation_type": "random", "mutation_probability": 0.1, "stop_criteria": "reach_0"}


def _subset_source(p):
    data = (f"NUMBERS = numpy.array({_literal(p['numbers'])}, dtype=float)\n"
            f"TARGET = {p['target']!r}\nNUM_GENES = {len(p['numbers'])}")
    body = "    return 0.0 - abs(float(NUMBERS[genes >= 0.5].sum()) - TARGET)  # 0.0 - : never -0.0\n"
    doc = ("Quick problem subset_sum: gene i = 1 puts NUMBERS[i] in the subset.\n\n"
           "Fitness: -|sum of the subset - TARGET|; 0 is an exact subset, and the run stops there.\n")
    return _source(doc, data, body)


def _subset_interpret(p, genes, result):
    chosen = _indices(g >= 0.5 for g in genes)
    total = sum(p["numbers"][i] for i in chosen)
    difference = total - p["target"]
    return {"chosen_indices": chosen, "chosen_numbers": [p["numbers"][i] for i in chosen], "sum": _rounded(total),
            "target": p["target"], "difference": _rounded(difference), "exact": difference == 0,
            "summary": f"{plural(len(chosen), 'number')} summing to {_rounded(total)} for the target {p['target']}"}


class OneMaxParams(Schema):
    num_bits = Number(1, 1000, integer=True, load_default=50, description="Bits (genes) to set to 1.")


def _one_max_ga(p):
    return {"num_generations": 200, "sol_per_pop": 30, "num_parents_mating": 15, "num_genes": p["num_bits"],
            **_BINARY, "parent_selection_type": "tournament", "K_tournament": 3, "keep_elitism": 2,
            "crossover_type": "uniform", "mutation_type": "random",
            "mutation_probability": _flip_rate(p["num_bits"]), "stop_criteria": f"reach_{p['num_bits']}"}


def _one_max_source(p):
    data = f"NUM_GENES = {p['num_bits']}"
    body = "    return int((genes >= 0.5).sum())\n"
    doc = ("Quick problem one_max: the number of genes equal to 1, all of them at best\n"
           "(the run stops once every bit is set).\n")
    return _source(doc, data, body)


def _one_max_interpret(p, genes, result):
    ones = _indices(g >= 0.5 for g in genes)
    return {"bits": [1 if g >= 0.5 else 0 for g in genes], "ones": len(ones), "num_bits": p["num_bits"],
            "zero_positions": [i for i, g in enumerate(genes) if g < 0.5],
            "optimal": len(ones) == p["num_bits"], "summary": f"{len(ones)} of {plural(p['num_bits'], 'bit')} set"}


# ---------------------------------------------------------------------------------------------------
# tsp


class TspParams(Schema):
    coordinates = PointList(3, MAX_ITEMS, required=True, description="Each city's [x, y].")


def _tsp_ga(p):
    n = len(p["coordinates"])
    # Every gene is a city index, no city twice: PyGAD makes the first population of permutations and
    # swap mutation keeps them so. Without crossover, PyGAD 3.9.2 mutates copies of the selected parents
    # (the best half, sss) only when keep_elitism is 0 (else it copies the first rows of the population);
    # keep_parents must then stay below num_parents_mating, for with every parent kept PyGAD mutates the
    # kept parents themselves (the offspring are a view of them) and keeps their stale fitness.
    return {"num_generations": 200, "sol_per_pop": 40, "num_parents_mating": 20, "num_genes": n,
            "gene_type": "int", "gene_space": {"low": 0, "high": n, "step": 1}, "init_range_low": 0,
            "init_range_high": n, "allow_duplicate_genes": False, "parent_selection_type": "sss",
            "keep_elitism": 0, "keep_parents": 10, "crossover_type": "null", "mutation_type": "swap",
            "stop_criteria": "saturate_100"}


def _tour_of(genes, n):
    """The closed tour a solution stands for: its cities in gene order, a repeated or unknown city dropped
    and any missing one appended; and how many cities were missing (0 for a permutation)."""
    tour, seen = [], set()
    for gene in genes:
        city = int(round(gene))
        if 0 <= city < n and city not in seen:
            seen.add(city)
            tour.append(city)
    missing = [city for city in range(n) if city not in seen]
    return tour + missing, len(missing)


def _tsp_source(p):
    n = len(p["coordinates"])
    data = (f"CITIES = numpy.array({_literal(p['coordinates'])}, dtype=float)\nNUM_GENES = {n}\n"
            "DISTANCE = numpy.sqrt(((CITIES[:, None, :] - CITIES[None, :, :]) ** 2).sum(axis=2))\n"
            "PENALTY = NUM_GENES * float(DISTANCE.max()) + 1.0  # per missing city: more than any tour")
    body = ("    tour, seen = [], set()\n"
            "    for gene in genes:\n"
            "        city = int(round(gene))\n"
            "        if 0 <= city < NUM_GENES and city not in seen:\n"
            "            seen.add(city)\n"
            "            tour.append(city)\n"
            "    missing = [city for city in range(NUM_GENES) if city not in seen]\n"
            "    tour = numpy.array(tour + missing)\n"
            "    length = float(DISTANCE[tour, numpy.roll(tour, -1)].sum())\n"
            "    return -(length + len(missing) * PENALTY)\n")
    doc = ("Quick problem tsp: a closed tour visiting every city once; gene i is the i-th city visited.\n\n"
           "Fitness: minus the tour's length (back to the first city included). A solution that is not a\n"
           "permutation is read with repeated cities dropped and missing ones appended, and pays PENALTY\n"
           "per missing city, so it scores below every true tour.\n")
    return _source(doc, data, body)


def _tsp_interpret(p, genes, result):
    cities = p["coordinates"]
    n = len(cities)
    tour, missing = _tour_of(genes, n)
    length = sum(math.dist(cities[a], cities[b]) for a, b in zip(tour, tour[1:] + tour[:1]))
    start = tour.index(0)
    tour = tour[start:] + tour[:start]   # the same closed tour, from city 0
    return {"tour": tour, "tour_length": length, "closed": True,
            "solution_is_permutation": missing == 0 and len(genes) == n,
            "summary": " -> ".join(map(str, tour + tour[:1])) + f" (length {length:.6g})"}


# ---------------------------------------------------------------------------------------------------

PROBLEM_LIST = [
    Problem("linear_equation", "Fit a linear equation",
            "Find weights w1..wn so that w1*x1 + ... + wn*xn equals the desired output, the classic first "
            "PyGAD example. Float genes, one per input.",
            LinearEquationParams, {"inputs": [4, -2, 3.5, 5, -11, -4.7], "desired_output": 44},
            _linear_ga, _linear_source, _linear_interpret),
    Problem("sphere", "Sphere function",
            "Minimise the sum of squares over n dimensions within [low, high]; the minimum is 0 at the "
            "origin. Real-coded GA: SBX crossover and polynomial mutation.",
            BenchmarkParams, {"num_dims": 5, "low": -5.12, "high": 5.12},
            _benchmark_ga(100), _benchmark_source("sphere", "sum(x_i^2)", _SPHERE_BODY),
            _benchmark_interpret(_sphere_value)),
    Problem("rastrigin", "Rastrigin function",
            "Minimise the Rastrigin function (a bowl covered in local minima) over n dimensions within "
            "[low, high]; the minimum is 0 at the origin. Real-coded GA: SBX crossover and polynomial "
            "mutation.",
            RastriginParams, {"num_dims": 3, "low": -5.12, "high": 5.12},
            _benchmark_ga(200), _benchmark_source("rastrigin", "10 n + sum(x_i^2 - 10 cos(2 pi x_i))", _RASTRIGIN_BODY),
            _benchmark_interpret(_rastrigin_value)),
    Problem("knapsack", "0/1 knapsack",
            "Choose items of the greatest total value whose total weight fits the capacity. Binary genes, "
            "one per item; an overweight choice scores minus its excess weight.",
            KnapsackParams, {"weights": [23, 31, 29, 44, 53, 38, 63, 85, 89, 82],
                             "values": [92, 57, 49, 68, 60, 43, 67, 84, 87, 72], "capacity": 165},
            _knapsack_ga, _knapsack_source, _knapsack_interpret),
    Problem("subset_sum", "Subset sum",
            "Choose some of the numbers so that they add up to the target (or as close as possible). "
            "Binary genes, one per number; the run stops at an exact subset.",
            SubsetSumParams, {"numbers": [267, 493, 869, 961, 1000, 1153, 1246, 1598, 1766, 1922],
                              "target": 5842},
            _subset_ga, _subset_source, _subset_interpret),
    Problem("one_max", "One-max",
            "Set every bit to 1: the fitness is the number of ones. The simplest binary GA benchmark; the run "
            "stops when all bits are set.",
            OneMaxParams, {"num_bits": 50},
            _one_max_ga, _one_max_source, _one_max_interpret),
    Problem("tsp", "Travelling salesman",
            "Find the shortest closed tour through the given cities. Permutation encoding: gene i is the i-th "
            "city visited (integer genes, no duplicates, swap mutation); the fitness is minus the tour length.",
            TspParams, {"coordinates": [[60, 20], [180, 40], [100, 40], [140, 180], [20, 160], [100, 160],
                                        [200, 160], [140, 140], [40, 120], [180, 100]]},
            _tsp_ga, _tsp_source, _tsp_interpret),
]
