"""LLM judges: a judge model compares two answers, or scores one from 1 to 10.

``llm-pairwise`` asks twice, with the answers in both orders, so that a judge that favours the
first (or second) position cancels itself out: a model wins only when both orders agree, and
anything else is a tie. ``llm-single`` asks for a 1-10 rating, as MT-Bench does, and stores it
scaled to 0-1. Every verdict records the judge model, the prompt version and a hash of the
prompt text, and the judge's raw replies. Prompts with sensitive data are never sent to a
judge whose deployment is a vendor's.

Options: ``model`` (a model id from the config; required), ``max_tokens`` (default 512).
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Mapping
from typing import Any

from parity.errors import InputError, ParityError
from parity.evaluation.judges.base import JudgeContext, ModelCaller, judge_name
from parity.evaluation.records import TIE, Answer, Item, Verdict

__all__ = [
    "PAIRWISE_PROMPT",
    "PROMPT_VERSION",
    "SINGLE_PROMPT",
    "PairwiseJudge",
    "SingleJudge",
    "parse_pair",
    "parse_rating",
]

PROMPT_VERSION = "parity-judge-v1"

JUDGE_SYSTEM = (
    "You are a careful, impartial evaluator of AI assistant answers. Judge correctness first, "
    "then helpfulness, relevance and clarity. Length is not quality. Do not let the order in "
    "which answers appear, or any name, sway you. Explain briefly, then give your verdict in "
    "exactly the format asked for."
)

PAIRWISE_PROMPT = (
    "Compare two answers to the user's request.\n\n"
    "[Request]\n{question}\n\n{reference_block}"
    "[Answer A]\n{answer_a}\n[End of answer A]\n\n"
    "[Answer B]\n{answer_b}\n[End of answer B]\n\n"
    "Which answer is better? Finish with one line that is exactly [[A]] if A is better, "
    "[[B]] if B is better, or [[TIE]] if they are equally good."
)

SINGLE_PROMPT = (
    "Rate the answer to the user's request on a scale of 1 (useless or wrong) to 10 "
    "(excellent).\n\n"
    "[Request]\n{question}\n\n{reference_block}"
    "[Answer]\n{answer}\n[End of answer]\n\n"
    'Finish with one line of the form "Rating: [[N]]" where N is a whole number from 1 to 10.'
)

_PAIR_VERDICT = re.compile(r"\[\[\s*(A|B|C|TIE)\s*\]\]", re.IGNORECASE)
_RATING = re.compile(r"\[\[\s*(\d+(?:\.\d+)?)\s*\]\]")


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _reference_block(item: Item) -> str:
    if not item.reference:
        return ""
    return f"[Reference answer]\n{item.reference}\n[End of reference answer]\n\n"


def parse_pair(reply: str) -> str | None:
    """'A', 'B' or 'tie' from a pairwise reply's last verdict tag; None if it has none."""
    found = _PAIR_VERDICT.findall(reply)
    if not found:
        return None
    last = found[-1].upper()
    return TIE if last in ("TIE", "C") else last


def parse_rating(reply: str) -> float | None:
    """The 1-10 rating from a reply's last [[N]] tag; None if absent or out of range."""
    found = _RATING.findall(reply)
    if not found:
        return None
    value = float(found[-1])
    return value if 1 <= value <= 10 else None


