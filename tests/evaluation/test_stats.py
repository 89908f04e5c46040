"""Statistics on simulated data where the truth is known."""

from __future__ import annotations

import math

import numpy as np
import pytest

from parity.evaluation.stats import (
    MIN_ITEMS,
    bradley_terry,
    cohen_kappa,
    items_to_settle,
    mean_interval,
    mean_intervals,
    newcombe_paired,
    pair_stats,
    wilson,
)

RATES = (0.0, 0.02, 0.5, 0.98, 1.0)
SIZES = (10, 30, 200)
DRAWS = 20_000  # per cell: the share covered has a standard error of about 0.15 points
FLOOR = 0.93


def _outcomes(rng: np.random.Generator, n: int, win: float, tie: float) -> list[int]:
    return [int(x) for x in rng.choice([1, 0, -1], size=n, p=[win, tie, 1 - win - tie])]


def _covered(low: np.ndarray, high: np.ndarray, truth: float) -> float:
    return float(((low <= truth + 1e-12) & (truth <= high + 1e-12)).mean())


def test_rate_intervals_cover_at_the_edges_and_small_n() -> None:
    """Win, tie, loss and parity rates: one Wilson interval, every rate and size of the grid."""
    rng = np.random.default_rng(7)
    worst = 1.0
    for n in SIZES:
        for p in RATES:
            low, high = wilson(rng.binomial(n, p, size=DRAWS), n)
            worst = min(worst, _covered(low, high, p))
    assert worst >= FLOOR


def _trinomials(p: float) -> list[tuple[float, float, float]]:
    """(win, tie, loss) shapes with ``p`` as the win, tie or loss share, symmetric or not."""
    q = 1 - p
    return [
        (p, q, 0.0),  # wins or ties: all ties at p = 0
        (p, 0.0, q),  # no ties at all
        (q / 2, p, q / 2),  # ties at p, the rest split evenly: difference 0
        (0.0, q, p),  # losses or ties
        (0.3 * p, q, 0.7 * p),  # skewed, mostly ties at small p
        (0.3 * q, p, 0.7 * q),
    ]


def test_paired_difference_interval_covers_at_the_edges_and_small_n() -> None:
    rng = np.random.default_rng(8)
    worst = 1.0
    for n in SIZES:
        for p in RATES:
            for shape in _trinomials(p):
                counts = rng.multinomial(n, shape, size=DRAWS)
                _, low, high = newcombe_paired(counts[:, 0], counts[:, 1], counts[:, 2])
                worst = min(worst, _covered(low, high, shape[2] - shape[0]))
    assert worst >= FLOOR


