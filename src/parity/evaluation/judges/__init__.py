"""Judges that score answers: reference, validity, code, LLM and (blind) human."""

from __future__ import annotations

from parity.evaluation.judges.base import JudgeFactory

__all__ = ["registry"]


def registry() -> dict[str, JudgeFactory]:
    """The built-in automatic judges by name, registered the way a plugin would add one."""
    from parity.evaluation.judges.code import CodeJudge
    from parity.evaluation.judges.llm import PairwiseJudge, SingleJudge
    from parity.evaluation.judges.reference import (
        ChoiceJudge,
        ExactJudge,
        NormalisedJudge,
        NumericJudge,
        RegexJudge,
    )
    from parity.evaluation.judges.validity import JsonJudge, ToolCallJudge

    return {
        "exact": ExactJudge,
        "normalised": NormalisedJudge,
        "regex": RegexJudge,
        "numeric": NumericJudge,
        "choice": ChoiceJudge,
        "code": CodeJudge,
        "json": JsonJudge,
        "tool-calls": ToolCallJudge,
        "llm-pairwise": PairwiseJudge,
        "llm-single": SingleJudge,
    }
