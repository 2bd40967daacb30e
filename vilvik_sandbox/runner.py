"""Running PyGAD with a user's fitness function, inside the confined payload process.

Everything this module writes after the jail's hello line is, to the server,
attacker-controlled data: the user's code runs in this same process.
"""
import io
import linecache
import logging
import math
import numbers
import socket
import sys
import time
import traceback

from . import channel
from .ga_report import (fired_criterion, mean_fitness, progress_line, random_state_as_data, restore_random_state,
                        summarise)

FITNESS_FILENAME = "<fitness_func>"
PROGRESS_INTERVAL = 0.1  # seconds: at most ten progress lines a second
CHECKPOINT_INTERVAL = 0.01  # seconds between checkpoints of a run that is not about to end
# A cancel in the middle of a generation whose predecessor left no checkpoint lets that
# generation finish (it checkpoints then), unless it has run this long: then the run stops
# at once and keeps the last checkpoint, a few generations back (the server kills a
# cancelled run after 0.7 s).
STALE_CHECKPOINT_WAIT = 0.3
LOG_TAIL_BYTES = 64 * 1024
MAX_OBJECTIVES = 64  # values one multi-objective fitness may hold (the server refuses more)


class InvalidFitness(Exception):
    """The fitness function returned something that is not a finite number or list of them."""


class _Stopped(BaseException):
    """The server asked the run to stop (a cancel). BaseException, so PyGAD does not log it."""


# The warm-up's run: our own code, a fixed seed and a job's usual shape.
_WARM_UP_SPEC = {"params": {"num_generations": 2, "sol_per_pop": 20, "num_genes": 10, "num_parents_mating": 10,
                            "random_seed": 1},
                 "fitness_func": "def fitness_func(ga, solution, solution_idx):\n    return float(sum(solution))\n",
                 "entry": "fitness_func"}


def warm_up():
    """Import numpy and PyGAD and run a small GA through a job's own steps (its runner, its
    report lines, written to a socket nobody reads), so that no job pays for lazy imports,
    and a fork's first writes to the pages a run touches (copies of the zygote's) happen
    before its job, not during it."""
    ours, theirs = socket.socketpair()
    try:
        out = channel.LineWriter(theirs.fileno())
        logs = _TailBuffer(LOG_TAIL_BYTES)
        result = _run(_WARM_UP_SPEC, out, logs, _StopRequest(theirs.fileno()))
        out.write(dict(type="result", logs=logs.text(), **result))
    finally:
        linecache.cache.pop(FITNESS_FILENAME, None)
        ours.close()
        theirs.close()


def versions():
    """The versions a result depends on."""
    import numpy
    import pygad

    return {"pygad": pygad.__version__, "numpy": numpy.__version__,
            "python": sys.version.split()[0]}


def run_job_from_channel(fd):
    """Read this job's spec from the server on `fd`, then run it (see run_job)."""
    return run_job(channel.read_spec(fd), fd)


def run_job(spec, fd):
    """Run one job and report on `fd`; returns the payload's exit code.

    `fd` is one end of a socket pair: we write JSON lines to it, and the server
    writes to it only to ask the run to stop (a cancel) at the next generation.
    """
    out = channel.LineWriter(fd)
    logs = _TailBuffer(LOG_TAIL_BYTES)
    sys.stdout = sys.stderr = logs
    _reseed_numpys_global_generator()
    _switch_off_networking()
    try:
        result = _run(spec, out, logs, _StopRequest(fd))
    except _Stopped:
        return 0  # cancelled before a generation finished: there is nothing to report
    except MemoryError:
        _report_error(out, logs, "memory_limit", "the run exceeded its memory limit")
        return 0
    except InvalidFitness as exc:
        _report_error(out, logs, "invalid_fitness", str(exc))
        return 0
    except _UserCodeError as exc:
        error = exc.__cause__
        if isinstance(error, MemoryError):
            _report_error(out, logs, "memory_limit", "the run exceeded its memory limit")
        elif isinstance(error, NetworkingOff):
            _report_error(out, logs, "sandbox_violation", str(error), _user_traceback(error))
        elif isinstance(error, ModuleNotFoundError):
            _report_error(out, logs, "fitness_error", f"{_one_line(error)}: {IMPORTABLE}", _user_traceback(error))
        elif isinstance(error, InvalidFitness):
            _report_error(out, logs, "invalid_fitness", str(error))
        else:
            _report_error(out, logs, "fitness_error", _one_line(error), _user_traceback(error))
        return 0
    except Exception as exc:  # noqa: B902 - e.g. PyGAD refusing a parameter combination
        _report_error(out, logs, "fitness_error", f"the run could not proceed: {_one_line(exc)}")
        return 0
    out.write(dict(type="result", logs=logs.text(), **result))
    return 0


