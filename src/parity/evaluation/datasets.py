"""Load the prompts of a gap test: JSONL or CSV files, recorded runs, or the gateway's ledger.

A prompt row may give ``prompt`` (or ``question``/``input``) as text, or ``messages`` as chat
messages; ``reference`` (or ``answer``/``expected``/``ideal``), ``category``, ``id`` and
``data_classes`` are optional. ``schema``, ``tests``, ``tools`` and ``response_format`` go to
the judges (and tools/response_format to the models too). A CSV that has ``<model>_response``
columns is a recorded run: those answers are used as they are, and a ``<model>`` column of
True/False is kept as the file's own correctness verdict.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from parity.errors import InputError
from parity.evaluation.records import Item
from parity.evaluation.rundir import read_jsonl
from parity.store.base import Ledger, LedgerRow, RowFilter

__all__ = ["Dataset", "load_from_ledger", "load_prompts", "parse_row"]

PROMPT_FIELDS = ("prompt", "question", "input")
REFERENCE_FIELDS = ("reference", "answer", "expected", "ideal")
META_FIELDS = ("schema", "tests", "tools", "response_format", "choices")
RESPONSE_SUFFIX = "_response"


@dataclass(slots=True)
class Dataset:
    """Items to run, plus any answers (and correctness labels) the file already holds."""

    items: list[Item]
    source: str
    recorded: dict[str, dict[str, str]] = field(default_factory=dict)
    recorded_correct: dict[str, dict[str, bool]] = field(default_factory=dict)
    skipped: int = 0
    bad_lines: list[str] = field(default_factory=list)
    """Malformed lines left out under ``--skip-bad-lines``, each as 'FILE:LINE: reason'."""

    @property
    def recorded_models(self) -> list[str]:
        """Models whose answers the file holds."""
        return list(self.recorded)


def _messages(row: dict[str, Any], where: str) -> list[dict[str, Any]]:
    raw = row.get("messages")
    if isinstance(raw, str) and raw.strip():
        try:
            raw = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise InputError(f"{where}: 'messages' is not JSON: {exc}") from exc
    if isinstance(raw, list) and raw:
        if not all(isinstance(m, dict) and "role" in m for m in raw):
            raise InputError(f"{where}: every message needs a 'role'")
        return [dict(m) for m in raw]
    turns = row.get("turns")
    text = next((row[k] for k in PROMPT_FIELDS if isinstance(row.get(k), str) and row[k]), None)
    if text is None and isinstance(turns, list) and turns:
        text = str(turns[0])  # only the first turn: Parity does not play multi-turn dialogues
    if text is None:
        raise InputError(f"{where}: no prompt (give 'prompt', 'question' or 'messages')")
    messages: list[dict[str, Any]] = []
    if isinstance(row.get("system"), str) and row["system"]:
        messages.append({"role": "system", "content": row["system"]})
    messages.append({"role": "user", "content": text})
    return messages


def _data_classes(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value if v]
    if isinstance(value, str) and value.strip():
        return [part.strip() for part in value.split(",") if part.strip()]
    return []


def _meta(row: dict[str, Any], where: str) -> dict[str, Any]:
    meta: dict[str, Any] = {}
    for name in META_FIELDS:
        value = row.get(name)
        if value in (None, ""):
            continue
        if isinstance(value, str) and name in ("schema", "tools", "response_format"):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError as exc:
                raise InputError(f"{where}: '{name}' is not JSON: {exc}") from exc
        meta[name] = value
    return meta


def parse_row(row: dict[str, Any], number: int, where: str, line: int | None = None) -> Item:
    """One prompt row (from JSONL or CSV) as an Item; ``number`` gives the default id.

    Errors name ``where:line`` (``line`` defaults to ``number``).
    """
    at = f"{where}:{number if line is None else line}"
    reference = next((row[k] for k in REFERENCE_FIELDS if row.get(k) not in (None, "")), None)
    item_id = row.get("id", row.get("question_id"))
    category = row.get("category")
    return Item(
        id=str(item_id) if item_id not in (None, "") else str(number),
        messages=_messages(row, at),
        reference=None if reference is None else str(reference),
        category=str(category) if category not in (None, "") else None,
        data_classes=_data_classes(row.get("data_classes")),
        meta=_meta(row, at),
    )


def _bool(value: str) -> bool | None:
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    return None


def _keep_or_raise(data: Dataset, exc: InputError, skip_bad: bool) -> None:
    """A bad input row: raise it, or (``--skip-bad-lines``) count it and go on."""
    if not skip_bad:
        raise exc
    data.bad_lines.append(str(exc))


def _load_csv(path: Path, skip_bad: bool) -> Dataset:
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle)
        columns = list(reader.fieldnames or [])
        rows = [(reader.line_num, row) for row in reader]
    models = [c.removesuffix(RESPONSE_SUFFIX) for c in columns if c.endswith(RESPONSE_SUFFIX)]
    data = Dataset(items=[], source=str(path), recorded={m: {} for m in models})
    for number, (line, row) in enumerate(rows, 1):
        try:
            item = parse_row(dict(row), number, str(path), line)
        except InputError as exc:
            _keep_or_raise(data, exc, skip_bad)
            continue
        data.items.append(item)
        for model in models:
            data.recorded[model][item.id] = row.get(model + RESPONSE_SUFFIX) or ""
            flag = _bool(row.get(model) or "")
            if flag is not None:
                data.recorded_correct.setdefault(model, {})[item.id] = flag
    return data


def _attach_references(data: Dataset, references: Path) -> None:
    """Fill missing references from a JSONL file, joined on the prompt text."""
    by_prompt: dict[str, str] = {}
    for row in read_jsonl(references):
        text = next((row[k] for k in PROMPT_FIELDS if isinstance(row.get(k), str)), None)
        ref = next((row[k] for k in REFERENCE_FIELDS if row.get(k) not in (None, "")), None)
        if text is not None and ref is not None:
            by_prompt[text.strip()] = str(ref)
    missing = 0
    for item in data.items:
        if item.reference is None:
            item.reference = by_prompt.get(item.prompt.strip())
            missing += item.reference is None
    if missing:
        raise InputError(
            f"{missing} of {len(data.items)} prompts have no reference in {references}"
        )


def _check_ids(items: Iterable[Item], where: str) -> None:
    seen: set[str] = set()
    for item in items:
        if item.id in seen:
            raise InputError(f"duplicate prompt id '{item.id}'", path=where)
        seen.add(item.id)


def _load_jsonl(path: Path, skip_bad: bool) -> Dataset:
    """Every line is a prompt: a line that is not one is an error naming its line number.

    Unlike the run's own files (where a torn last line after a kill is expected), nothing in
    a prompts file is skipped silently: ``skip_bad`` skips bad lines and counts them.
    """
    data = Dataset(items=[], source=str(path))
    number = 0
    for line, raw in enumerate(path.read_bytes().splitlines(), 1):
        if not raw.strip():
            continue
        number += 1
        try:
            try:
                row = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise InputError(
                    f"not JSON: {exc.msg} at column {exc.colno}", path=str(path), line=line
                ) from exc
            if not isinstance(row, dict):
                raise InputError("not a JSON object", path=str(path), line=line)
            data.items.append(parse_row(row, number, str(path), line))
        except InputError as exc:
            _keep_or_raise(data, exc, skip_bad)
    return data


def load_prompts(
    path: Path, *, references: Path | None = None, skip_bad_lines: bool = False
) -> Dataset:
    """Prompts from a .jsonl or .csv file (a CSV may be a recorded run).

    A malformed line or row is an :class:`InputError` naming its line, unless
    ``skip_bad_lines``: then it is left out and listed in ``Dataset.bad_lines``.
    """
    if not path.is_file():
        raise InputError(f"no such prompts file: {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        data = _load_csv(path, skip_bad_lines)
    elif suffix in (".jsonl", ".ndjson"):
        data = _load_jsonl(path, skip_bad_lines)
    else:
        raise InputError(f"prompts must be .jsonl or .csv, got {path.name}")
    if not data.items:
        bad = f" ({len(data.bad_lines)} bad lines skipped)" if data.bad_lines else ""
        raise InputError(f"{path} holds no prompts{bad}")
    if references is not None:
        _attach_references(data, references)
    _check_ids(data.items, str(path))
    return data


def _item_from_row(row: LedgerRow) -> Item | None:
    if not row.request_body:
        return None
    try:
        body = orjson.loads(row.request_body)
    except orjson.JSONDecodeError:
        return None
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages:
        return None
    meta = {k: body[k] for k in ("tools", "response_format") if body.get(k)}
    meta["request_id"] = row.request_id
    if row.model_answered:
        meta["model_answered"] = row.model_answered
    return Item(
        id=row.request_id,
        messages=[m for m in messages if isinstance(m, dict)],
        category=row.route,
        data_classes=list(row.data_classes),
        meta=meta,
    )


def load_from_ledger(
    ledger: Ledger, where: RowFilter, *, sample: int | None = None, seed: int = 0
) -> Dataset:
    """Prompts the gateway served, read from the ledger's stored request bodies.

    Identical conversations count once. Rows stored without a body are skipped (and counted).
    ``sample`` picks that many at random (seeded) from what the filter matched.
    """
    rows = ledger.rows(where)
    items: list[Item] = []
    seen: set[bytes] = set()
    skipped = 0
    for row in rows:
        item = _item_from_row(row)
        if item is None:
            skipped += 1
            continue
        fingerprint = orjson.dumps(item.messages, option=orjson.OPT_SORT_KEYS)
        if fingerprint in seen:
            continue
        seen.add(fingerprint)
        items.append(item)
    if sample is not None and sample < len(items):
        items = random.Random(seed).sample(items, sample)
    if not items:
        raise InputError(
            f"the ledger {ledger.url} has no stored prompts matching the filter "
            f"({skipped} rows had no request body: set ledger.prompts: full or redacted)"
        )
    return Dataset(items=items, source=f"ledger {ledger.url}", skipped=skipped)
