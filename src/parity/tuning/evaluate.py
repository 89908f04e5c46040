"""Prove it blind: the gap test on the held-out split, base vs tuned vs teacher.

The held-out examples become gap-test items whose reference is the kept answer (the teacher's,
or a feedback correction). The gap test's own runner calls the three deployments, its judges
score the answers (``exact`` against the reference by default; any gap-test judge may be
named: json, normalised, llm-pairwise, human...), and its report is written as usual. On top,
this module reports each model's mean score with its 95% interval, the paired comparisons, and
the **share of the base->teacher gap the tuned model closed**, (tuned - base) / (teacher -
base), with a paired bootstrap interval over items.

A model whose lineage lists any held-out prompt among its training prompts is refused: its
score would not be blind.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np

from parity.config import Settings
from parity.errors import ConfigError, UnknownModel
from parity.evaluation.datasets import Dataset
from parity.evaluation.records import Item, Verdict
from parity.evaluation.rundir import RunDir
from parity.evaluation.stats import mean_interval
from parity.tuning.examples import Example

__all__ = ["RESAMPLES", "gap_closed", "heldout_dataset", "refuse_leaks", "run_evaluation"]

RESAMPLES = 2000
_PAIR_KEYS = ("a", "b", "n", "wins", "ties", "losses", "difference", "conclusion")


def refuse_leaks(lineage: dict[str, Any], heldout: list[Example], model: str) -> None:
    """ConfigError when the model was trained on any of these prompts."""
    trained = set(lineage.get("trained_prompts", []))
    seen = sum(1 for e in heldout if e.key in trained)
    if seen:
        raise ConfigError(
            f"{model} was trained on {seen} of the {len(heldout)} held-out prompts: its score "
            "would not be blind; evaluate on a held-out split it never saw"
        )


def heldout_dataset(examples: list[Example], task: str | None) -> Dataset:
    """Gap-test items: the prompt messages, and the kept answer as the reference."""
    items = [
        Item(
            id=f"h{n:04d}-{e.key[:8]}",
            messages=e.messages[:-1],
            reference=e.answer,
            category=task,
        )
        for n, e in enumerate(examples)
    ]
    return Dataset(items=items, source="held-out split")


def _scores(verdicts: list[Verdict], judge: str) -> dict[str, dict[str, float]]:
    by_item: dict[str, dict[str, float]] = defaultdict(dict)
    for v in verdicts:
        if v.judge == judge and v.model is not None and v.score is not None:
            by_item[v.item][v.model] = float(v.score)
    return by_item


def gap_closed(
    rows: np.ndarray[Any, np.dtype[np.float64]], *, seed: int = 0
) -> dict[str, float | int | None]:
    """Share of the gap closed, from per-item scores in columns (base, tuned, teacher)."""

    def share(sample: np.ndarray[Any, np.dtype[np.float64]]) -> float | None:
        base, tuned, teacher = sample.mean(axis=0)
        return None if teacher - base <= 1e-9 else float((tuned - base) / (teacher - base))

    point = share(rows)
    rng = np.random.default_rng(seed)
    draws = [share(rows[rng.integers(0, len(rows), len(rows))]) for _ in range(RESAMPLES)]
    kept = [d for d in draws if d is not None]
    if point is None or not kept:
        return {"value": point, "low": None, "high": None, "resamples": len(kept)}
    low, high = np.percentile(kept, [2.5, 97.5])
    return {"value": point, "low": float(low), "high": float(high), "resamples": len(kept)}


def _summary(run: RunDir, models: dict[str, str], judge: str) -> dict[str, Any]:
    by_item = _scores(run.verdicts(), judge)
    roles = ("base", "tuned", "teacher")
    complete = [s for s in by_item.values() if all(models[r] in s for r in roles)]
    scores = {
        role: mean_interval([s[models[role]] for s in complete]).as_dict() if complete else None
        for role in roles
    }
    rows = np.array([[s[models[r]] for r in roles] for s in complete], dtype=np.float64)
    gap = gap_closed(rows) if complete else {"value": None, "low": None, "high": None}
    return {"judge": judge, "items": len(complete), "scores": scores, "gap_closed": gap}


async def run_evaluation(
    settings: Settings,
    models: dict[str, str],
    data: Dataset,
    entries: list[tuple[str | None, str, dict[str, Any]]],
    out: Path,
    *,
    max_tokens: int = 256,
) -> dict[str, Any]:
    """Run the three models on the held-out items, judge, report; the summary dict."""
    from parity.evaluation.analysis import analyse
    from parity.evaluation.judges import registry
    from parity.evaluation.judges.base import JudgeContext, JudgePlan
    from parity.evaluation.judging import judge_run
    from parity.evaluation.report import write_report
    from parity.evaluation.runner import Runner, RunOptions
    from parity.evaluation.upstreams import Upstreams

    for model in models.values():
        if settings.deployment(model) is None:
            raise UnknownModel(model, [m.id for m in settings.models])
    names = list(dict.fromkeys(models.values()))
    llm = [str(o["model"]) for _, kind, o in entries if kind.startswith("llm") and "model" in o]
    run = RunDir(out)
    options = RunOptions(models=names, params={"temperature": 0, "max_tokens": max_tokens})
    async with Upstreams(settings, os.environ, [*names, *llm]) as upstreams:
        summary = await Runner(run, data, options).execute(upstreams)
        context = JudgeContext(base_dir=Path.cwd(), caller=upstreams)
        await judge_run(run, JudgePlan.build(entries, registry(), context))
    analysis = analyse(run)
    paths = write_report(run, analysis)
    judge = str(analysis["primary_judge"])
    result = _summary(run, models, judge)
    result |= {
        "models": models,
        "run": str(run.path),
        "status": summary.status,
        "failed": summary.failed,
        "pairs": [{k: p.get(k) for k in _PAIR_KEYS} for p in analysis.get("pairs", [])],
        "gaptest_report": str(paths["html"]),
    }
    return result
