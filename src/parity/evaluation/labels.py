"""The label file for router training (the contract in docs/router.md), from a judged run.

One JSON object per item that at least two models were scored on::

    {"id": "...", "prompt": "..." | "messages": [...], "scores": {"MODEL": 0.0-1.0},
     "responses": {"MODEL": "..."}, "cost": {"MODEL": usd}, "category": "..."}

A score is the primary judge's 0-1 score, or for a pairwise judge the model's mean points
over its comparisons on that item (win 1, tie 0.5, loss 0).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from parity.evaluation.analysis import pick_primary
from parity.evaluation.judges.human import human_verdicts
from parity.evaluation.records import TIE, Verdict
from parity.evaluation.rundir import NEXT_STEP, RunDir

__all__ = ["labels", "no_labels_reason"]


def _scores(verdicts: list[Verdict]) -> dict[str, dict[str, float]]:
    points: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for v in verdicts:
        if v.model is not None and v.score is not None:
            points[v.item][v.model].append(v.score)
        elif v.pair is not None:
            for model in v.pair:
                won = 0.5 if v.winner == TIE else 1.0 if v.winner == model else 0.0
                points[v.item][model].append(won)
    return {
        item: {m: sum(p) / len(p) for m, p in by_model.items()} for item, by_model in points.items()
    }


def labels(
    run: RunDir, *, judge: str | None = None, responses: bool = True
) -> Iterator[dict[str, Any]]:
    """Label objects, one per item scored for two or more models, in item order."""
    manifest = run.read_manifest()
    by_judge: dict[str, list[Verdict]] = defaultdict(list)
    for v in [*run.verdicts(), *human_verdicts(run)]:
        by_judge[v.judge].append(v)
    _, decisive = pick_primary(by_judge, manifest, judge)
    scores = _scores(decisive)
    answers = run.answers()
    for item in run.items():
        scored = scores.get(item.id, {})
        if len(scored) < 2:
            continue
        label: dict[str, Any] = {"id": item.id}
        single = len(item.messages) == 1 and item.messages[0].get("role") == "user"
        if single:
            label["prompt"] = item.prompt
        else:
            label["messages"] = item.messages
        label["scores"] = {m: round(s, 6) for m, s in scored.items()}
        found = {m: answers[(item.id, m)] for m in scored if (item.id, m) in answers}
        if responses:
            label["responses"] = {m: a.text for m, a in found.items()}
        costs = {m: a.cost_usd for m, a in found.items() if a.cost_usd is not None}
        if costs:
            label["cost"] = costs
        if item.category:
            label["category"] = item.category
        yield label


def no_labels_reason(run: RunDir, judge: str | None = None) -> str:
    """One line saying why ``labels`` gave nothing for ``run``."""
    verdicts = [*run.verdicts(), *human_verdicts(run)]
    if not verdicts:
        return f"{run.path} has no verdicts yet; {NEXT_STEP.replace('RUN', str(run.path))}"
    if judge is not None and all(v.judge != judge for v in verdicts):
        known = ", ".join(sorted({v.judge for v in verdicts}))
        return f"no verdicts from judge '{judge}' in {run.path} (judges: {known})"
    return (
        f"no prompt in {run.path} was scored for two or more models "
        f"({len(verdicts)} verdicts; failed and withheld answers are not scored)"
    )
