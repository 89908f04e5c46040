"""Statistics on simulated data where the truth is known."""

from __future__ import annotations

import numpy as np
import pytest

from parity.evaluation.stats import (
    MIN_ITEMS,
    bootstrap_mean,
    bradley_terry,
    cohen_kappa,
    pair_stats,
)


def _outcomes(rng: np.random.Generator, n: int, win: float, tie: float) -> list[int]:
    return [int(x) for x in rng.choice([1, 0, -1], size=n, p=[win, tie, 1 - win - tie])]


def test_parity_rate_interval_covers_the_truth_about_95_percent() -> None:
    rng = np.random.default_rng(7)
    truth_win, truth_tie = 0.30, 0.25
    trials = 300
    covered_parity = covered_win = 0
    for trial in range(trials):
        stats = pair_stats("open", "closed", _outcomes(rng, 120, truth_win, truth_tie), seed=trial)
        covered_parity += stats.parity_rate.low <= truth_win + truth_tie <= stats.parity_rate.high
        covered_win += stats.win_rate.low <= truth_win <= stats.win_rate.high
    # A 95% interval over 300 trials: the share covered has a standard error of about 1.3 points.
    assert 0.91 <= covered_parity / trials <= 0.985
    assert 0.91 <= covered_win / trials <= 0.985


def test_mean_interval_covers_the_truth_about_95_percent() -> None:
    rng = np.random.default_rng(11)
    covered = 0
    for trial in range(300):
        values = (rng.random(120) < 0.7).astype(float).tolist()
        interval = bootstrap_mean(values, seed=trial)
        covered += interval.low <= 0.7 <= interval.high
    assert 0.91 <= covered / 300 <= 0.985


def test_counts_and_point_estimates_are_exact() -> None:
    stats = pair_stats("a", "b", [1] * 6 + [0] * 3 + [-1] * 11, seed=1)
    assert (stats.n, stats.wins, stats.ties, stats.losses) == (20, 6, 3, 11)
    assert stats.win_rate.value == pytest.approx(0.30)
    assert stats.parity_rate.value == pytest.approx(0.45)
    assert stats.difference.value == pytest.approx(0.25)
    assert stats.win_rate.low <= 0.30 <= stats.win_rate.high


def test_small_samples_say_so() -> None:
    tiny = pair_stats("a", "b", [-1] * (MIN_ITEMS - 1))
    assert tiny.conclusion.startswith("sample too small to conclude")
    # 20 items, evenly split: the interval is wide and spans zero.
    wide = pair_stats("a", "b", [1] * 8 + [0] * 4 + [-1] * 8)
    assert wide.conclusion.startswith("sample too small to conclude")
    assert "items would narrow it" in wide.conclusion
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
