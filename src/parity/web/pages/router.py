"""Router: the configured learned router's calibration curve and the threshold in force.

It reads the artifact's manifest and its out-of-fold arrays (no pickles, no embedder), the same
data ``parity router calibrate`` draws from, so the page is instant and cannot run artifact code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from parity.errors import ConfigError
from parity.routing.signals.difficulty import HEURISTIC_THRESHOLD
from parity.web.board import Dashboard
from parity.web.charts import PALETTE, Series, xy_chart

__all__ = ["RouterPage", "router_view"]

STEPS = 101


def _operating_point(
    arrays: Any, threshold: float, tie: dict[str, float] | None
) -> dict[str, float]:
    """Where the cut in force lands on the out-of-fold scores (ties split as the gateway does)."""
    import numpy as np  # only when a router is shown: keeps numpy off `parity serve` start

    from parity.training.metrics import Cut, tie_draws

    score, weak, strong = arrays["router"], arrays["weak"], arrays["strong"]
    routed = Cut.from_json(tie, threshold).routes(
        score, tie_draws([str(k) for k in arrays["keys"]])
    )
    quality = float(np.where(routed, strong, weak).mean())
    best = float(np.mean(strong))
    return {
        "threshold": threshold,
        "strong_share": float(routed.mean()),
        "quality": quality,
        "quality_share": quality / best if best > 0 else 1.0,
    }


def _curve_chart(curves: dict[str, Any], point: dict[str, float]) -> dict[str, Any]:
    import numpy as np  # only when a router is shown: keeps numpy off `parity serve` start

    shares = np.linspace(0.0, 1.0, STEPS)
    styles = {"router": (PALETTE[0], False), "cascade": (PALETTE[2], False)}
    styles |= {"random": (PALETTE[6], True), "oracle": (PALETTE[1], True)}
    series = [
        Series(
            f"{name} (cross-validated)" if name in ("router", "cascade") else name,
            [(float(s), curve.quality_at(float(s))) for s in shares],
            color=styles[name][0],
            dashed=styles[name][1],
        )
        for name, curve in curves.items()
    ]
    series.append(
        Series(
            f"threshold in force ({point['threshold']:.3f})",
            [(point["strong_share"], point["quality"])],
            color=PALETTE[3],
            line=False,
            point_radius=7,
        )
    )
    return xy_chart(
        series,
        x_title="share of requests sent to the strong model",
        y_title="quality (mean score)",
        x_format="percent",
    )


def _threshold_chart(score: Any, threshold: float) -> dict[str, Any]:
    import numpy as np  # only when a router is shown: keeps numpy off `parity serve` start

    grid = np.linspace(0.0, 1.0, STEPS)
    values = np.asarray(score, dtype=np.float64)
    shares = [(float(t), float((values >= t).mean())) for t in grid]
    marker = [(threshold, 0.0), (threshold, 1.0)]
    return xy_chart(
        [
            Series("share sent to the strong model", shares, color=PALETTE[0]),
            Series(f"threshold in force ({threshold:.3f})", marker, color=PALETTE[3], dashed=True),
        ],
        x_title="threshold on the router's score",
        y_title="share of requests to the strong model",
        y_format="percent",
    )


def router_view(path: Path, override: float | None) -> dict[str, Any]:
    """What the page shows about the artifact at ``path``; ConfigError when it is unreadable."""
    from parity.training.recalibrate import artifact_curves
    from parity.training.store import read_arrays, read_manifest

    manifest = read_manifest(path)
    arrays = read_arrays(path, manifest)
    for key in ("router", "weak", "strong", "keys"):
        if key not in arrays:
            raise ConfigError(f"the artifact's oof.npz lacks {key!r}", path=str(path))
    calibrated = float(manifest["threshold"])
    threshold = calibrated if override is None else override
    tie = manifest.get("threshold_tie") if override is None else None
    point = _operating_point(arrays, threshold, tie)
    curves = artifact_curves(arrays)
    metrics = manifest.get("metrics") or {}
    return {
        "manifest": manifest,
        "calibrated": calibrated,
        "override": override,
        "threshold": threshold,
        "point": point,
        "points": (manifest.get("calibration") or {}),
        "cv": metrics.get("cv") or {},
        "chosen": metrics.get("chosen") or {},
        "n": len(arrays["router"]),
        "curve_chart": _curve_chart(curves, point),
        "threshold_chart": _threshold_chart(arrays["router"], threshold),
    }


def _artifact_path(configured: str) -> Path:
    """Where the gateway looks for the artifact (relative paths from the working directory)."""
    return Path(configured).expanduser().resolve()


class RouterPage:
    """GET /router."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def routes(self) -> list[BaseRoute]:
        return [Route("/router", self.page, name="router")]

    async def page(self, request: Request) -> Response:
        difficulty = self.board.settings.difficulty
        context: dict[str, Any] = {"path": difficulty.router_path, "problem": "", "view": None}
        if difficulty.router_path:
            path = await run_in_threadpool(_artifact_path, difficulty.router_path)
            context["path"] = str(path)
            try:
                context["view"] = await run_in_threadpool(router_view, path, difficulty.threshold)
            except ConfigError as exc:
                context["problem"] = str(exc)
        else:
            context["heuristic_threshold"] = (
                difficulty.threshold if difficulty.threshold is not None else HEURISTIC_THRESHOLD
            )
        return self.board.render(request, "router.html", context, active="router")