NETWORK_OFF = ("networking is off inside jobs: a fitness function cannot open connections or look up names "
               "(it called socket.{what}). Put the data it needs in its source (or a quick problem's "
               "problem_params); see /docs/sandbox#networking")
IMPORTABLE = ("a fitness function can import the Python standard library, numpy and pygad (and the packages "
              "installed beside this server); see /docs/sandbox#what-a-fitness-function-can-import")


class NetworkingOff(BaseException):
    """A network call by the user's code. A BaseException, so a library's `except Exception` cannot
    swallow it and the run fails as sandbox_violation; the seccomp filter stays underneath."""


def _refusing(what):
    def refuse(*args, **kwargs):
        raise NetworkingOff(NETWORK_OFF.format(what=what))
    return refuse


class _RefusingSocket(socket.socket):  # a class still, so isinstance(x, socket.socket) keeps working
    def __init__(self, *args, **kwargs):
        raise NetworkingOff(NETWORK_OFF.format(what="socket"))


# Made once, in the zygote (they hold nothing of any job); each job only installs them.
_REFUSALS = {name: _refusing(name) for name in (
    "create_connection", "create_server", "getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr",
    "getnameinfo", "socketpair", "fromfd")}


def _reseed_numpys_global_generator():
    """Give `numpy.random`'s global generator fresh entropy, as a new process would have.

    Every job is a fork of the zygote, which imported numpy once: without this, a fitness
    function calling numpy.random.random() unseeded would draw the same numbers in every job,
    anyone's. (Python's `random` reseeds itself in every fork; a run's own PyGAD generators
    come from its random_seed, or from fresh entropy without one.)"""
    import os

    import numpy

    # 128 bits from the OS, as seed() without an argument takes them, but given as four words:
    # seed() expands its entropy to 624 words first (0.14-0.24 ms), this costs about 0.01 ms.
    numpy.random.seed(numpy.frombuffer(os.urandom(16), dtype=numpy.uint32))


def _switch_off_networking():
    """Make Python's socket calls fail with a message that says why, before the kernel kills the run."""
    socket.socket = socket.SocketType = _RefusingSocket
    for name, refuse in _REFUSALS.items():
        setattr(socket, name, refuse)


class _UserCodeError(Exception):
    """Wraps an exception raised by the user's code (compiling, defining or fitness)."""


class _StopRequest:
    """Has the server asked this run to stop? (A byte waiting on the channel.)

    `next_check` is when the channel is next worth a look: the fitness wrapper compares the
    clock with it inline, so the common case costs no call. Once asked, it is always due.
    """

    CHECK_INTERVAL = 0.02  # seconds: a cancel is seen within this, without a syscall per fitness call

    def __init__(self, fd):
        self.fd = fd
        self.asked = False
        self.next_check = 0.0

    def __call__(self):
        if not self.asked:
            now = time.monotonic()
            if now < self.next_check:
                return False
            self.next_check = now + self.CHECK_INTERVAL
            import select

            readable, _, _ = select.select([self.fd], [], [], 0)
            if readable:
                import os

                os.read(self.fd, 64)  # consume it: a socket closed with unread data resets its peer
                self.asked = True
                self.next_check = float("-inf")
        return self.asked


