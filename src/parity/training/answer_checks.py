"""Cheap checks on a model's answer that hint it is wrong, for the cascade scorer.

FrugalGPT's scorer reads (question, answer) with a small language model. These checks are the
no-torch part of that idea: an answer whose own arithmetic does not add up, that never states a
final answer, that ignores numbers given in the question or that hedges is more often wrong.
They are plain regular expressions and a safe arithmetic evaluator (no ``eval``), so they cost
well under a millisecond per answer.
"""

from __future__ import annotations

import ast
import math
import operator
import re
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

__all__ = ["CHECK_NAMES", "answer_checks", "check_matrix", "safe_arithmetic"]

_NUMBER = r"-?\d[\d,]*(?:\.\d+)?"
_CALCULATOR = re.compile(r"<<([^<>=]+)=([^<>]+)>>")
_EQUATION = re.compile(
    r"(\d[\d,]*(?:\.\d+)?(?:\s*[-+*/x×÷]\s*\d[\d,]*(?:\.\d+)?)+)\s*=\s*\$?\s*(" + _NUMBER + ")"
)
_FINAL = re.compile(
    r"(?:####|answer is|answer:|\\boxed\{)\s*\$?\s*(" + _NUMBER + ")", re.IGNORECASE
)
_HEDGES = ("however", "wait", "actually", "assum", "mistake", "incorrect", "not possible")
_REFUSALS = ("i'm sorry", "i cannot", "i can't", "as an ai", "unable to")
_OPERATORS: dict[type, Callable[..., float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}

CHECK_NAMES = (
    "calculations",
    "wrong_calculations",
    "any_wrong_calculation",
    "has_final_answer",
    "final_not_integer",
    "final_negative",
    "final_huge",
    "log_answer_chars",
    "log_prompt_chars",
    "answer_lines",
    "prompt_numbers_used",
    "prompt_numbers",
    "hedges",
    "refusal",
)


def safe_arithmetic(expression: str) -> float | None:
    """The value of a plain arithmetic expression (+ - * / and parentheses), else None."""
    cleaned = expression.replace(",", "").replace("$", "").replace("%", "")
    cleaned = cleaned.replace("×", "*").replace("÷", "/").replace("x", "*").strip()
    try:
        tree = ast.parse(cleaned, mode="eval")
        value = _evaluate(tree.body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None
    return value if math.isfinite(value) else None


def answer_checks(prompt: str, answer: str) -> list[float]:
    """The checks for one (prompt, answer) pair, in ``CHECK_NAMES`` order."""
    calculations = _CALCULATOR.findall(answer) + _EQUATION.findall(_CALCULATOR.sub("", answer))
    verdicts = [v for v in (_is_wrong(e, r) for e, r in calculations) if v is not None]
    wrong = sum(verdicts)
    final = _final_answer(answer)
    asked = {n.replace(",", "") for n in re.findall(_NUMBER, prompt)}
    said = {n.replace(",", "") for n in re.findall(_NUMBER, answer)}
    lower = answer.lower()
    return [
        float(len(calculations)),
        float(wrong),
        float(wrong > 0),
        float(final is not None),
        float(final is not None and final != round(final)),
        float(final is not None and final < 0),
        float(final is not None and abs(final) > 1e6),
        math.log1p(len(answer)),
        math.log1p(len(prompt)),
        float(answer.count("\n")),
        len(asked & said) / max(1, len(asked)),
        float(len(asked)),
        float(sum(lower.count(h) for h in _HEDGES)),
        float(any(r in lower for r in _REFUSALS)),
    ]


def check_matrix(prompts: list[str], answers: list[str]) -> npt.NDArray[np.float64]:
    """The checks for many pairs, one row each."""
    rows = [answer_checks(p, a) for p, a in zip(prompts, answers, strict=True)]
    return np.array(rows, dtype=np.float64).reshape(len(rows), len(CHECK_NAMES))


def _evaluate(node: ast.expr) -> float:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float):
        return float(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        return float(_OPERATORS[type(node.op)](left, right))
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPERATORS:
        return float(_OPERATORS[type(node.op)](_evaluate(node.operand)))
    raise ValueError("not plain arithmetic")


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", "").replace("$", "").strip().rstrip("."))
    except ValueError:
        return None


def _is_wrong(expression: str, result: str) -> bool | None:
    expected, stated = safe_arithmetic(expression), _number(result)
    if expected is None or stated is None:
        return None
    # Rounded money and rates are fine: accept 1% slack or a match to two decimals.
    close = abs(expected - stated) <= max(1e-6, 0.01 * abs(expected))
    return not (close or abs(round(expected, 2) - stated) < 1e-6)


def _final_answer(answer: str) -> float | None:
    matches = _FINAL.findall(answer)
    return _number(matches[-1]) if matches else None
