"""Statistics of a gap test: win/tie/loss, parity rate, bootstrap intervals, Bradley-Terry,
Cohen's kappa, and a plain-words conclusion that says when the sample is too small.

Outcomes are coded from the first model's side: +1 it wins, 0 tie, -1 it loses. Intervals are
percentile bootstrap intervals over items (resampled with replacement, seeded, so a report is
reproducible).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = [
    "MIN_ITEMS",
    "Interval",
    "PairStats",
    "bootstrap_mean",
    "bradley_terry",
    "cohen_kappa",
    "conclude",
    "pair_stats",
]

MIN_ITEMS = 10
"""Below this many judged items, no conclusion is drawn at all."""
MARGIN = 0.10
"""A difference in win rates inside ±10 points counts as no meaningful difference."""
RESAMPLES = 2000
CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Interval:
    """A point estimate with its 95% interval."""

    value: float
    low: float
    high: float

    def as_dict(self) -> dict[str, float]:
        """For JSON."""
        return {"value": self.value, "low": self.low, "high": self.high}


def _percentiles(samples: npt.NDArray[np.float64]) -> tuple[float, float]:
    tail = (1 - CONFIDENCE) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_mean(
    values: Sequence[float], *, seed: int = 0, resamples: int = RESAMPLES
) -> Interval:
    """The mean of ``values`` with a percentile-bootstrap 95% interval."""
    data = np.asarray(values, dtype=np.float64)
    if data.size == 0:
        return Interval(float("nan"), float("nan"), float("nan"))
    rng = np.random.default_rng(seed)
    means = data[rng.integers(0, data.size, size=(resamples, data.size))].mean(axis=1)
    low, high = _percentiles(means)
    return Interval(float(data.mean()), low, high)


@dataclass(frozen=True, slots=True)
class PairStats:
    """How model ``a`` did against model ``b`` on ``n`` items judged for both."""

    a: str
    b: str
    n: int
    wins: int
    ties: int
    losses: int
    win_rate: Interval  # a wins
    tie_rate: Interval
    loss_rate: Interval  # b wins
    parity_rate: Interval  # a at least as good as b: wins + ties
    difference: Interval  # loss rate - win rate: how much more often b wins
    conclusion: str

    def as_dict(self) -> dict[str, object]:
        """For JSON."""
        return {
            "a": self.a,
            "b": self.b,
            "n": self.n,
            "wins": self.wins,
            "ties": self.ties,
            "losses": self.losses,
            "win_rate": self.win_rate.as_dict(),
            "tie_rate": self.tie_rate.as_dict(),
            "loss_rate": self.loss_rate.as_dict(),
            "parity_rate": self.parity_rate.as_dict(),
            "difference": self.difference.as_dict(),
            "conclusion": self.conclusion,
        }


def _points(low: float, high: float) -> str:
    return f"{low * 100:.0f} to {high * 100:.0f} percentage points"


def conclude(a: str, b: str, n: int, difference: Interval) -> str:
    """What the data lets one say about a against b, in words."""
    if n < MIN_ITEMS:
        return (
            f"sample too small to conclude: {n} item(s) judged for both; judge at least {MIN_ITEMS}"
        )
    low, high = difference.low, difference.high
    if low > 0:
        return f"{b} is better: it wins {_points(low, high)} more often than {a}"
    if high < 0:
        return f"{a} is better: it wins {_points(-high, -low)} more often than {b}"
    if low >= -MARGIN and high <= MARGIN:
        return f"no meaningful difference: within ±{MARGIN:.0%} (from {low:+.0%} to {high:+.0%})"
    half = (high - low) / 2
    needed = int(np.ceil(n * (half / MARGIN) ** 2))
    return (
        f"sample too small to conclude: the difference could be anywhere from {low:+.0%} "
        f"to {high:+.0%}; about {needed} items would narrow it to ±{MARGIN:.0%}"
    )


def pair_stats(a: str, b: str, outcomes: Sequence[int], *, seed: int = 0) -> PairStats:
    """Win/tie/loss of ``a`` against ``b`` with bootstrap 95% intervals and a conclusion."""
    data = np.asarray(outcomes, dtype=np.int8)
    n = int(data.size)
    if n == 0:
        empty = Interval(float("nan"), float("nan"), float("nan"))
        return PairStats(
            a, b, 0, 0, 0, 0, empty, empty, empty, empty, empty, conclude(a, b, 0, empty)
        )
    rng = np.random.default_rng(seed)
    sample = data[rng.integers(0, n, size=(RESAMPLES, n))]
    win_s = (sample == 1).mean(axis=1)
    tie_s = (sample == 0).mean(axis=1)
    loss_s = (sample == -1).mean(axis=1)

    def interval(point: float, draws: npt.NDArray[np.float64]) -> Interval:
        low, high = _percentiles(draws)
        return Interval(point, low, high)

    wins, ties, losses = int((data == 1).sum()), int((data == 0).sum()), int((data == -1).sum())
    difference = interval((losses - wins) / n, loss_s - win_s)
    return PairStats(
        a=a,
        b=b,
        n=n,
        wins=wins,
        ties=ties,
        losses=losses,
        win_rate=interval(wins / n, win_s),
        tie_rate=interval(ties / n, tie_s),
        loss_rate=interval(losses / n, loss_s),
        parity_rate=interval((wins + ties) / n, win_s + tie_s),
        difference=difference,
        conclusion=conclude(a, b, n, difference),
    )


def cohen_kappa(first: Sequence[str], second: Sequence[str]) -> float | None:
    """Cohen's kappa of two raters' labels on the same items; None when undefined."""
    if len(first) != len(second):
        raise ValueError("both raters must label the same items")
    if not first:
        return None
    labels = sorted(set(first) | set(second))
    index = {label: i for i, label in enumerate(labels)}
    table = np.zeros((len(labels), len(labels)))
    for x, y in zip(first, second, strict=True):
        table[index[x], index[y]] += 1
    total = table.sum()
    observed = np.trace(table) / total
    expected = float((table.sum(axis=0) * table.sum(axis=1)).sum() / total**2)
    if expected >= 1.0:
        return None if observed < 1.0 else 1.0
    return float((observed - expected) / (1 - expected))


def _bt_fit(
    wins: npt.NDArray[np.float64], games: npt.NDArray[np.float64]
) -> npt.NDArray[np.float64]:
    """Bradley-Terry strengths by Hunter's MM iteration; geometric mean fixed at 1."""
    k = wins.shape[0]
    strength: npt.NDArray[np.float64] = np.ones(k)
    total_wins = wins.sum(axis=1) + 1e-3  # a tiny prior keeps a model that never won finite
    for _ in range(500):
        denom = (games / (strength[:, None] + strength[None, :])).sum(axis=1)
        updated: npt.NDArray[np.float64] = total_wins / np.maximum(denom, 1e-12)
        updated /= np.exp(np.log(updated).mean())
        if np.allclose(updated, strength, rtol=1e-9, atol=1e-12):
            return updated
        strength = updated
    return strength


