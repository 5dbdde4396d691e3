"""Charts of the admin console: rows in, `plotly.graph_objects.Figure` out (pure, no I/O).

Every figure uses trace types of plotly.js's *cartesian* partial bundle (bar, scatter, pie,
heatmap), which the pages load through ``rx.plotly.cartesian``; see ADR-0001. Colours are set on
the layout rather than through a template, so a figure's JSON stays small.

Figures are built from plain dicts and wrapped with ``_validate=False``: Plotly's property
validation costs 15-25 ms per figure, more than every query of a page together, and the specs
here are fixed code (the unit tests check their shape), so a page stays within its budget.

Examples:
    >>> fig = bars([{"step": "signed up", "users": 10}], x="users", y="step", title="Funnel", horizontal=True)
    >>> fig.data[0].type, list(fig.data[0].x)
    ('bar', [10])
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import plotly.graph_objects as go

INK = "#e5e5e5"
GRID = "#262626"
PALETTE = ["#60a5fa", "#34d399", "#fbbf24", "#f87171", "#a78bfa", "#f472b6", "#22d3ee", "#a3e635"]
REACTION_COLORS = {
    "done": "#34d399",
    "helpful": "#60a5fa",
    "snooze": "#fbbf24",
    "not_helpful": "#f472b6",
    "dismiss": "#f87171",
}
AXIS = {"gridcolor": GRID, "zerolinecolor": GRID}
DAY_MS = 86_400_000
HOUR_MS = 3_600_000
MAX_TICKS = 8


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)
    except ValueError:
        return None


def time_axis(xs: Sequence[Any]) -> dict[str, Any] | None:
    """An x axis with sensible ticks for day or time values, for any range (one day included).

    Plotly left alone zooms a single day into sub-second ticks ("23:59:59.999"). Daily values
    ("YYYY-MM-DD") get whole-day ticks, at most `MAX_TICKS` of them, and half a day of padding;
    timestamps get whole-hour ticks. None when ``xs`` are not times.

    Examples:
        >>> a = time_axis(["2026-01-10"])
        >>> a["dtick"] == DAY_MS, a["range"], a["tickformat"]
        (True, ['2026-01-09 00:00', '2026-01-11 00:00'], '%b %-d')
        >>> time_axis(["2026-01-01", "2026-01-31"])["dtick"] == 4 * DAY_MS
        True
        >>> time_axis(["2026-01-10 09:00", "2026-01-10 15:00"])["dtick"] == HOUR_MS
        True
        >>> time_axis(["p1", "p2"]) is None
        True
    """
    parsed = [_parse_time(x) for x in xs]
    if not parsed or any(t is None for t in parsed):
        return None
    times = [t for t in parsed if t is not None]
    first, last = min(times), max(times)
    daily = all(isinstance(x, str) and len(x) == 10 for x in xs)
    if daily:
        days = (last - first).days + 1
        pad = timedelta(days=1) if days == 1 else timedelta(hours=12)
        step, fmt = DAY_MS * max(1, math.ceil(days / MAX_TICKS)), "%b %-d"
    else:
        hours = (last - first).total_seconds() / 3600
        pad = timedelta(hours=1) if hours < 1 else timedelta(minutes=30)
        step = HOUR_MS * max(1, math.ceil(hours / MAX_TICKS))
        fmt = "%H:%M<br>%b %-d"
    stamp = "%Y-%m-%d %H:%M"
    return {
        "type": "date",
        "tickformat": fmt,
        "dtick": step,
        "range": [(first - pad).strftime(stamp), (last + pad).strftime(stamp)],
        "hoverformat": "%Y-%m-%d %H:%M" if not daily else "%Y-%m-%d",
    }


def _figure(
    traces: list[dict[str, Any]],
    title: str,
    *,
    height: int = 300,
    xaxis: dict | None = None,
    yaxis: dict | None = None,
    **layout: Any,
) -> go.Figure:
    spec = {
        "data": traces,
        "layout": {
            "title": {"text": title, "font": {"size": 14}},
            "height": height,
            "margin": {"l": 48, "r": 16, "t": 40, "b": 40},
            "paper_bgcolor": "rgba(0,0,0,0)",
            "plot_bgcolor": "rgba(0,0,0,0)",
            "font": {"color": INK, "size": 12},
            "legend": {"orientation": "h", "y": -0.2},
            "colorway": PALETTE,
            "xaxis": {**AXIS, **(xaxis or {})},
            "yaxis": {**AXIS, **(yaxis or {})},
            **layout,
        },
    }
    return go.Figure(spec, _validate=False)


def as_json(fig: go.Figure) -> dict[str, Any]:
    """The figure as the plain dict a page state holds (cheap to send, pickle and copy).

    Examples:
        >>> as_json(empty("t"))["layout"]["title"]["text"]
        't'
    """
    return fig.to_plotly_json()


def empty(title: str, message: str = "No data yet") -> go.Figure:
    """A titled figure that says there is nothing to show."""
    note = {"text": message, "showarrow": False, "font": {"color": "#a3a3a3", "size": 14}}
    return _figure(
        [], title, height=220, xaxis={"visible": False}, yaxis={"visible": False}, annotations=[note]
    )


def bars(
    rows: Sequence[dict[str, Any]],
    *,
    x: str,
    y: str,
    title: str,
    horizontal: bool = False,
    percent: bool = False,
) -> go.Figure:
    """One bar per row (``horizontal`` puts the categories on the y axis, e.g. a funnel).

    ``percent`` shows values in [0, 1] as percentages on a fixed 0-100 % axis.
    """
    if not rows:
        return empty(title)
    xs, ys = [r[x] for r in rows], [r[y] for r in rows]
    if horizontal:
        trace = {"type": "bar", "x": xs, "y": ys, "orientation": "h", "text": xs, "textposition": "auto"}
        return _figure([trace], title, yaxis={"autorange": "reversed"})
    yaxis = {"range": [0, 1], "tickformat": ".0%"} if percent else None
    return _figure([{"type": "bar", "x": xs, "y": ys}], title, yaxis=yaxis)


def pie(rows: Sequence[dict[str, Any]], *, label: str, value: str, title: str) -> go.Figure:
    """Shares of a whole (e.g. reactions), coloured by reaction where the label is one."""
    if not rows:
        return empty(title)
    labels = [r[label] for r in rows]
    colors = [REACTION_COLORS.get(str(lab), PALETTE[i % len(PALETTE)]) for i, lab in enumerate(labels)]
    trace = {
        "type": "pie",
        "labels": labels,
        "values": [r[value] for r in rows],
        "hole": 0.45,
        "marker": {"colors": colors},
        "sort": False,
    }
    return _figure([trace], title)


def lines(rows: Sequence[dict[str, Any]], *, x: str, series: Sequence[str], title: str) -> go.Figure:
    """One line per column in ``series`` over ``x``.

    Examples:
        >>> fig = lines([{"day": "d1", "tips": 3, "users": 2}], x="day", series=["tips", "users"], title="t")
        >>> [t.name for t in fig.data]
        ['tips', 'users']
    """
    if not rows:
        return empty(title)
    xs = [r[x] for r in rows]
    traces = [
        {"type": "scatter", "x": xs, "y": [r[s] for r in rows], "name": s, "mode": "lines+markers"}
        for s in series
    ]
    return _figure(traces, title, xaxis=time_axis(xs))


def stacked(rows: Sequence[dict[str, Any]], *, x: str, stack: str, value: str, title: str) -> go.Figure:
    """Stacked bars: one trace per distinct ``stack`` value (e.g. reactions per day).

    Examples:
        >>> rows = [{"day": "d1", "reaction": "done", "count": 2}, {"day": "d2", "reaction": "dismiss", "count": 1}]
        >>> fig = stacked(rows, x="day", stack="reaction", value="count", title="t")
        >>> sorted(t.name for t in fig.data), list(fig.data[0].y)
        (['dismiss', 'done'], [0, 1])
    """
    if not rows:
        return empty(title)
    xs = sorted({r[x] for r in rows})
    grid: dict[str, dict[Any, float]] = defaultdict(dict)
    for r in rows:
        grid[str(r[stack])][r[x]] = r[value]
    traces = []
    for name in sorted(grid):
        trace: dict[str, Any] = {
            "type": "bar",
            "x": xs,
            "y": [grid[name].get(v, 0) for v in xs],
            "name": name,
        }
        if name in REACTION_COLORS:
            trace["marker"] = {"color": REACTION_COLORS[name]}
        traces.append(trace)
    return _figure(traces, title, barmode="stack", xaxis=time_axis(xs))


def _error_bars(cells: Sequence[dict[str, Any] | None]) -> dict[str, Any]:
    return {
        "type": "data",
        "symmetric": False,
        "color": INK,
        "array": [round(c["high"] - c["mean"], 4) if c and c.get("high") is not None else 0 for c in cells],
        "arrayminus": [
            round(c["mean"] - c["low"], 4) if c and c.get("low") is not None else 0 for c in cells
        ],
    }


def mean_ci(rows: Sequence[dict[str, Any]], *, x: str, title: str) -> go.Figure:
    """Mean reward per category with its 95 % interval as error bars (rows carry mean/low/high).

    Examples:
        >>> fig = mean_ci([{"policy": "a", "mean": 0.5, "low": 0.25, "high": 0.75, "rewards": 9}], x="policy", title="t")
        >>> list(fig.data[0].error_y.array), list(fig.data[0].error_y.arrayminus)
        ([0.25], [0.25])
    """
    if not rows:
        return empty(title)
    trace = {
        "type": "bar",
        "x": [str(r[x]) for r in rows],
        "y": [r["mean"] for r in rows],
        "error_y": _error_bars(rows),
        "text": [f"n={r['rewards']}" + (" (too few)" if r.get("too_few") else "") for r in rows],
        "textposition": "outside",
        "hovertemplate": "%{x}: %{y:.3f}<extra></extra>",
    }
    return _figure([trace], title, xaxis={"type": "category"}, yaxis={"title": {"text": "mean reward"}})


def grouped_ci(rows: Sequence[dict[str, Any]], *, x: str, group: str, title: str) -> go.Figure:
    """`mean_ci` with one bar group per ``group`` value (e.g. policy by cohort)."""
    if not rows:
        return empty(title)
    xs = sorted({str(r[x]) for r in rows})
    by_group: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for r in rows:
        by_group[str(r[group])][str(r[x])] = r
    traces = []
    for name in sorted(by_group):
        cells = [by_group[name].get(v) for v in xs]
        traces.append(
            {
                "type": "bar",
                "x": xs,
                "y": [c["mean"] if c else None for c in cells],
                "name": name,
                "error_y": _error_bars(cells),
            }
        )
    return _figure(traces, title, barmode="group", xaxis={"type": "category"})


def heatmap(rows: Sequence[dict[str, Any]], *, x: str, y: str, value: str, title: str) -> go.Figure:
    """A ``y`` by ``x`` grid coloured by ``value`` in [0, 1] (e.g. field by day completeness).

    Examples:
        >>> rows = [{"day": "d1", "field": "features", "share": 1.0}, {"day": "d2", "field": "features", "share": 0.5}]
        >>> fig = heatmap(rows, x="day", y="field", value="share", title="t")
        >>> fig.data[0].type, [list(r) for r in fig.data[0].z]
        ('heatmap', [[1.0, 0.5]])
    """
    if not rows:
        return empty(title)
    xs = sorted({r[x] for r in rows})
    ys = list(dict.fromkeys(r[y] for r in rows))
    cell = {(r[y], r[x]): r[value] for r in rows}
    trace = {
        "type": "heatmap",
        "x": xs,
        "y": ys,
        "z": [[cell.get((yy, xx)) for xx in xs] for yy in ys],
        "zmin": 0,
        "zmax": 1,
        "colorscale": "Viridis",
        "hovertemplate": "%{y} %{x}: %{z:.0%}<extra></extra>",
    }
    return _figure([trace], title, height=320, xaxis=time_axis(xs))


def feature_lines(points: Sequence[dict[str, Any]], *, title: str, top: int = 6) -> go.Figure:
    """The ``top`` most variable features over time (points carry when/feature/value)."""
    if not points:
        return empty(title, "No scoring calls for this user")
    by_feature: dict[str, list[tuple[str, float]]] = defaultdict(list)
    for p in points:
        by_feature[p["feature"]].append((p["when"], p["value"]))

    def spread(values: list[tuple[str, float]]) -> float:
        nums = [v for _, v in values]
        return max(nums) - min(nums)

    chosen = sorted(by_feature, key=lambda k: (-spread(by_feature[k]), k))[:top]
    traces = [
        {
            "type": "scatter",
            "x": [w for w, _ in by_feature[k]],
            "y": [v for _, v in by_feature[k]],
            "name": k,
            "mode": "lines+markers",
        }
        for k in chosen
    ]
    return _figure(traces, title, xaxis=time_axis([p["when"] for p in points]))
