"""Turn a run's answers and verdicts into the numbers a report shows (one JSON-ready dict).

The **primary judge** decides each comparison (``--judge``; by default the first automatic
judge the run used, then the dataset's own labels, then a human). A score judge decides a pair
by comparing the two models' scores on the item; a pairwise judge decides it directly. In each
pair the **candidate** is the cheaper model (lower measured cost per answer, else lower list
price, else the model listed first), so the parity rate reads "the cheaper model was at least
as good".
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import numpy as np

from parity.errors import InputError
from parity.evaluation.judges.human import human_verdicts
from parity.evaluation.records import TIE, Answer, Item, Verdict
from parity.evaluation.rundir import NEXT_STEP, Manifest, RunDir
from parity.evaluation.stats import bradley_terry, cohen_kappa, mean_interval, pair_stats

__all__ = ["AUTO", "NO_VERDICTS", "analyse", "model_table", "outcomes", "pick_primary"]

Outcomes = dict[str, int]
"""Item id -> +1 (first model wins), 0 (tie), -1 (second model wins)."""


def outcomes(verdicts: Iterable[Verdict], a: str, b: str) -> Outcomes:
    """How ``a`` fared against ``b`` per item, by one judge's verdicts."""
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    result: Outcomes = {}
    for v in verdicts:
        if v.pair is not None and set(v.pair) == {a, b}:
            result[v.item] = 1 if v.winner == a else -1 if v.winner == b else 0
        elif v.model in (a, b) and v.score is not None:
            scores[v.item][v.model] = v.score
    for item, by_model in scores.items():
        if item not in result and a in by_model and b in by_model:
            gap = by_model[a] - by_model[b]
            result[item] = 0 if abs(gap) < 1e-9 else (1 if gap > 0 else -1)
    return result


AUTO = "auto"
NO_VERDICTS = "none (no verdicts yet)"


def _judge_order(by_judge: dict[str, list[Verdict]], manifest: Manifest) -> list[str]:
    humans = sorted(n for n in by_judge if n.startswith("human:"))
    order = [n for n in dict.fromkeys([*manifest.judges, "recorded", *humans]) if by_judge.get(n)]
    return order + sorted(n for n in by_judge if n not in order and by_judge[n])


def pick_primary(
    by_judge: dict[str, list[Verdict]], manifest: Manifest, asked: str | None
) -> tuple[str, list[Verdict]]:
    """The judge whose verdicts decide the comparisons, and those verdicts.

    By default (``auto``) each item is decided by the first judge that judged it, in the
    order the run's judges were given, then the dataset's labels, then humans: so judges
    assigned per category each decide their own items. A run with no verdicts at all gives
    ``(NO_VERDICTS, [])``: its report still shows answers, failures and costs.
    """
    if asked is not None and asked != AUTO:
        if asked not in by_judge:
            known = ", ".join(sorted(by_judge)) or "none yet"
            raise InputError(f"no verdicts from judge '{asked}' in this run (judges: {known})")
        return asked, by_judge[asked]
    order = _judge_order(by_judge, manifest)
    if not order:
        return NO_VERDICTS, []
    if len(order) == 1:
        return order[0], by_judge[order[0]]
    owner: dict[str, str] = {}
    for name in order:
        for verdict in by_judge[name]:
            owner.setdefault(verdict.item, name)
    chosen = [v for name in order for v in by_judge[name] if owner[v.item] == name]
    return f"{AUTO} ({' > '.join(order)})", chosen


def _model_costs(answers: dict[tuple[str, str], Answer], model: str) -> list[Answer]:
    return [a for (_, m), a in answers.items() if m == model]