def bradley_terry(
    models: Sequence[str],
    matches: Sequence[tuple[str, str, int]],
    *,
    seed: int = 0,
    resamples: int = 300,
) -> dict[str, Interval]:
    """Bradley-Terry scores on an Elo-like scale (1000 = average), with bootstrap intervals.

    ``matches`` are (model a, model b, outcome from a's side); a tie counts half a win each.
    """
    index = {m: i for i, m in enumerate(models)}
    k = len(models)
    if k < 2 or not matches:
        return {}
    left = np.array([index[a] for a, _, _ in matches])
    right = np.array([index[b] for _, b, _ in matches])
    score = (np.array([o for _, _, o in matches], dtype=np.float64) + 1) / 2

    def fit(rows: npt.NDArray[np.int64]) -> npt.NDArray[np.float64]:
        wins = np.zeros((k, k))
        games = np.zeros((k, k))
        np.add.at(wins, (left[rows], right[rows]), score[rows])
        np.add.at(wins, (right[rows], left[rows]), 1 - score[rows])
        np.add.at(games, (left[rows], right[rows]), 1)
        np.add.at(games, (right[rows], left[rows]), 1)
        elo: npt.NDArray[np.float64] = 1000 + 400 * np.log10(_bt_fit(wins, games))
        return elo

    point = fit(np.arange(len(matches)))
    rng = np.random.default_rng(seed)
    draws = np.array([fit(rng.integers(0, len(matches), len(matches))) for _ in range(resamples)])
    out: dict[str, Interval] = {}
    for model, i in index.items():
        low, high = _percentiles(draws[:, i])
        out[model] = Interval(float(point[i]), low, high)
    return out