def _run(spec, out, logs, stop_requested):
    import numpy
    import pygad

    from .ga_build import build_ga_kwargs

    user_fitness = _load_entry(spec["fitness_func"], spec["entry"])
    batched = spec["params"].get("fitness_batch_size") not in (None, 1)

    monotonic, isfinite = time.monotonic, math.isfinite

    # Called once per solution: the common path (no cancel due, a finite float) makes no
    # Python call of its own besides the user's function.
    def fitness(ga, solution, solution_idx):
        # between two fitness calls: a cancel need not wait for the generation's end, unless
        # what it would keep is older than the last generation (see on_generation)
        if monotonic() >= stop_requested.next_check and stop_requested() and (
                fresh[0] or not checkpoint or monotonic() - boundary[0] >= STALE_CHECKPOINT_WAIT):
            raise _Stopped()
        try:
            value = user_fitness(ga, solution, solution_idx)
        except BaseException as exc:  # noqa: B902 - SystemExit etc. are the user's failure too
            raise _UserCodeError() from exc
        if batched:
            if not isinstance(value, (list, tuple, numpy.ndarray)) or len(value) != len(solution):
                raise InvalidFitness(f"a batched fitness function must return {len(solution)} values")
            return [_checked_fitness(v) for v in value]
        if type(value) is float and isfinite(value):
            return value
        return _checked_fitness(value)

    # The first line after PROGRESS_INTERVAL, like every other: a run shorter than that sends
    # only the final one.
    last_progress = [time.monotonic()]
    generators = [None]
    checkpoint = {}
    fresh = [False]  # is the checkpoint the last finished generation's?
    boundary = [time.monotonic()]  # when the last generation ended (or the run started)
    means = []  # the mean fitness of each generation, the initial population's first

    def on_generation(ga):
        if not means:  # the initial population's, which PyGAD keeps until the next generation
            means.append(mean_fitness(ga.previous_generation_fitness))
        means.append(mean_fitness(ga.last_generation_fitness))
        now = time.monotonic()
        stopping = stop_requested()
        # A checkpoint: the generators' state now, after this generation (run() draws more
        # after its last generation, so the state it ends with is not where a continuation
        # starts), and what a cancel in the middle of the next generation keeps (PyGAD
        # evolves in place). Reading numpy's generator state costs ~50 us, more than a whole
        # generation of a small GA: taken when the run may end here (its last generation, a
        # stop criterion, a cancel) and otherwise at most every CHECKPOINT_INTERVAL.
        if (stopping or ga.generations_completed >= ga.num_generations or ga.stop_criteria
                or now - checkpoint.get("at", 0.0) >= CHECKPOINT_INTERVAL):
            generators[0] = (ga.numpy_random_generator.get_state(), ga.python_random_generator.getstate())
            checkpoint.update(population=ga.population.copy(), fitness=ga.last_generation_fitness.copy(),
                              # gen g's best is appended at the head of generation g + 1, before
                              # any fitness call there could be interrupted
                              history=ga.generations_completed + 1, generations=ga.generations_completed, at=now)
            fresh[0] = True
        else:
            fresh[0] = False
        if now - last_progress[0] >= PROGRESS_INTERVAL:  # the last generation's line follows run()
            last_progress[0] = now
            out.write(progress_line(ga))
        boundary[0] = time.monotonic()
        if stopping:
            return "stop"

    kwargs = build_ga_kwargs(spec["params"])
    resume = spec.get("resume")
    if resume:
        # A continuation starts from its parent's final population ...
        kwargs["initial_population"] = numpy.array(resume["population"])
        kwargs.pop("sol_per_pop", None)
        kwargs.pop("num_genes", None)
    # No on_fitness: with one set, PyGAD re-validates every fitness value (+15% run time).
    ga = pygad.GA(**kwargs, fitness_func=fitness, on_generation=on_generation,
                  suppress_warnings=True, logger=_quiet_logger(logs))
    if resume:
        # ... and random generators exactly where the parent's were after its last generation.
        restore_random_state(ga, resume["random_state"])
    try:
        ga.run()
    except _Stopped:
        if not checkpoint:
            raise  # not one generation finished: nothing to keep
        ga.population, ga.last_generation_fitness = checkpoint["population"], checkpoint["fitness"]
        del ga.best_solutions_fitness[checkpoint["history"]:]
        ga.generations_completed = checkpoint["generations"]
    except _UserCodeError:
        raise
    except (InvalidFitness, MemoryError):
        raise
    except BaseException as exc:  # noqa: B902
        # PyGAD wraps some errors of ours; find our own in the chain first.
        cause = _find_cause(exc)
        if cause is not None:
            raise cause
        raise _UserCodeError() from exc
    out.write(progress_line(ga))
    result = summarise(ga)
    # A mean of finite values can overflow to inf: it is sent as "Infinity", like any non-finite fitness.
    result["mean_fitness_per_generation"] = channel.jsonable(means[:ga.generations_completed + 1])
    result["random_state"] = random_state_as_data(*generators[0])
    result["stopped"] = stop_requested()
    if not result["stopped"] and len(means) - 1 < ga.num_generations:
        result["stop_criterion"] = fired_criterion(ga)
    return result








