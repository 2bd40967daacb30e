"""An experiment cell's band chart: the median best-so-far fitness per generation as a line, over
the p10-p90 band of its runs, as inline SVG drawn on the server (same grid and axes as chart.py)."""
from markupsafe import Markup, escape

from ..domain.words import plural
from .chart import HEIGHT, LEFT, PLOT_W, WIDTH, _axes, _domain, _finite, _label, _y_scale


def render(cell_history, chart_id, low=None, high=None):
    """An accessible <svg> for one cell's history ({params, runs, generations: [{p10, p50, p90, ...}]}).

    `low`/`high` fix the fitness axis, so every cell of an experiment is drawn on the same scale.
    """
    points = [(p["generation"], _finite(p["p10"]), _finite(p["p50"]), _finite(p["p90"]))
              for p in cell_history["generations"]]
    points = [p for p in points if None not in p[1:]]
    if low is None or high is None:
        low, high = _domain([v for p in points for v in p[1:]])
    last = max((p[0] for p in points), default=1) or 1
    x = lambda g: LEFT + PLOT_W * g / last  # noqa: E731
    y = _y_scale(low, high)
    shown = _thin(points)
    parts = [f'<svg class="chart band-chart" id="{chart_id}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{chart_id}-title {chart_id}-desc">',
             f'<title id="{chart_id}-title">Best fitness so far per generation: median and p10-p90 band</title>',
             f'<desc id="{chart_id}-desc">{escape(_describe(cell_history, points))}</desc>']
    parts.extend(_axes(low, high, last, x, y))
    if shown:
        upper = " ".join(f"{x(g):.1f},{y(p90):.1f}" for g, _, _, p90 in shown)
        lower = " ".join(f"{x(g):.1f},{y(p10):.1f}" for g, p10, _, _ in reversed(shown))
        parts.append(f'<polygon class="band" points="{upper} {lower}"><title>p10 to p90 of the runs</title></polygon>')
        median = " ".join(f"{x(g):.1f},{y(p50):.1f}" for g, _, p50, _ in shown)
        parts.append(f'<polyline class="line median" points="{median}"><title>median (p50)</title></polyline>')
    parts.append("</svg>")
    return Markup("".join(parts))


def domain(cells):
    """One fitness axis for every cell's chart: the range of all their p10 and p90 values."""
    values = [v for cell in cells for p in cell["generations"] for v in (_finite(p["p10"]), _finite(p["p90"]))
              if v is not None]
    return _domain(values)


def _thin(points):
    """At most two points per pixel column (the last of each), so 1,000 generations stay a small SVG."""
    if len(points) <= PLOT_W * 2:
        return points
    last = points[-1][0] or 1
    columns = {}
    for point in points:
        columns[round(point[0] * PLOT_W * 2 / last)] = point
    return list(columns.values())


def _describe(cell_history, points):
    if not points:
        return "No succeeded run yet."
    first, final = points[0], points[-1]
    return (f"Over {plural(cell_history['runs'], 'succeeded run')}: median best fitness {_label(first[2])} at generation "
            f"{first[0]}, {_label(final[2])} at generation {final[0]}; at the end 80% of the runs lay between "
            f"{_label(final[1])} and {_label(final[3])}.")
