"""Chart builders: rows in, Plotly figures out, with an explicit empty state."""

from __future__ import annotations

import plotly.graph_objects as go
import pytest

from admin import charts

ROWS = [
    {
        "day": "2025-01-01",
        "reaction": "done",
        "count": 3,
        "mean": 0.5,
        "low": 0.1,
        "high": 0.9,
        "rewards": 3,
        "policy": "linucb@3",
        "cohort": "2024-12",
        "field": "features",
        "share": 0.5,
    }
]


@pytest.mark.parametrize(
    "build",
    [
        lambda rows: charts.bars(rows, x="day", y="count", title="t"),
        lambda rows: charts.bars(rows, x="count", y="day", title="t", horizontal=True),
        lambda rows: charts.pie(rows, label="reaction", value="count", title="t"),
        lambda rows: charts.lines(rows, x="day", series=["count"], title="t"),
        lambda rows: charts.stacked(rows, x="day", stack="reaction", value="count", title="t"),
        lambda rows: charts.mean_ci(rows, x="policy", title="t"),
        lambda rows: charts.grouped_ci(rows, x="cohort", group="policy", title="t"),
        lambda rows: charts.heatmap(rows, x="day", y="field", value="share", title="t"),
    ],
)
def test_each_chart_draws_rows_and_says_when_empty(build):
    fig = build(ROWS)
    assert isinstance(fig, go.Figure) and len(fig.data) >= 1
    assert fig.layout.title.text == "t"
    empty = build([])
    assert len(empty.data) == 0 and empty.layout.annotations[0].text == "No data yet"


def test_traces_use_only_the_cartesian_bundle():
    figs = [
        charts.bars(ROWS, x="day", y="count", title="t"),
        charts.pie(ROWS, label="reaction", value="count", title="t"),
        charts.heatmap(ROWS, x="day", y="field", value="share", title="t"),
        charts.feature_lines([{"when": "a", "feature": "x", "value": 1.0}], title="t"),
    ]
    assert {trace.type for fig in figs for trace in fig.data} <= {"bar", "scatter", "pie", "heatmap"}


def test_mean_ci_error_bars_match_the_interval():
    bar = charts.mean_ci(ROWS, x="policy", title="t").data[0]
    assert list(bar.y) == [0.5] and list(bar.error_y.array) == [0.4] and list(bar.error_y.arrayminus) == [0.4]


def test_feature_lines_keep_the_most_variable_features():
    points = [
        {"when": str(i), "feature": f, "value": float(i if f == "moves" else 1)}
        for i in range(3)
        for f in ("moves", "flat", "also_flat")
    ]
    fig = charts.feature_lines(points, title="t", top=1)
    assert [t.name for t in fig.data] == ["moves"]