def _find_cause(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, (_UserCodeError, InvalidFitness, MemoryError)):
            return exc
        exc = exc.__cause__ or exc.__context__
    return None


def _load_entry(source, entry):
    linecache.cache[FITNESS_FILENAME] = (len(source), None, source.splitlines(True), FITNESS_FILENAME)
    namespace = {"__name__": "fitness_module"}
    try:
        exec(compile(source, FITNESS_FILENAME, "exec"), namespace)
    except BaseException as exc:  # noqa: B902
        raise _UserCodeError() from exc
    function = namespace.get(entry)
    if not callable(function):
        raise _UserCodeError() from NameError(f"{entry} is not defined as a function")
    return function


def _checked_fitness(value):
    if type(value) is float and math.isfinite(value):  # the common case, checked cheaply first
        return value
    if isinstance(value, (list, tuple)) or hasattr(value, "shape") and getattr(value, "ndim", 0) == 1:
        values = [_checked_number(v) for v in value]
        if not values:
            raise InvalidFitness("the fitness function returned an empty list")
        if len(values) > MAX_OBJECTIVES:
            raise InvalidFitness(f"the fitness function returned {len(values)} values; at most {MAX_OBJECTIVES} "
                                 f"objectives are allowed")
        return values
    return _checked_number(value)


def _checked_number(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidFitness(f"the fitness function returned {type(value).__name__}, not a number")
    try:
        number = float(value)
    except OverflowError:  # an int too large for a float
        raise InvalidFitness("the fitness function returned a number too large for a float") from None
    if not math.isfinite(number):
        raise InvalidFitness(f"the fitness function returned a non-finite number ({number})")
    return value










def _user_traceback(exc):
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == FITNESS_FILENAME]
    lines = ["Traceback (most recent call last):\n"]
    lines += traceback.format_list(frames)
    lines += traceback.format_exception_only(type(exc), exc)
    return "".join(lines)[-8192:]


def _one_line(exc):
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return text[:1000]


def _report_error(out, logs, code, message, trace=None):
    error = {"code": code, "message": message}
    if trace:
        error["traceback"] = trace
    out.write({"type": "error", "error": error, "logs": logs.text()})


class _NoTraceback(logging.Formatter):
    """PyGAD logs exceptions with their traceback; the user's own frames are in error.traceback,
    and the rest (our runner, site-packages paths) is not theirs to read."""

    def formatException(self, exc_info):  # noqa: N802 - logging's name
        return ""

    def format(self, record):
        record.exc_text = None
        return super().format(record).rstrip()


def _quiet_logger(stream):
    logger = logging.Logger("pygad.job")
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_NoTraceback("%(levelname)s %(message)s"))
    logger.addHandler(handler)
    return logger


class _TailBuffer(io.TextIOBase):
    """A text stream that keeps only the last `limit` characters written to it."""

    def __init__(self, limit):
        self.limit = limit
        self.parts = []
        self.size = 0

    def writable(self):
        return True

    def write(self, text):
        text = str(text)
        self.parts.append(text)
        self.size += len(text)
        if self.size > 2 * self.limit:
            joined = "".join(self.parts)[-self.limit:]
            self.parts, self.size = [joined], len(joined)
        return len(text)

    def text(self):
        return "".join(self.parts)[-self.limit:]
