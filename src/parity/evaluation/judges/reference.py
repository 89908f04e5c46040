"""Reference judges: compare an answer with the item's reference. No model is called.

- ``exact``: the stripped texts are equal.
- ``normalised``: equal after lower-casing and dropping punctuation, articles and extra spaces;
  with ``contains=true``, the normalised reference appears inside the normalised answer.
- ``regex``: the pattern (option ``pattern``, else the reference) is found in the answer.
- ``numeric``: the final number equals the reference's (GSM8K's ``#### 18`` form is read on
  both sides). ``rule=final`` (default) compares values, so ``$18.00`` matches ``18``.
  ``rule=last_integer`` is the rule RouteLLM's GSM8K labels were made with (commas dropped,
  the last run of digits compared as an integer), kept to reproduce those labels exactly.
- ``choice``: the multiple-choice letter the answer commits to equals the reference letter.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from typing import Any

from parity.errors import InputError
from parity.evaluation.judges.base import JudgeContext, ScoreJudge, judge_name
from parity.evaluation.records import Answer, Item

__all__ = [
    "ChoiceJudge",
    "ExactJudge",
    "NormalisedJudge",
    "NumericJudge",
    "RegexJudge",
    "extract_choice",
    "extract_number",
    "flag",
    "last_integer",
    "normalise",
]

_NUMBER = re.compile(r"-?\$?\d[\d,]*(?:\.\d+)?")
_DIGITS = re.compile(r"\d+")
_BOXED = re.compile(r"\\boxed\{([^{}]*)\}")
_ANSWER_IS = re.compile(r"answer\s*(?:is|:)\s*:?\s*(-?\$?\d[\d,]*(?:\.\d+)?)", re.IGNORECASE)
_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCT = str.maketrans("", "", string.punctuation)
_CHOICE_PATTERNS = (
    re.compile(r"answer\s*(?:is|:)\s*:?\s*\(?([A-J])\b\)?", re.IGNORECASE),
    re.compile(r"\\boxed\{\s*\(?([A-J])\)?\s*\}"),
    re.compile(r"^\s*\(?([A-J])[\).:]?(?:\s|$)"),
    re.compile(r"\(([A-J])\)"),
)


def flag(options: Mapping[str, Any], key: str, default: bool = False) -> bool:
    """A yes/no judge option given as a bool or as text."""
    value = options.get(key, default)
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise InputError(f"judge option {key} must be true or false, got {value!r}")


def normalise(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces (SQuAD-style)."""
    lowered = text.lower().translate(_PUNCT)
    return " ".join(_ARTICLES.sub(" ", lowered).split())


