"""Report plots as inline SVG strings (matplotlib, no files, no network)."""

from __future__ import annotations

import io
import re
from typing import Any

from parity.errors import InputError

__all__ = ["latency_plot", "quality_cost_plot", "win_rate_plot"]

_HEADER = re.compile(r"^.*?(?=<svg)", re.DOTALL)
_METADATA = re.compile(r"<metadata>.*?</metadata>\s*", re.DOTALL)


def _figure(width: float, height: float) -> Any:
    try:
        import matplotlib
    except ImportError as exc:
        raise InputError("report plots need matplotlib: pip install 'parity[report]'") from exc

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _svg(figure: Any) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    # The XML header cannot sit inside HTML; the RDF metadata block is noise there.
    return _METADATA.sub("", _HEADER.sub("", buffer.getvalue(), count=1), count=1)


def win_rate_plot(pairs: list[dict[str, Any]]) -> str | None:
    """Win, tie, loss and parity rate of each pair, with 95% intervals."""
    rows: list[tuple[str, dict[str, float]]] = []
    for pair in pairs:
        if not pair["n"]:
            continue
        a, b = pair["a"], pair["b"]
        rows += [
            (f"{a} wins", pair["win_rate"]),
            ("tie", pair["tie_rate"]),
            (f"{b} wins", pair["loss_rate"]),
            (f"parity ({a} ≥ {b})", pair["parity_rate"]),
        ]
    if not rows:
        return None
    figure = _figure(9, 0.32 * len(rows) + 1.0)
    axes = figure.add_subplot()
    ys = list(range(len(rows)))[::-1]
    values = [r["value"] for _, r in rows]
    lows = [r["value"] - r["low"] for _, r in rows]
    highs = [r["high"] - r["value"] for _, r in rows]
    colours = ["#2b7bba" if "parity" not in label else "#e07b39" for label, _ in rows]
    axes.barh(ys, values, color=colours, alpha=0.75)
    axes.errorbar(values, ys, xerr=[lows, highs], fmt="none", ecolor="black", capsize=4)
    axes.set_yticks(ys, [label for label, _ in rows], fontsize=8)
    axes.set_xlim(0, 1)
    axes.set_xlabel("share of items, with Wilson 95% intervals")
    axes.grid(axis="x", alpha=0.3)
    return _svg(figure)


def quality_cost_plot(models: list[dict[str, Any]]) -> str | None:
    """Quality against cost per answer, one point per model."""
    points = [m for m in models if m.get("quality") is not None]
    if not points:
        return None
    figure = _figure(6.5, 4)
    axes = figure.add_subplot()
    costs = [m.get("cost_per_answer_usd") or 0.0 for m in points]
    for model, cost in zip(points, costs, strict=True):
        axes.scatter([cost], [model["quality"]], s=60)
        axes.annotate(
            model["model"],
            (cost, model["quality"]),
            textcoords="offset points",
            xytext=(6, 4),
            fontsize=8,
        )
    if all(c > 0 for c in costs) and max(costs) / min(costs) > 20:
        axes.set_xscale("log")
    elif max(costs) == 0:
        axes.set_xlim(-1, 1)
        axes.set_xticks([0], ["0"])
    axes.set_xlabel("USD per answer (0 = free or unknown)")
    axes.set_ylabel("quality (primary judge, 0-1)")
    axes.set_ylim(-0.05, 1.05)
    axes.grid(alpha=0.3)
    return _svg(figure)


def latency_plot(models: list[dict[str, Any]]) -> str | None:
    """Latency distribution of each model's live calls."""
    series = [(m["model"], m["latencies_ms"]) for m in models if m.get("latencies_ms")]
    if not series:
        return None
    figure = _figure(6.5, 0.5 * len(series) + 1.5)
    axes = figure.add_subplot()
    axes.boxplot([s for _, s in series], orientation="horizontal", showfliers=True)
    axes.set_yticks(range(1, len(series) + 1), [name for name, _ in series], fontsize=8)
    axes.set_xlabel("latency per answer, ms (successful attempt)")
    axes.grid(axis="x", alpha=0.3)
    return _svg(figure)
