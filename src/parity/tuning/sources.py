"""Where examples come from: the ledger (one task, one teacher), a gap-test run, or a JSONL file.

Each source returns its examples and a count of what it left out, by reason; the dataset
builder adds its own exclusions (privacy, duplicates) to the same tally.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import orjson

from parity.errors import ConfigError
from parity.evaluation.records import TIE, message_text
from parity.evaluation.rundir import RunDir
from parity.store.base import Feedback, Ledger, LedgerRow, RowFilter
from parity.tuning.examples import ROLES, Example

__all__ = ["BAD_SCORE", "from_gaptest", "from_ledger", "judged_bad", "validators_failed"]

BAD_SCORE = 0.5
"""Feedback scores below this mark an answer bad."""

_ALL_ROWS = 10_000_000


def judged_bad(newest: Feedback) -> bool:
    """True when the newest feedback says the answer was wrong."""
    return newest.good is False or (newest.score is not None and newest.score < BAD_SCORE)


def validators_failed(row: LedgerRow, model: str) -> bool:
    """True when a route validator failed on ``model``'s answer in this request."""
    for run in (row.trace or {}).get("validations", []):
        if run.get("model") == model and any(c.get("failed") for c in run.get("checks", [])):
            return True
    return False


def _chat(body: bytes) -> list[dict[str, str]] | None:
    """The text conversation of a stored request body, or None when it is not one."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    messages = data.get("messages") if isinstance(data, dict) else None
    if not isinstance(messages, list) or not messages or data.get("tools"):
        return None
    out: list[dict[str, str]] = []
    for message in messages:
        role = message.get("role") if isinstance(message, dict) else None
        if role not in ROLES or message.get("tool_calls"):
            return None
        out.append({"role": str(role), "content": message_text(message)})
    return out if out[-1]["role"] == "user" else None


def _answer(row: LedgerRow, notes: list[Feedback]) -> tuple[str, bool] | str:
    """(answer, corrected by feedback), or why the row is left out."""
    newest = notes[0] if notes else None
    if newest is not None and newest.correction is not None:
        return newest.correction, True
    if newest is not None and judged_bad(newest):
        return "marked bad by feedback"
    if validators_failed(row, row.model_answered or ""):
        return "failed the route's validators"
    if not row.response_text or not row.response_text.strip():
        return "no stored answer"
    return row.response_text, False


def _example(row: LedgerRow, notes: list[Feedback], why: Counter[str]) -> Example | None:
    messages = _chat(row.request_body) if row.request_body else None
    found = _answer(row, notes) if messages is not None else ""
    if row.status != 200:
        why["request failed"] += 1
    elif not row.request_body:
        why["no stored prompt"] += 1
    elif messages is None:
        why["not a text chat (tools, images or no user turn)"] += 1
    elif isinstance(found, str):
        why[found] += 1
    else:
        answer, corrected = found
        return Example(
            [*messages, {"role": "assistant", "content": answer}],
            source="ledger",
            origin=row.request_id,
            corrected=corrected,
            data_classes=list(row.data_classes),
        )
    return None


def from_ledger(
    ledger: Ledger, *, task: str, teacher: str, since: float | None = None
) -> tuple[list[Example], Counter[str], int]:
    """The teacher's answers to one task, with feedback applied; (examples, excluded, rows read).

    A feedback correction replaces the answer (even one marked bad); an answer marked bad
    (``good: false`` or a score under 0.5) without one is left out, as is one a route validator
    failed. Requests the teacher did not answer are counted, not read.
    """
    rows = ledger.rows(RowFilter(task=task, since=since, limit=_ALL_ROWS))
    why: Counter[str] = Counter()
    mine = [r for r in rows if r.model_answered == teacher]
    why["answered by another model"] += len(rows) - len(mine)
    notes = ledger.feedback([r.request_id for r in mine]) if mine else {}
    examples = [e for r in mine if (e := _example(r, notes.get(r.request_id, []), why)) is not None]
    return examples, +why, len(rows)


def _scores(verdicts: list[Any]) -> dict[str, dict[str, list[float]]]:
    by_item: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for v in verdicts:
        if v.score is not None and v.model is not None:
            by_item[v.item][v.model].append(float(v.score))
        elif v.pair is not None and v.winner is not None:
            for model in v.pair:
                by_item[v.item][model].append(0.5 if v.winner == TIE else float(v.winner == model))
    return by_item


def from_gaptest(path: Path) -> tuple[list[Example], Counter[str], int]:
    """Each item's winning answer in a judged gap-test run: (examples, excluded, items read).

    The winner is the model with the best mean verdict on the item (scores, and pairwise wins
    as 1/0.5/0); a tie for best, a best score of 0, or a failed answer leaves the item out.
    """
    run = RunDir(path).require()
    items, answers, verdicts = run.items(), run.answers(), run.verdicts()
    if not verdicts:
        raise ConfigError(f"{path} has no verdicts yet: run 'parity gaptest score {path}' first")
    scores = _scores(verdicts)
    why: Counter[str] = Counter()
    examples: list[Example] = []
    for item in items:
        by_model = {m: sum(s) / len(s) for m, s in scores.get(item.id, {}).items()}
        best = max(by_model.values(), default=0.0)
        winners = [m for m, s in by_model.items() if s == best]
        if not by_model or best <= 0:
            why["no winning answer"] += 1
            continue
        if len(winners) > 1:
            why["tie between models"] += 1
            continue
        answer = answers.get((item.id, winners[0]))
        messages = _chat(orjson.dumps({"messages": item.messages}))
        if answer is None or not answer.ok or not answer.text.strip():
            why["winner has no answer"] += 1
        elif messages is None:
            why["not a text chat (tools, images or no user turn)"] += 1
        else:
            examples.append(
                Example(
                    [*messages, {"role": "assistant", "content": answer.text}],
                    source="gaptest",
                    origin=f"{item.id} ({winners[0]})",
                    data_classes=list(item.data_classes),
                )
            )
    return examples, +why, len(items)