def _to_float(token: str) -> float | None:
    try:
        value = float(token.replace(",", "").replace("$", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def extract_number(text: str) -> float | None:
    """The final answer as a number: after '####', in \\boxed{}, after 'answer is', else last."""
    if "####" in text:
        found = _NUMBER.findall(text.rsplit("####", 1)[1])
        if found:
            return _to_float(found[0])
    boxed = _BOXED.findall(text)
    if boxed:
        found = _NUMBER.findall(boxed[-1])
        if found:
            return _to_float(found[-1])
    stated = _ANSWER_IS.findall(text)
    if stated:
        return _to_float(stated[-1])
    found = _NUMBER.findall(text)
    return _to_float(found[-1]) if found else None


def last_integer(text: str) -> int | None:
    """The last run of digits once commas are dropped ('7.00' gives 0, '-15' gives 15)."""
    found = _DIGITS.findall(text.replace(",", ""))
    return int(found[-1]) if found else None


def extract_choice(text: str) -> str | None:
    """The option letter an answer commits to, if it clearly commits to one."""
    for pattern in _CHOICE_PATTERNS:
        found = pattern.findall(text)
        if found:
            return str(found[-1]).upper()
    return None


def _reference(item: Item) -> str | None:
    return item.reference if item.reference not in (None, "") else None


class ExactJudge(ScoreJudge):
    """1 when the answer is exactly the reference (surrounding whitespace ignored)."""

    def __init__(self, options: dict[str, Any], context: JudgeContext):
        self.name = judge_name("exact", options)

    def score(self, item: Item, answer: Answer) -> tuple[float, str] | None:
        ref = _reference(item)
        if ref is None:
            return None
        same = answer.text.strip() == ref.strip()
        return (1.0, "exact match") if same else (0.0, "differs from the reference")


class NormalisedJudge(ScoreJudge):
    """1 when answer and reference match after normalisation (or contain it, if asked)."""

    def __init__(self, options: dict[str, Any], context: JudgeContext):
        self.name = judge_name("normalised", options)
        self.contains = flag(options, "contains")

    def score(self, item: Item, answer: Answer) -> tuple[float, str] | None:
        ref = _reference(item)
        if ref is None:
            return None
        want, got = normalise(ref), normalise(answer.text)
        hit = want in got if self.contains else want == got
        return (1.0, "matches") if hit else (0.0, f"expected '{want[:80]}'")


class RegexJudge(ScoreJudge):
    """1 when the pattern is found in the answer."""

    def __init__(self, options: dict[str, Any], context: JudgeContext):
        self.name = judge_name("regex", options)
        self.flags = re.IGNORECASE if flag(options, "ignore_case") else 0
        pattern = options.get("pattern")
        self.pattern = self._compile(str(pattern)) if pattern else None

    def _compile(self, pattern: str) -> re.Pattern[str]:
        try:
            return re.compile(pattern, self.flags)
        except re.error as exc:
            raise InputError(f"regex judge: bad pattern {pattern!r}: {exc}") from exc

    def score(self, item: Item, answer: Answer) -> tuple[float, str] | None:
        pattern = self.pattern
        if pattern is None:
            ref = _reference(item)
            if ref is None:
                return None
            pattern = self._compile(ref)
        hit = pattern.search(answer.text) is not None
        return (1.0, "pattern found") if hit else (0.0, f"no match for /{pattern.pattern}/")


class NumericJudge(ScoreJudge):
    """1 when the answer's final number equals the reference's final number."""

    RULES = ("final", "last_integer")

    def __init__(self, options: dict[str, Any], context: JudgeContext):
        self.name = judge_name("numeric", options)
        self.rule = str(options.get("rule", "final"))
        if self.rule not in self.RULES:
            raise InputError(f"numeric judge: rule must be one of {self.RULES}, got {self.rule}")
        self.tolerance = float(options.get("tolerance", 1e-6))

    def score(self, item: Item, answer: Answer) -> tuple[float, str] | None:
        ref = _reference(item)
        if ref is None:
            return None
        if self.rule == "last_integer":
            want_int, got_int = last_integer(ref), last_integer(answer.text)
            if want_int is None:
                return None
            return (1.0 if got_int == want_int else 0.0), f"got {got_int}, want {want_int}"
        want, got = extract_number(ref), extract_number(answer.text)
        if want is None:
            return None
        if got is None:
            return 0.0, "no number in the answer"
        close = math.isclose(got, want, rel_tol=self.tolerance, abs_tol=self.tolerance)
        return (1.0 if close else 0.0), f"got {got:g}, want {want:g}"


class ChoiceJudge(ScoreJudge):
    """1 when the answer commits to the reference's option letter."""

    def __init__(self, options: dict[str, Any], context: JudgeContext):
        self.name = judge_name("choice", options)

    def score(self, item: Item, answer: Answer) -> tuple[float, str] | None:
        ref = _reference(item)
        if ref is None:
            return None
        want = extract_choice(ref) or ref.strip()[:1].upper()
        got = extract_choice(answer.text)
        if got is None:
            return 0.0, "no option letter in the answer"
        return (1.0 if got == want else 0.0), f"chose {got}, want {want}"
