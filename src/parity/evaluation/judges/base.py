"""The Judge protocol, the registry judges are found in, and per-category judge plans.

A judge is one small class with one method that matters: ``judge(item, answers)`` returns
verdicts. Built-in judges register exactly the way a plugin's would: a name and a factory that
takes the judge's options.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from parity.errors import InputError
from parity.evaluation.records import Answer, Item, Verdict

__all__ = [
    "Judge",
    "JudgeContext",
    "JudgeFactory",
    "JudgePlan",
    "ModelCaller",
    "ScoreJudge",
    "judge_name",
    "parse_judge_option",
]


class Judge(Protocol):
    """Scores answers to one item; returns no verdict when it has nothing to judge by."""

    name: str

    async def judge(self, item: Item, answers: Mapping[str, Answer]) -> list[Verdict]:
        """Verdicts for this item's answers (keyed by model id; only answers that exist)."""
        ...


class ModelCaller(Protocol):
    """Sends one chat request to a model by id (the LLM judges' way out)."""

    async def call(self, model: str, body: dict[str, Any]) -> str:
        """The answer text."""
        ...

    def residency(self, model: str) -> str:
        """Where data sent to ``model`` goes: on_prem or vendor."""
        ...


@dataclass(slots=True)
class JudgeContext:
    """What judge factories may need: where relative paths start, and a way to call models."""

    base_dir: Path = field(default_factory=Path.cwd)
    caller: ModelCaller | None = None


JudgeFactory = Callable[[dict[str, Any], JudgeContext], Judge]
"""Builds a judge from its options (strings from the CLI, or values from a judges file)."""


def judge_name(kind: str, options: Mapping[str, Any]) -> str:
    """A stable judge name: the kind plus its options, e.g. ``numeric:rule=last_integer``."""
    if not options:
        return kind
    return kind + ":" + ",".join(f"{k}={options[k]}" for k in sorted(options))


class ScoreJudge:
    """Base for judges that score each answer on its own, without calling anything."""

    name: str = "score"

    def score(self, item: Item, answer: Answer) -> tuple[float, str] | None:
        """A 0-1 score and a short reason, or None when this item cannot be judged."""
        raise NotImplementedError

    async def judge(self, item: Item, answers: Mapping[str, Answer]) -> list[Verdict]:
        """One score verdict per answer."""
        verdicts: list[Verdict] = []
        for model, answer in answers.items():
            result = self.score(item, answer)
            if result is None:
                continue
            value, detail = result
            verdicts.append(
                Verdict(item=item.id, judge=self.name, model=model, score=value, detail=detail)
            )
        return verdicts


def parse_judge_option(text: str) -> tuple[str | None, str, dict[str, str]]:
    """Parse ``[CATEGORY=]KIND[:key=value,...]`` into (category, kind, options)."""
    category: str | None = None
    head, _, rest = text.partition(":")
    if "=" in head:
        category, _, head = head.partition("=")
    options: dict[str, str] = {}
    for part in filter(None, rest.split(",")):
        key, sep, value = part.partition("=")
        if not sep:
            raise InputError(f"judge option '{part}' in '{text}' must look like key=value")
        options[key.strip()] = value.strip()
    if not head.strip():
        raise InputError(f"no judge kind in '{text}'")
    return (category.strip() if category else None), head.strip(), options


@dataclass(slots=True)
class JudgePlan:
    """Which judges judge which items: a default list, and lists for named categories."""

    default: list[Judge] = field(default_factory=list)
    by_category: dict[str, list[Judge]] = field(default_factory=dict)

    def judges_for(self, item: Item) -> list[Judge]:
        """The category's judges if it has its own, else the default ones."""
        if item.category is not None and item.category in self.by_category:
            return self.by_category[item.category]
        return self.default

    @property
    def names(self) -> list[str]:
        """Every judge's name, default ones first, without repeats."""
        seen: dict[str, None] = {}
        for judge in [*self.default, *(j for js in self.by_category.values() for j in js)]:
            seen.setdefault(judge.name, None)
        return list(seen)

    def is_empty(self) -> bool:
        """True when no judge is configured."""
        return not self.default and not self.by_category

    @classmethod
    def build(
        cls,
        entries: list[tuple[str | None, str, dict[str, Any]]],
        registry: Mapping[str, JudgeFactory],
        context: JudgeContext,
    ) -> JudgePlan:
        """A plan from (category or None, kind, options) entries."""
        plan = cls()
        for category, kind, options in entries:
            factory = registry.get(kind)
            if factory is None:
                known = ", ".join(sorted(registry))
                raise InputError(f"unknown judge '{kind}' (known: {known})")
            judge = factory(dict(options), context)
            if category is None:
                plan.default.append(judge)
            else:
                plan.by_category.setdefault(category, []).append(judge)
        return plan
