"""Blind human judging: the queue of A/B comparisons and the verdict file both faces write.

RUN/human.jsonl holds one JSON object per decision (the web dashboard writes the same lines)::

    {"v": 1, "item": "q17", "judge": "human:alice", "shown": ["model-x", "model-y"],
     "choice": "A", "winner": "model-x", "ui": "terminal", "ts": 1767225600.0}

``shown`` lists the models in the order their answers were shown (A first, B second);
``choice`` is what was pressed: ``A``, ``B``, ``tie`` or ``skip``; ``winner`` is the model id
chosen, ``"tie"``, or null for a skip. When one judge decides the same comparison twice, the
last line wins. The order shown is drawn from a seed made of the judge, the item and the pair,
so a resumed session shows the same sides, and nothing in the file is shown while judging.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from parity.evaluation.records import TIE, Answer, Item, Verdict
from parity.evaluation.rundir import JsonlWriter, RunDir, read_jsonl

__all__ = [
    "CHOICES",
    "Comparison",
    "HumanStore",
    "answer_pair",
    "human_verdicts",
    "pending_comparisons",
]

CHOICES = ("A", "B", "tie", "skip")


@dataclass(frozen=True, slots=True)
class Comparison:
    """One blind A/B question: an item and two models, in the order they are shown."""

    item: Item
    shown: tuple[str, str]

    @property
    def key(self) -> tuple[str, frozenset[str]]:
        """Identifies the comparison whatever the order shown."""
        return self.item.id, frozenset(self.shown)


def _seed(*parts: str) -> int:
    return int.from_bytes(hashlib.sha256("\x1f".join(parts).encode()).digest()[:8], "big")


def _decided(run: RunDir, judge: str) -> dict[tuple[str, frozenset[str]], str]:
    """The latest choice of ``judge`` for each comparison it has answered."""
    seen: dict[tuple[str, frozenset[str]], str] = {}
    for line in read_jsonl(run.human_path):
        if line.get("judge") == judge and isinstance(line.get("shown"), list):
            seen[(str(line["item"]), frozenset(line["shown"]))] = str(line.get("choice"))
    return seen


def pending_comparisons(
    run: RunDir,
    judge: str,
    models: list[str],
    *,
    include_skipped: bool = False,
) -> tuple[list[Comparison], int]:
    """Comparisons ``judge`` still has to make (shuffled, stable across sessions), and done."""
    answers = run.answers()
    decided = _decided(run, judge)
    queue: list[Comparison] = []
    done = 0
    for item in run.items():
        for a, b in itertools.combinations(models, 2):
            if not all((item.id, m) in answers and answers[(item.id, m)].ok for m in (a, b)):
                continue
            choice = decided.get((item.id, frozenset((a, b))))
            if choice is not None and (choice != "skip" or not include_skipped):
                done += 1
                continue
            rng = random.Random(_seed(judge, item.id, *sorted((a, b))))
            shown = (a, b) if rng.random() < 0.5 else (b, a)
            queue.append(Comparison(item, shown))
    random.Random(_seed(judge, "order")).shuffle(queue)
    return queue, done


class HumanStore:
    """Appends blind verdicts to RUN/human.jsonl."""

    def __init__(self, run: RunDir, judge: str, ui: str = "terminal"):
        self.judge = judge
        self.ui = ui
        self._writer = JsonlWriter(run.human_path)

    def record(self, comparison: Comparison, choice: str) -> None:
        """Store one decision (``A``, ``B``, ``tie`` or ``skip``)."""
        if choice not in CHOICES:
            raise ValueError(f"choice must be one of {CHOICES}")
        winner: str | None = {"A": comparison.shown[0], "B": comparison.shown[1], "tie": TIE}.get(
            choice
        )
        self._writer.write(
            {
                "v": 1,
                "item": comparison.item.id,
                "judge": self.judge,
                "shown": list(comparison.shown),
                "choice": choice,
                "winner": winner,
                "ui": self.ui,
                "ts": time.time(),
            }
        )

    def close(self) -> None:
        """Close the file."""
        self._writer.close()


def human_verdicts(run: RunDir) -> list[Verdict]:
    """Every human judge's latest decision per comparison, as pair verdicts (skips left out)."""
    latest: dict[tuple[str, str, frozenset[str]], dict[str, Any]] = {}
    for line in read_jsonl(run.human_path):
        shown = line.get("shown")
        if not isinstance(shown, list) or len(shown) != 2:
            continue
        latest[(str(line.get("judge")), str(line["item"]), frozenset(shown))] = line
    verdicts: list[Verdict] = []
    for (judge, item, _), line in latest.items():
        winner = line.get("winner")
        if winner is None:
            continue
        verdicts.append(
            Verdict(
                item=item,
                judge=judge,
                pair=sorted(line["shown"]),
                winner=str(winner),
                detail=f"pressed {line.get('choice')} in the {line.get('ui', 'terminal')}",
                meta={"shown": line["shown"]},
            )
        )
    return verdicts


def answer_pair(answers: Mapping[tuple[str, str], Answer], comparison: Comparison) -> list[str]:
    """The two answer texts in the order shown."""
    return [answers[(comparison.item.id, m)].text for m in comparison.shown]