def _scores(rng: np.random.Generator, p: float, n: int, rest: str) -> tuple[np.ndarray, float]:
    """Scores on [0, 1]: 1 with probability ``p``, else drawn from ``rest``; and the true mean."""
    draws = (DRAWS // 4, n)
    top = rng.random(draws) < p
    if rest == "zero":  # a reference judge: right or wrong
        other, mean = np.zeros(draws), 0.0
    elif rest == "levels":  # an LLM judge's ten ratings, the top one kept for p
        levels = np.arange(9) / 9
        other, mean = rng.choice(levels, size=draws), float(levels.mean())
    elif rest == "middle":  # a skewed two-point distribution inside the scale
        other, mean = np.full(draws, 0.5), 0.5
    else:  # nearly all at the bottom, a few one step up
        other, mean = rng.choice([0.0, 1 / 9], size=draws, p=[0.98, 0.02]), 0.02 / 9
    return np.where(top, 1.0, other), p + (1 - p) * mean


def test_mean_score_interval_covers_at_the_edges_and_small_n() -> None:
    rng = np.random.default_rng(9)
    worst = 1.0
    for n in SIZES:
        for p in RATES:
            for rest in ("zero", "levels", "middle", "bottom"):
                scores, truth = _scores(rng, p, n, rest)
                low, high = mean_intervals(scores)
                worst = min(worst, _covered(low, high, truth))
    assert worst >= FLOOR


def test_all_ties_give_a_wide_interval_and_too_few_prompts() -> None:
    """Ten ties: the old bootstrap said [100%, 100%] and 'within ±10% (from +0% to +0%)'."""
    stats = pair_stats("a", "b", [0] * 10)
    assert stats.parity_rate.high == 1.0
    assert 0.6 < stats.parity_rate.low < 0.75
    assert stats.difference.low < -0.25 and stats.difference.high > 0.25
    assert stats.conclusion.startswith("too few prompts to conclude")
    # at those shares, the interval fits inside ±10 points at the size it names, not before
    needed = items_to_settle(0, 10, 0)
    assert needed is not None and 20 < needed < 60
    assert pair_stats("a", "b", [0] * needed).conclusion.startswith("no meaningful difference")
    assert pair_stats("a", "b", [0] * (needed - 1)).conclusion.startswith("too few prompts")


def test_mean_of_identical_scores_does_not_collapse() -> None:
    assert mean_interval([1.0] * 10).low < 0.75
    middle = mean_interval([0.5] * 10)
    assert middle.low < 0.4 and middle.high > 0.6
    assert mean_interval([0.0] * 30, bounds=(-1.0, 1.0)).low < -0.05
    assert math.isnan(mean_interval([]).value)
    with pytest.raises(ValueError, match="within"):
        mean_interval([1.5])


def test_counts_and_point_estimates_are_exact() -> None:
    stats = pair_stats("a", "b", [1] * 6 + [0] * 3 + [-1] * 11)
    assert (stats.n, stats.wins, stats.ties, stats.losses) == (20, 6, 3, 11)
    assert stats.win_rate.value == pytest.approx(0.30)
    assert stats.parity_rate.value == pytest.approx(0.45)
    assert stats.difference.value == pytest.approx(0.25)
    assert stats.win_rate.low <= 0.30 <= stats.win_rate.high


def test_small_samples_say_so() -> None:
    tiny = pair_stats("a", "b", [-1] * (MIN_ITEMS - 1))
    assert tiny.conclusion.startswith("too few prompts to conclude")
    # 20 items, evenly split: the interval is wide and spans zero.
    wide = pair_stats("a", "b", [1] * 8 + [0] * 4 + [-1] * 8)
    assert wide.conclusion.startswith("too few prompts to conclude")
    assert "prompts would settle it" in wide.conclusion
    assert pair_stats("a", "b", []).n == 0


def test_clear_and_equivalent_results_are_named() -> None:
    rng = np.random.default_rng(3)
    better = pair_stats("open", "closed", _outcomes(rng, 400, 0.1, 0.3))
    assert better.conclusion.startswith("closed is better")
    same = pair_stats("open", "closed", _outcomes(rng, 3000, 0.2, 0.6))
    assert same.conclusion.startswith("no meaningful difference")


def test_cohen_kappa_known_values() -> None:
    assert cohen_kappa(["a", "b", "a", "b"], ["a", "b", "a", "b"]) == pytest.approx(1.0)
    # Textbook 2x2 example: 20 yes/yes, 5 yes/no, 10 no/yes, 15 no/no -> kappa 0.4.
    first = ["y"] * 25 + ["n"] * 25
    second = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    assert cohen_kappa(first, second) == pytest.approx(0.4)
    assert cohen_kappa([], []) is None


def test_bradley_terry_recovers_known_strengths() -> None:
    rng = np.random.default_rng(5)
    strength = {"small": 1.0, "medium": 2.0, "large": 6.0}
    names = list(strength)
    matches: list[tuple[str, str, int]] = []
    for _ in range(1500):
        i, j = rng.choice(3, size=2, replace=False)
        a, b = names[i], names[j]
        p = strength[a] / (strength[a] + strength[b])
        matches.append((a, b, 1 if rng.random() < p else -1))
    ratings = bradley_terry(names, matches, seed=1, resamples=100)
    assert ratings["small"].value < ratings["medium"].value < ratings["large"].value
    # log10(6 / 1) * 400 = 311 points between large and small.
    gap = ratings["large"].value - ratings["small"].value
    assert 260 < gap < 360
    assert ratings["large"].low < ratings["large"].value < ratings["large"].high
