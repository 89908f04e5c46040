"""Chart.js configurations built on the server, so pages ship data, not logic.

Each function returns the JSON a ``<canvas data-chart>`` element hands to Chart.js
(``static/ui.js``). Tick formats are named under ``parity`` (``usd``, ``tokens``, ``percent``)
because JSON cannot carry the formatter functions Chart.js wants; ``ui.js`` maps the names.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

__all__ = ["PALETTE", "Series", "category_chart", "xy_chart"]

# Okabe-Ito: distinguishable with the common kinds of colour blindness.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")

TickFormat = Literal["usd", "tokens", "percent", "number"]


@dataclass(frozen=True, slots=True)
class Series:
    """One line or set of points on an x/y chart."""

    label: str
    points: Sequence[tuple[float, float]]
    color: str = PALETTE[0]
    dashed: bool = False
    line: bool = True
    point_radius: float = 0.0


def _axis(title: str, *, log: bool = False, stacked: bool = False) -> dict[str, Any]:
    axis: dict[str, Any] = {"title": {"display": bool(title), "text": title}}
    if log:
        axis["type"] = "logarithmic"
    if stacked:
        axis["stacked"] = True
    return axis


def category_chart(
    kind: Literal["bar", "line"],
    labels: Sequence[str],
    datasets: Sequence[tuple[str, Sequence[float]]],
    *,
    y_title: str = "",
    y_format: TickFormat = "number",
    stacked: bool = False,
    horizontal: bool = False,
) -> dict[str, Any]:
    """Bars or lines over labelled categories (time buckets, models, rules)."""
    sets = []
    for i, (label, values) in enumerate(datasets):
        color = PALETTE[i % len(PALETTE)]
        sets.append(
            {
                "label": label,
                "data": [round(float(v), 10) for v in values],
                "backgroundColor": color,
                "borderColor": color,
                "borderWidth": 2,
                "pointRadius": 2,
                "tension": 0,
            }
        )
    value_axis = "x" if horizontal else "y"
    label_axis = "y" if horizontal else "x"
    return {
        "type": kind,
        "data": {"labels": list(labels), "datasets": sets},
        "options": {
            "indexAxis": "y" if horizontal else "x",
            "animation": False,
            "maintainAspectRatio": False,
            "scales": {
                label_axis: _axis("", stacked=stacked),
                value_axis: {**_axis(y_title, stacked=stacked), "beginAtZero": True},
            },
            "plugins": {"legend": {"display": len(sets) > 1}},
        },
        "parity": {value_axis: y_format},
    }


def xy_chart(
    series: Sequence[Series],
    *,
    x_title: str,
    y_title: str,
    x_format: TickFormat = "number",
    y_format: TickFormat = "number",
    x_log: bool = False,
    y_log: bool = False,
) -> dict[str, Any]:
    """Lines and points on numeric axes (cost curves, calibration curves)."""
    sets = [
        {
            "label": s.label,
            "data": [{"x": x, "y": y} for x, y in s.points],
            "borderColor": s.color,
            "backgroundColor": s.color,
            "borderWidth": 2,
            "borderDash": [6, 4] if s.dashed else [],
            "showLine": s.line,
            "pointRadius": s.point_radius,
            "pointHoverRadius": max(s.point_radius, 3),
            "tension": 0,
        }
        for s in series
    ]
    return {
        "type": "scatter",
        "data": {"datasets": sets},
        "options": {
            "animation": False,
            "maintainAspectRatio": False,
            "scales": {"x": _axis(x_title, log=x_log), "y": _axis(y_title, log=y_log)},
            "plugins": {"legend": {"display": True, "position": "bottom"}},
        },
        "parity": {"x": x_format, "y": y_format},
    }
