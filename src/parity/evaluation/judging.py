"""Apply a judge plan to a run's answers and store the verdicts."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from parity.errors import InputError
from parity.evaluation.judges.base import Judge, JudgePlan, parse_judge_option
from parity.evaluation.records import Answer, Item, Verdict
from parity.evaluation.rundir import RunDir

__all__ = ["JudgingSummary", "judge_items", "judge_run", "plan_entries"]


@dataclass(slots=True)
class JudgingSummary:
    """How judging went: verdicts per judge, and items a judge could not or would not judge."""

    verdicts: dict[str, int]
    withheld: dict[str, int]
    failed: dict[str, int]


async def judge_items(
    plan: JudgePlan,
    items: list[Item],
    answers: Mapping[tuple[str, str], Answer],
    models: list[str],
    *,
    parallel: int = 8,
) -> list[Verdict]:
    """Every verdict of every judge in the plan, in item order."""
    gate = asyncio.Semaphore(max(1, parallel))

    async def one(item: Item) -> list[Verdict]:
        ready = {
            m: answers[(item.id, m)]
            for m in models
            if (item.id, m) in answers and answers[(item.id, m)].ok
        }
        out: list[Verdict] = []
        if not ready:
            return out
        async with gate:
            for judge in plan.judges_for(item):
                out.extend(await judge.judge(item, ready))
        return out

    results = await asyncio.gather(*(one(item) for item in items))
    return [v for batch in results for v in batch]


def _all_judges(plan: JudgePlan) -> list[Judge]:
    return [*plan.default, *(j for js in plan.by_category.values() for j in js)]


def _counter(plan: JudgePlan, attribute: str) -> dict[str, int]:
    judges = _all_judges(plan)
    return {j.name: int(getattr(j, attribute, 0)) for j in judges if getattr(j, attribute, 0)}


async def judge_run(run: RunDir, plan: JudgePlan, *, parallel: int = 8) -> JudgingSummary:
    """Judge a stored run with ``plan``; earlier verdicts of the same judges are replaced."""
    manifest = run.read_manifest()
    verdicts = await judge_items(
        plan, run.items(), run.answers(), manifest.model_ids, parallel=parallel
    )
    run.replace_verdicts(verdicts, set(plan.names))
    manifest.judges = list(dict.fromkeys([*manifest.judges, *plan.names]))
    for judge in _all_judges(plan):
        record = getattr(judge, "prompt_record", None)
        if isinstance(record, dict):
            manifest.judge_prompts[judge.name] = record
    run.write_manifest(manifest)
    counts: dict[str, int] = {name: 0 for name in plan.names}
    for verdict in verdicts:
        counts[verdict.judge] = counts.get(verdict.judge, 0) + 1
    return JudgingSummary(counts, _counter(plan, "withheld"), _counter(plan, "failed"))


def plan_entries(
    options: list[str], judges_file: Path | None
) -> list[tuple[str | None, str, dict[str, Any]]]:
    """Judge entries from ``--judge`` options and an optional judges file (YAML or JSON).

    The file holds ``judges:`` (for every item) and ``categories:`` (a list per category);
    each judge is a ``kind`` string (``numeric:rule=final`` works too) or a mapping with
    ``kind`` and options.
    """
    entries = [parse_judge_option(text) for text in options]
    if judges_file is None:
        return entries
    try:
        data = yaml.safe_load(judges_file.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"cannot read judges file: {exc}", path=str(judges_file)) from exc
    if not isinstance(data, dict):
        raise InputError("a judges file is a mapping with 'judges' and 'categories'")
    for spec in data.get("judges") or []:
        entries.append(_entry(None, spec, judges_file))
    for category, specs in (data.get("categories") or {}).items():
        for spec in specs or []:
            entries.append(_entry(str(category), spec, judges_file))
    return entries


def _entry(category: str | None, spec: Any, where: Path) -> tuple[str | None, str, dict[str, Any]]:
    if isinstance(spec, str):
        _, kind, options = parse_judge_option(spec)
        return category, kind, dict(options)
    if isinstance(spec, dict) and isinstance(spec.get("kind"), str):
        options = {k: v for k, v in spec.items() if k != "kind"}
        return category, spec["kind"], options
    raise InputError(f"a judge is a name or a mapping with 'kind', got {spec!r}", path=str(where))
