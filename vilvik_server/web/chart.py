"""The fitness chart: best (and mean) fitness per generation as inline SVG, drawn on the server.

The SVG needs no script: a few polylines on a grid, with a title and a description
that say in words what the lines show. It also carries its data (`data-series`), from
which static/chart.js redraws it at the size shown, with a log-scale switch and a
read-out under the pointer. Long histories are thinned to one point per pixel column,
keeping each column's last value. The x-axis spans the generations run.
"""
import json
import math

from markupsafe import Markup, escape

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 72, 16, 16, 40
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
MAX_OBJECTIVES = 4


def history_series(result):
    """The chart's series from a result: best per generation (one per objective), and mean where recorded."""
    best = result.get("best_fitness_per_generation") or []
    series = []
    objectives = max((len(v) for v in best if isinstance(v, list)), default=0)
    if objectives:
        for index in range(min(objectives, MAX_OBJECTIVES)):
            series.append((f"best, objective {index + 1}", f"best o{index + 1}",
                           [_finite(v[index]) if isinstance(v, list) and len(v) > index else None for v in best]))
    else:
        values = [_finite(v) for v in best]
        series.append(("best fitness", "best", values))
        so_far, running = [], None
        for value in values:
            if value is not None and (running is None or value > running):
                running = value
            so_far.append(running)
        if so_far != values:  # without elitism a generation's best can be worse than an earlier one
            series.append(("best so far", "best-so-far", so_far))
    mean = result.get("mean_fitness_per_generation")
    if mean:
        series.append(("mean fitness", "mean", [_finite(v) for v in mean]))
    return series


def render(series, last_generation=None, chart_id="fitness-chart"):
    """An accessible <svg> for [(label, css class, values by generation)]; values may hold None."""
    length = max((len(values) for _, _, values in series), default=0)
    last = max(last_generation or 0, length - 1, 1)
    finite = [v for _, _, values in series for v in values if v is not None]
    low, high = _domain(finite)
    x = lambda g: LEFT + PLOT_W * g / last  # noqa: E731
    y = _y_scale(low, high)
    data = [{"label": label, "css": css, "points": [[g, v] for g, v in _thin(values)]}
            for label, css, values in series]
    parts = [f'<svg class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{chart_id}-title {chart_id}-desc" data-series="{escape(json.dumps(data))}" '
             f'data-desc="{escape(_describe(series))}">',
             f'<title id="{chart_id}-title">Fitness per generation</title>',
             f'<desc id="{chart_id}-desc">{escape(_describe(series))}</desc>']
    parts.extend(_axes(low, high, last, x, y))
    for label, css, values in series:
        points = " ".join(f"{x(g):.1f},{y(v):.1f}" for g, v in _thin(values))
        parts.append(f'<polyline class="line {css}" points="{points}"><title>{escape(label)}</title></polyline>')
    parts.append("</svg>")
    return Markup("".join(parts))


def legend(series):
    """The key below a chart, as a list the screen reader reads too."""
    items = "".join(f'<li><span class="swatch {css}" aria-hidden="true"></span>{escape(label)}</li>'
                    for label, css, _ in series)
    return Markup(f'<ul class="legend">{items}</ul>')


def _finite(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None  # "Infinity", "-Infinity", "NaN" leave a gap
    return value


AXIS_LIMIT = 8e307  # the axis ends here: padded, its span stays below the largest float (1.8e308)


def _y_scale(low, high):
    """Where a value sits on the plot's height; one beyond the axis (see AXIS_LIMIT) sits at its end."""
    return lambda v: TOP + PLOT_H * (1 - (min(max(v, low), high) - low) / (high - low))


def _domain(values):
    if not values:
        return 0.0, 1.0
    low, high = max(min(values), -AXIS_LIMIT), min(max(values), AXIS_LIMIT)
    if high - low < 1e-12 * max(1.0, abs(high)):
        pad = max(abs(high) * 0.1, 1.0)
        return low - pad, high + pad
    pad = (high - low) * 0.05
    return low - pad, high + pad


def _ticks(low, high, count=5, integer=False):
    """Round values between low and high, about `count` of them."""
    span = high - low
    raw = span / count if span > 0 else 1
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    if integer:
        step = max(1, round(step))
    first = math.ceil(low / step) * step
    ticks, value = [], first
    while value <= high + step * 1e-9 and len(ticks) <= count * 3:
        ticks.append(int(value) if integer else value)
        value = first + step * len(ticks)
    return ticks


def _label(value):
    """A tick label, with a real minus sign (U+2212)."""
    if value == 0:
        return "0"
    if abs(value) >= 1e5 or abs(value) < 1e-3:
        text = f"{value:.1e}"
    else:
        text = f"{value:.4g}"
    return text.replace("-", "\u2212")


def _thin(values):
    """(generation, value) pairs, at most one per pixel column (its last finite value)."""
    points = [(g, v) for g, v in enumerate(values) if v is not None]
    if len(points) <= PLOT_W * 2:
        return points
    last = len(values) - 1 or 1
    columns = {}
    for g, v in points:
        columns[round(g * PLOT_W * 2 / last)] = (g, v)
    return list(columns.values())


def _describe(series):
    sentences = []
    for label, _, values in series:
        points = [(g, v) for g, v in enumerate(values) if v is not None]
        if not points:
            sentences.append(f"No finite {label} was recorded.")
            continue
        (g0, first), (g1, final) = points[0], points[-1]
        top_g, top = max(points, key=lambda p: p[1])
        sentences.append(f"{label.capitalize()}: {_label(first)} at generation {g0}, {_label(final)} at "
                         f"generation {g1}; highest {_label(top)} at generation {top_g}.")
    return " ".join(sentences) or "No generations yet."


def _axes(low, high, last, x, y):
    """Grid lines and labels of the fitness axis, the generation axis, and the frame."""
    parts = []
    for tick in _ticks(low, high):
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{LEFT + PLOT_W}" y1="{y(tick):.1f}" y2="{y(tick):.1f}"/>'
                     f'<text class="tick y" x="{LEFT - 6}" y="{y(tick) + 4:.1f}">{_label(tick)}</text>')
    for tick in _ticks(0, last, integer=True):
        parts.append(f'<text class="tick x" x="{x(tick):.1f}" y="{TOP + PLOT_H + 16}">{tick}</text>')
    parts.append(f'<text class="axis" x="{LEFT + PLOT_W / 2}" y="{HEIGHT - 4}">generation</text>')
    parts.append(f'<rect class="frame" x="{LEFT}" y="{TOP}" width="{PLOT_W}" height="{PLOT_H}"/>')
    return parts
