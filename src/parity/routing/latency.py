"""Recent latency per deployment, for least-latency pools."""

from __future__ import annotations

__all__ = ["LatencyBoard"]


class LatencyBoard:
    """An exponentially weighted moving average of successful call times, per deployment."""

    def __init__(self, alpha: float = 0.2):
        self._alpha = alpha
        self._ms: dict[str, float] = {}

    def observe(self, deployment: str, ms: float) -> None:
        """Record one successful call."""
        previous = self._ms.get(deployment)
        self._ms[deployment] = ms if previous is None else previous + self._alpha * (ms - previous)

    def fastest(self, deployments: list[str]) -> list[str]:
        """The deployments ordered fastest first; unmeasured ones first, to get measured."""
        return sorted(deployments, key=lambda d: self._ms.get(d, -1.0))

    def snapshot(self) -> dict[str, float]:
        """Current averages in milliseconds."""
        return {k: round(v, 2) for k, v in self._ms.items()}