def _failures(answers: list[Answer]) -> list[dict[str, Any]]:
    """Each distinct reason a model's answers failed, most frequent first."""
    counts: dict[str, int] = defaultdict(int)
    for answer in answers:
        if answer.failure is not None:
            counts[answer.failure] += 1
    return [
        {"reason": reason, "count": n}
        for reason, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    ]


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def model_table(
    manifest: Manifest, answers: dict[tuple[str, str], Answer], quality: dict[str, float | None]
) -> list[dict[str, Any]]:
    """Per model: answers, failures, retries, latency, tokens, cost and quality per dollar."""
    rows: list[dict[str, Any]] = []
    for info in manifest.models:
        mine = _model_costs(answers, info.id)
        called = [a for a in mine if a.source in ("live", "cache")]
        ok = [a for a in mine if a.ok]
        latencies = [a.latency_ms for a in called if a.ok and a.latency_ms is not None]
        costs = [a.cost_usd for a in ok if a.cost_usd is not None]
        cost_per_answer = sum(costs) / len(costs) if costs else None
        q = quality.get(info.id)
        per_dollar = (q / cost_per_answer) if q is not None and cost_per_answer else None
        rows.append(
            {
                "model": info.id,
                "residency": info.residency,
                "recorded": info.recorded,
                "answers": len(ok),
                "failed": sum(1 for a in mine if a.error is not None),
                "failures": _failures(mine),
                "skipped_sensitive": sum(1 for a in mine if a.source == "skipped"),
                "calls": len(called),
                "retry_rate": (sum(1 for a in called if a.retries) / len(called))
                if called
                else None,
                "retries_per_call": (sum(a.retries for a in called) / len(called))
                if called
                else None,
                "latency_ms_p50": _percentile(latencies, 50),
                "latency_ms_p95": _percentile(latencies, 95),
                "latencies_ms": latencies,
                "input_tokens": sum(a.input_tokens or 0 for a in ok),
                "output_tokens": sum(a.output_tokens or 0 for a in ok),
                "cost_usd": sum(costs) if costs else None,
                "cost_per_answer_usd": cost_per_answer,
                "quality": q,
                "quality_per_dollar": per_dollar,
            }
        )
    return rows


def _orient(
    a: str, b: str, manifest: Manifest, table: dict[str, dict[str, Any]], cheaper: str | None
) -> tuple[str, str]:
    """(candidate, other): the cheaper model first."""
    if cheaper in (a, b):
        return (a, b) if cheaper == a else (b, a)
    ca, cb = table[a].get("cost_per_answer_usd"), table[b].get("cost_per_answer_usd")
    if ca is not None and cb is not None and ca != cb:
        return (a, b) if ca < cb else (b, a)
    ia, ib = manifest.model(a), manifest.model(b)
    if ia and ib and ia.price_input is not None and ib.price_input is not None:
        pa = ia.price_input + (ia.price_output or 0)
        pb = ib.price_input + (ib.price_output or 0)
        if pa != pb:
            return (a, b) if pa < pb else (b, a)
    return a, b


def _quality(primary: list[Verdict], models: list[str]) -> dict[str, float | None]:
    """Mean score per model (score judge), else mean points in pairwise comparisons."""
    sums: dict[str, list[float]] = defaultdict(list)
    for v in primary:
        if v.model is not None and v.score is not None:
            sums[v.model].append(v.score)
        elif v.pair is not None:
            for m in v.pair:
                sums[m].append(0.5 if v.winner == TIE else 1.0 if v.winner == m else 0.0)
    return {m: (sum(sums[m]) / len(sums[m]) if sums[m] else None) for m in models}


def _said(outcome: int, a: str, b: str) -> str:
    return a if outcome == 1 else b if outcome == -1 else TIE


def _agreement(by_judge: dict[str, list[Verdict]], models: list[str]) -> list[dict[str, Any]]:
    """Agreement and Cohen's kappa per pair of judges, with a few cases where they differ."""
    rows: list[dict[str, Any]] = []
    for j1, j2 in itertools.combinations(sorted(by_judge), 2):
        first: list[str] = []
        second: list[str] = []
        differ: list[dict[str, Any]] = []
        for a, b in itertools.combinations(models, 2):
            o1, o2 = outcomes(by_judge[j1], a, b), outcomes(by_judge[j2], a, b)
            for item in sorted(o1.keys() & o2.keys()):
                first.append(str(o1[item]))
                second.append(str(o2[item]))
                if o1[item] != o2[item] and len(differ) < 5:
                    differ.append(
                        {
                            "item": item,
                            "pair": [a, b],
                            j1: _said(o1[item], a, b),
                            j2: _said(o2[item], a, b),
                        }
                    )
        if first:
            same = sum(x == y for x, y in zip(first, second, strict=True)) / len(first)
            rows.append(
                {
                    "judges": [j1, j2],
                    "n": len(first),
                    "agreement": same,
                    "kappa": cohen_kappa(first, second),
                    "differ": differ,
                }
            )
    return rows