class _LLMJudge:
    kind = "llm"

    def __init__(self, options: dict[str, Any], context: JudgeContext):
        model = options.get("model")
        if not model:
            raise InputError(f"the {self.kind} judge needs a judge model: {self.kind}:model=ID")
        if context.caller is None:
            raise InputError(f"the {self.kind} judge needs the models of a config to call")
        self.model = str(model)
        self.caller: ModelCaller = context.caller
        self.max_tokens = int(options.get("max_tokens", 512))
        self.name = judge_name(self.kind, {"model": self.model})
        self.withheld = 0
        self.failed = 0

    @property
    def prompt_record(self) -> dict[str, str]:
        """The judge model and the exact prompt text, for the run's record."""
        template = PAIRWISE_PROMPT if self.kind == "llm-pairwise" else SINGLE_PROMPT
        return {
            "model": self.model,
            "version": PROMPT_VERSION,
            "system": JUDGE_SYSTEM,
            "template": template,
            "sha": _digest(JUDGE_SYSTEM + template),
        }

    def _allowed(self, item: Item) -> bool:
        if item.sensitive and self.caller.residency(self.model) == "vendor":
            self.withheld += 1
            return False
        return True

    async def _ask(self, prompt: str) -> str | None:
        body = {
            "messages": [
                {"role": "system", "content": JUDGE_SYSTEM},
                {"role": "user", "content": prompt},
            ],
            "temperature": 0,
            "max_tokens": self.max_tokens,
        }
        try:
            return await self.caller.call(self.model, body)
        except ParityError:
            self.failed += 1
            return None

    def _meta(self, template: str, replies: list[str]) -> dict[str, Any]:
        return {
            "judge_model": self.model,
            "prompt_version": PROMPT_VERSION,
            "prompt_sha": _digest(JUDGE_SYSTEM + template),
            "replies": [r[-600:] for r in replies],
        }


class PairwiseJudge(_LLMJudge):
    """Asks which of two answers is better, in both orders; disagreement is a tie."""

    kind = "llm-pairwise"

    async def _order(self, item: Item, first: Answer, second: Answer) -> tuple[str | None, str]:
        prompt = PAIRWISE_PROMPT.format(
            question=item.prompt,
            reference_block=_reference_block(item),
            answer_a=first.text,
            answer_b=second.text,
        )
        reply = await self._ask(prompt)
        if reply is None:
            return None, ""
        verdict = parse_pair(reply)
        self.failed += verdict is None
        return verdict, reply

    async def judge(self, item: Item, answers: Mapping[str, Answer]) -> list[Verdict]:
        """One verdict per pair of models."""
        if not self._allowed(item):
            return []
        verdicts: list[Verdict] = []
        for a, b in itertools.combinations(list(answers), 2):
            forward, reply_1 = await self._order(item, answers[a], answers[b])
            backward, reply_2 = await self._order(item, answers[b], answers[a])
            if forward is None or backward is None:
                continue
            first = {"A": a, "B": b}.get(forward, TIE)
            second = {"A": b, "B": a}.get(backward, TIE)
            winner = first if first == second else TIE
            verdicts.append(
                Verdict(
                    item=item.id,
                    judge=self.name,
                    pair=[a, b],
                    winner=winner,
                    detail=f"{a} shown as A: {forward}; {b} shown as A: {backward}",
                    meta=self._meta(PAIRWISE_PROMPT, [reply_1, reply_2]),
                )
            )
        return verdicts


class SingleJudge(_LLMJudge):
    """Rates each answer from 1 to 10 (stored as (rating - 1) / 9)."""

    kind = "llm-single"

    async def judge(self, item: Item, answers: Mapping[str, Answer]) -> list[Verdict]:
        """One score verdict per answer."""
        if not self._allowed(item):
            return []
        verdicts: list[Verdict] = []
        for model, answer in answers.items():
            prompt = SINGLE_PROMPT.format(
                question=item.prompt, reference_block=_reference_block(item), answer=answer.text
            )
            reply = await self._ask(prompt)
            rating = parse_rating(reply) if reply is not None else None
            if rating is None:
                self.failed += reply is not None
                continue
            verdicts.append(
                Verdict(
                    item=item.id,
                    judge=self.name,
                    model=model,
                    score=(rating - 1) / 9,
                    detail=f"rated {rating:g}/10",
                    meta={**self._meta(SINGLE_PROMPT, [reply or ""]), "rating": rating},
                )
            )
        return verdicts
