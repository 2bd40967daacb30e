"""Jinja filters: credits, times, fitness values, sizes, JSON."""
import json

from markupsafe import Markup, escape

from ..domain.words import plural  # {{ n | plural("run") }}: "1 run", "3 runs"


def credits(value):
    """A credit amount: at least two decimals, at most six (the micro-credit)."""
    if value is None:
        return "—"
    text = f"{value:,.6f}".rstrip("0")
    whole, _, decimals = text.partition(".")
    return f"{whole}.{decimals.ljust(2, '0')}"


def when(stamp):
    """An RFC 3339 time as a <time> element, readable in UTC."""
    if not stamp:
        return "—"
    return Markup(f'<time datetime="{escape(stamp)}">{escape(stamp[:10])} {escape(stamp[11:19])} UTC</time>')


def fitness(value):
    """A fitness (a number, a list of them for several objectives, or a non-finite word)."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return ", ".join(fitness(v) for v in value)
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def seconds(value):
    return "—" if value is None else f"{value:.3f} s"


def mebibytes(value):
    return "—" if value is None else f"{value / 1048576:.1f} MiB"


def ended(submission):
    """Why a terminal run ended, in words ("all 50 generations ran"); "" while it has not."""
    from ..domain.stop_reason import describe

    return describe(submission.get("stop_reason"), submission.get("stop_criterion"),
                    submission["progress"]["num_generations"]) or ""


def to_json(value, indent=None):
    return json.dumps(value, indent=indent)


def register(app):
    for function in (credits, when, fitness, seconds, mebibytes, ended, plural):
        app.jinja_env.filters[function.__name__] = function
    app.jinja_env.filters["json"] = to_json
