"""``parity router calibrate``: move an artifact's thresholds to a new target, and draw the curve.

It needs no model and no embedder: the out-of-fold predictions saved at training time are all
it reads, so recalibrating is instant and does not change what the router predicts.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from parity.training.calibrate import OperatingPoint, Target, calibration_fields
from parity.training.costs import RequestCosts, priced
from parity.training.metrics import RoutingCurve, oracle_curve, random_curve, routing_curve
from parity.training.plots import plot_pair, plot_portfolio
from parity.training.portfolio import portfolio_curve
from parity.training.store import read_arrays, read_manifest, update_manifest

__all__ = ["artifact_costs", "artifact_curves", "calibrate_artifact", "curve_table"]


def artifact_costs(
    manifest: Mapping[str, Any],
    prices: Mapping[str, float],
    tokens_per_request: float | None = None,
) -> RequestCosts | None:
    """Costs from new ``--cost`` prices if given, else the ones saved at training time."""
    if prices:
        tokens = manifest.get("request_tokens") or {}
        return priced(
            prices, {m: float(tokens.get(m, 0.0)) for m in manifest["models"]}, tokens_per_request
        )
    saved = manifest.get("costs")
    if not saved:
        return None
    return RequestCosts({str(k): float(v) for k, v in saved["usd"].items()}, str(saved["source"]))


def artifact_curves(arrays: Mapping[str, npt.NDArray[Any]]) -> dict[str, RoutingCurve]:
    """Cross-validated curves of the router (and cascade), with random and oracle."""
    weak, strong = arrays["weak"], arrays["strong"]
    curves = {"router": routing_curve(arrays["router"], weak, strong)}
    if "cascade" in arrays:
        curves["cascade"] = routing_curve(arrays["cascade"], weak, strong)
    curves["random"] = random_curve(weak, strong)
    curves["oracle"] = oracle_curve(weak, strong)
    return curves


def curve_table(curves: Mapping[str, RoutingCurve], steps: int = 11) -> list[dict[str, float]]:
    """Quality at evenly spaced shares of strong calls, one row per share."""
    rows = []
    for share in np.linspace(0.0, 1.0, steps):
        row = {"strong_share": round(float(share), 4)}
        row |= {name: curve.quality_at(float(share)) for name, curve in curves.items()}
        rows.append(row)
    return rows


def calibrate_artifact(
    path: Path,
    target: Target,
    *,
    prices: Mapping[str, float] | None = None,
    tokens_per_request: float | None = None,
    plot: Path | None = None,
) -> dict[str, Any]:
    """Write thresholds for ``target`` into the artifact; returns what was chosen and the curve."""
    manifest = read_manifest(path)
    arrays = read_arrays(path, manifest)
    costs = artifact_costs(manifest, prices or {}, tokens_per_request)
    fields = calibration_fields(arrays, manifest, target, costs)
    if costs is not None:
        fields["costs"] = {"usd": dict(costs.usd), "source": costs.source}
    update_manifest(path, fields)
    curves = artifact_curves(arrays)
    points = [
        OperatingPoint(**fields["calibration"][mode])
        for mode in ("router", "cascade")
        if mode in fields["calibration"]
    ]
    plot_path = plot or path / "curve.png"
    title = f"{manifest['strong']} vs {manifest['weak']} (cross-validated)"
    plot_pair(
        {k: v for k, v in curves.items() if k in ("router", "cascade")},
        curves["random"],
        curves["oracle"],
        points=points,
        path=plot_path,
        title=title,
    )
    result: dict[str, Any] = {
        "artifact": str(path),
        "version": manifest["version"],
        "target": target.to_json(),
        "threshold": fields["threshold"],
        "cascade_threshold": fields["cascade_threshold"],
        "quality_threshold": fields["quality_threshold"],
        "chosen": fields["calibration"],
        "costs": fields.get("costs"),
        "curve": curve_table(curves),
        "plot": str(plot_path),
    }
    if "portfolio" in fields["calibration"] and costs is not None:
        result["portfolio_plot"] = str(_plot_portfolio(path, manifest, arrays, costs, fields))
    return result


def _plot_portfolio(
    path: Path,
    manifest: Mapping[str, Any],
    arrays: Mapping[str, npt.NDArray[Any]],
    costs: RequestCosts,
    fields: Mapping[str, Any],
) -> Path:
    points = portfolio_curve(
        arrays["portfolio_predicted"],
        arrays["portfolio_actual"],
        [str(m) for m in manifest["models"]],
        costs=costs.usd,
        fallback=str(manifest["strong"]),
    )
    chosen = OperatingPoint(**fields["calibration"]["portfolio"])
    return plot_portfolio(points, chosen, path / "portfolio.png", "choose the cheapest good enough")
