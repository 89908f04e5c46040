"""The metric functions against cases worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from parity.training.calibrate import Target, calibrate_pair
from parity.training.costs import RequestCosts
from parity.training.labels import text_key
from parity.training.metrics import (
    Cut,
    cost_saving,
    oracle_curve,
    random_curve,
    router_metrics,
    routing_curve,
    threshold_for_share,
    tie_draws,
)

# Four prompts. Gains of the strong model: +1, +1, 0, -1. Weak quality 0.5, strong 0.75.
WEAK = np.array([0.0, 0.0, 1.0, 1.0])
STRONG = np.array([1.0, 1.0, 1.0, 0.0])
# Routing order 0, 2, 3, 1: qualities 0.5, 0.75, 0.75, 0.5, 0.75 at shares 0 .. 1.
SCORE = np.array([0.9, 0.1, 0.5, 0.3])


def test_curve_points_follow_the_routing_order() -> None:
    curve = routing_curve(SCORE, WEAK, STRONG)
    assert curve.shares.tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert curve.qualities.tolist() == [0.5, 0.75, 0.75, 0.5, 0.75]
    assert curve.pgr().tolist() == [0.0, 1.0, 1.0, 0.0, 1.0]


def test_apgr_cpt_and_share_for_target_by_hand() -> None:
    metrics = router_metrics(routing_curve(SCORE, WEAK, STRONG), target=0.95)
    # Trapezoids of PGR 0,1,1,0,1 over steps of 0.25: .125 + .25 + .125 + .125.
    assert metrics.apgr == pytest.approx(0.625)
    # 50% of the gap is quality 0.625, reached halfway up the first segment.
    assert metrics.cpt50 == pytest.approx(0.125)
    # 80% is quality 0.7: 0.2/0.25 of the way along the first segment.
    assert metrics.cpt80 == pytest.approx(0.2)
    # 95% of strong quality is 0.7125.
    assert metrics.share_at_target == pytest.approx(0.2125)


def test_random_and_oracle_references() -> None:
    random = router_metrics(random_curve(WEAK, STRONG))
    assert random.apgr == pytest.approx(0.5)
    assert random.cpt50 == pytest.approx(0.5)
    assert random.cpt80 == pytest.approx(0.8)
    oracle = oracle_curve(WEAK, STRONG)
    # Gains in order +1, +1 (a tie: one segment), 0, -1: PGR 0, 2, 2, 1.
    assert oracle.shares.tolist() == [0.0, 0.5, 0.75, 1.0]
    assert oracle.qualities.tolist() == [0.5, 1.0, 1.0, 0.75]
    assert oracle.apgr() == pytest.approx(0.5 + 0.5 + 0.375)


def test_tied_scores_give_the_random_tie_break_expectation() -> None:
    # Prompts 0 and 1 tie, then 2 and 3 tie: only the group ends are points.
    curve = routing_curve(np.array([1.0, 1.0, 0.0, 0.0]), WEAK, STRONG)
    assert curve.shares.tolist() == [0.0, 0.5, 1.0]
    assert curve.qualities.tolist() == [0.5, 1.0, 0.75]
    # A constant score is the random router exactly.
    flat = routing_curve(np.zeros(4), WEAK, STRONG)
    assert flat.apgr() == pytest.approx(0.5)


def test_no_gap_has_no_pgr_and_needs_no_strong_calls() -> None:
    same = np.array([1.0, 0.0])
    metrics = router_metrics(routing_curve(np.array([0.3, 0.7]), same, same))
    assert math.isnan(metrics.apgr)
    assert metrics.to_json()["apgr"] is None
    assert metrics.cpt50 == 0.0


def _draws(n: int, salt: int = 0) -> np.ndarray:
    return tie_draws([text_key(f"prompt {salt} {i}") for i in range(n)])


DRAWS = _draws(4)


def test_threshold_for_share_sits_between_scores() -> None:
    assert threshold_for_share(SCORE, 0.5, DRAWS).threshold == pytest.approx(0.4)
    assert threshold_for_share(SCORE, 1.0, DRAWS).threshold == pytest.approx(0.1)
    assert threshold_for_share(SCORE, 0.0, DRAWS).threshold > 0.9
    assert threshold_for_share(SCORE, 0.25, DRAWS).routes(SCORE, DRAWS).sum() == 1
    # a share between prompts rounds down: 0.49 of four prompts is one, not two
    assert threshold_for_share(SCORE, 0.49, DRAWS).routes(SCORE, DRAWS).sum() == 1


def test_a_block_of_ties_is_split_never_sent_whole() -> None:
    rng = np.random.default_rng(4)
    score = np.r_[np.full(90, 0.5), rng.random(10) * 0.4]  # 90 tied prompts on top
    draws = _draws(100)
    for share in (0.05, 0.3, 0.899, 0.9, 0.95):
        cut = threshold_for_share(score, share, draws)
        assert cut.routes(score, draws).sum() == math.floor(share * 100 + 1e-9)
    assert threshold_for_share(score, 0.3, draws).tie_score == 0.5
    # the same prompt keeps its side: the rule depends on the score and the prompt's own draw
    cut = threshold_for_share(score, 0.3, draws)
    assert (cut.routes(score, draws) == cut.routes(score.copy(), draws.copy())).all()


def test_a_budget_is_never_overspent_on_the_calibration_data() -> None:
    costs = RequestCosts({"s": 10.0, "w": 1.0}, "test")
    # The case that overshot: the top 90 of 100 tie; $3 a request went 90% strong at $9.10.
    score = np.r_[np.full(90, 0.5), np.linspace(0.0, 0.4, 10)]
    tied = calibrate_pair(
        score, np.zeros(100), np.ones(100), draws=_draws(100), target=Target("budget", 300, 100),
        costs=costs, models=("s", "w"), cascade=False,
    )  # fmt: skip
    assert tied.strong_share == 0.22  # (3 - 1) / (10 - 1) = 22.2% -> 22 prompts
    assert tied.cost_per_request == pytest.approx(2.98)
    rng = np.random.default_rng(5)
    for trial in range(200):
        n = int(rng.integers(2, 60))
        score = rng.choice([0.2, 0.5, 0.9], size=n)  # heavy ties
        weak, strong = rng.random(n), rng.random(n)
        draws = _draws(n, trial)
        per_request = float(rng.uniform(1.0, 10.0))
        for cascade in (False, True):
            if cascade and per_request < 1.0 + 1e-9:
                continue
            point = calibrate_pair(
                score, weak, strong, draws=draws, target=Target("budget", per_request * 100, 100),
                costs=costs, models=("s", "w"), cascade=cascade,
            )  # fmt: skip
            assert point.cost_per_request is not None
            assert point.cost_per_request <= per_request + 1e-9, trial
            share = calibrate_pair(
                score, weak, strong, draws=draws, target=Target("strong_share", 0.37),
                costs=costs, models=("s", "w"), cascade=cascade,
            )  # fmt: skip
            assert share.strong_share <= 0.37


def test_cut_from_a_manifest_round_trips() -> None:
    cut = Cut(0.6, 0.5, 0.25)
    assert Cut.from_json(cut.to_json(), 0.6) == cut
    assert Cut.from_json(None, 0.4) == Cut(0.4)


def test_cost_saving_for_router_and_cascade() -> None:
    # Router at 30% strong: 0.7 x 1 + 0.3 x 10 = 3.7 of 10.
    assert cost_saving(0.3, 1.0, 10.0, cascade=False) == pytest.approx(0.63)
    # Cascade always pays the weak call: 1 + 0.3 x 10 = 4 of 10.
    assert cost_saving(0.3, 1.0, 10.0, cascade=True) == pytest.approx(0.6)


def test_calibrate_pair_meets_each_kind_of_target() -> None:
    costs = RequestCosts({"s": 10.0, "w": 1.0}, "test")
    pair = ("s", "w")
    quality = calibrate_pair(
        SCORE, WEAK, STRONG, draws=DRAWS, target=Target("quality", 0.95), costs=costs,
        models=pair, cascade=False,
    )  # fmt: skip
    # 95% of strong (0.7125) needs one strong call: quality 0.75, 100% of strong.
    assert quality.strong_share == 0.25
    assert quality.quality == pytest.approx(0.75)
    assert quality.cost_per_request == pytest.approx(0.75 * 1 + 0.25 * 10)
    share = calibrate_pair(
        SCORE, WEAK, STRONG, draws=DRAWS, target=Target("strong_share", 0.5), costs=costs,
        models=pair, cascade=False,
    )  # fmt: skip
    assert share.strong_share == 0.5
    # 100 USD for 20 requests a day is 5 a request: (5 - 1) / (10 - 1) = 44% of calls may be
    # strong, which on four prompts is one (two would cost 5.5, over the budget).
    budget = calibrate_pair(
        SCORE, WEAK, STRONG, draws=DRAWS, target=Target("budget", 100, 20), costs=costs,
        models=pair, cascade=False,
    )  # fmt: skip
    assert budget.strong_share == 0.25
    assert budget.cost_per_request == pytest.approx(3.25)
    assert budget.cost_per_request is not None and budget.cost_per_request <= 5