def _clip(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[:limit] + " …"


def _disagreements(
    pair: tuple[str, str],
    result: Outcomes,
    *,
    items: dict[str, Item],
    answers: dict[tuple[str, str], Answer],
    verdicts: list[Verdict],
    limit: int = 8,
) -> list[dict[str, Any]]:
    """Items where the candidate lost, to read first."""
    a, b = pair
    details: dict[tuple[str, str], str] = {}
    for v in verdicts:
        if v.model is not None:
            details[(v.item, v.model)] = v.detail
        elif v.pair is not None and set(v.pair) == {a, b}:
            details[(v.item, a)] = details[(v.item, b)] = v.detail
    lost = [i for i, o in result.items() if o == -1 and i in items]
    return [
        {
            "item": i,
            "category": items[i].category,
            "prompt": _clip(items[i].prompt, 800),
            "reference": _clip(items[i].reference or "", 400),
            "answers": {m: _clip(answers[(i, m)].text) for m in (a, b) if (i, m) in answers},
            "why": {m: details.get((i, m), "") for m in (a, b)},
        }
        for i in lost[:limit]
    ]


def _pair_block(pair: tuple[str, str], result: Outcomes, items: dict[str, Item]) -> dict[str, Any]:
    a, b = pair
    block: dict[str, Any] = pair_stats(a, b, list(result.values())).as_dict()
    by_cat: dict[str, list[int]] = defaultdict(list)
    for item, o in result.items():
        category = items[item].category if item in items else None
        by_cat[category or "(none)"].append(o)
    block["categories"] = {}
    if len(by_cat) > 1:
        block["categories"] = {
            c: pair_stats(a, b, os).as_dict() for c, os in sorted(by_cat.items())
        }
    return block


def analyse(
    run: RunDir, *, judge: str | None = None, cheaper: str | None = None, seed: int = 0
) -> dict[str, Any]:
    """Everything the report shows, as plain JSON-ready data."""
    manifest = run.read_manifest()
    items = {i.id: i for i in run.items()}
    answers = run.answers()
    by_judge: dict[str, list[Verdict]] = defaultdict(list)
    for v in [*run.verdicts(), *human_verdicts(run)]:
        by_judge[v.judge].append(v)
    primary, decisive = pick_primary(by_judge, manifest, judge)
    models = manifest.model_ids
    quality = _quality(decisive, models)
    table = model_table(manifest, answers, quality)
    by_model = {row["model"]: row for row in table}
    pairs: list[dict[str, Any]] = []
    matches: list[tuple[str, str, int]] = []
    for x, y in itertools.combinations(models, 2):
        a, b = _orient(x, y, manifest, by_model, cheaper)
        result = outcomes(decisive, a, b)
        matches.extend((a, b, o) for o in result.values())
        block = _pair_block((a, b), result, items)
        block["worst"] = _disagreements(
            (a, b), result, items=items, answers=answers, verdicts=decisive
        )
        pairs.append(block)
    scores = {
        m: {
            "mean": mean_interval(
                [v.score for v in decisive if v.model == m and v.score is not None]
            ).as_dict()
        }
        for m in models
    }
    warnings: list[str] = []
    if not decisive:
        warnings.append(f"No verdicts yet: {NEXT_STEP.replace('RUN', str(run.path))}.")
    failed = sum(row["failed"] for row in table)
    if failed:
        warnings.append(
            f"{failed} of {len(answers)} answers failed and are not judged "
            "(the reasons are under Failures)."
        )
    return {
        "run": str(run.path),
        "warnings": warnings,
        "source": manifest.source,
        "status": manifest.status,
        "n_items": len(items),
        "spent_usd": manifest.spent_usd,
        "params": manifest.params,
        "primary_judge": primary,
        "judges": {name: len(vs) for name, vs in sorted(by_judge.items())},
        "models": table,
        "pairs": pairs,
        "scores": scores if any(v.score is not None for v in decisive) else {},
        "bradley_terry": (
            {m: i.as_dict() for m, i in bradley_terry(models, matches, seed=seed).items()}
            if len(models) > 2
            else {}
        ),
        "agreement": _agreement(by_judge, models),
    }
