"""Write a run's report: one self-contained HTML file, plus Markdown and JSON versions.

The HTML has no external references at all (styles inline, plots as inline SVG), so it can be
mailed or archived as one file and opened offline.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from parity.evaluation.plots import latency_plot, quality_cost_plot, win_rate_plot
from parity.evaluation.rundir import RunDir
from parity.evaluation.stats import BT_RESAMPLES, MIN_ITEMS

__all__ = ["render_html", "render_markdown", "write_report"]


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _pct(value: Any) -> str:
    return "–" if _missing(value) else f"{float(value) * 100:.1f}%"


def _usd(value: Any) -> str:
    if _missing(value):
        return "–"
    amount = float(value)
    return f"${amount:.2f}" if amount >= 1 else f"${amount:.6f}".rstrip("0").rstrip(".")


def _num(value: Any, digits: int = 2) -> str:
    return "–" if _missing(value) else f"{float(value):,.{digits}f}"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("parity.evaluation", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=False),
        undefined=StrictUndefined,
        trim_blocks=False,
        lstrip_blocks=False,
        keep_trailing_newline=True,
    )
    env.filters.update(pct=_pct, usd=_usd, num=_num)
    return env


def _context(analysis: dict[str, Any], seed: int) -> dict[str, Any]:
    return {
        "r": analysis,
        "generated": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "resamples": BT_RESAMPLES,
        "seed": seed,
        "min_items": MIN_ITEMS,
    }


def render_html(analysis: dict[str, Any], *, seed: int = 0) -> str:
    """The report as one HTML page with its plots inline."""
    plots = {
        "win": win_rate_plot(analysis["pairs"]),
        "quality": quality_cost_plot(analysis["models"]),
        "latency": latency_plot(analysis["models"]),
    }
    template = _environment().get_template("report.html")
    return template.render(**_context(analysis, seed), plots=plots)


def render_markdown(analysis: dict[str, Any], *, seed: int = 0) -> str:
    """The report as Markdown (tables, no plots)."""
    return _environment().get_template("report.md").render(**_context(analysis, seed))


def write_report(
    run: RunDir, analysis: dict[str, Any], out: Path | None = None, *, seed: int = 0
) -> dict[str, Path]:
    """Write report.html, report.md and report.json; returns their paths."""
    folder = out or run.report_dir
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": folder / "report.html",
        "markdown": folder / "report.md",
        "json": folder / "report.json",
    }
    paths["html"].write_text(render_html(analysis, seed=seed), encoding="utf-8")
    paths["markdown"].write_text(render_markdown(analysis, seed=seed), encoding="utf-8")
    paths["json"].write_bytes(
        orjson.dumps(analysis, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    )
    return paths
