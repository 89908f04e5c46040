"""Helpers of the tune tests: ledger rows of the ticket task, the CLI, a config file."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson
import yaml

from parity.store.base import Feedback, LedgerRow
from parity.store.factory import open_ledger
from parity.tuning.ticket_example import TASK, generate, ticket_messages

__all__ = ["TEACHER", "cli", "ledger_counts", "teacher_row", "ticket_ledger", "write_config"]

TEACHER = "teacher"


def teacher_row(
    index: int,
    ticket: str,
    answer: str,
    *,
    model: str = TEACHER,
    status: int = 200,
    task: str = TASK,
    failed_validator: bool = False,
    body: bool = True,
) -> LedgerRow:
    """A ledger row as the gateway writes it for one ticket request answered by ``model``."""
    trace: dict[str, Any] = {"attempts": [{"model": model, "outcome": "ok"}]}
    if failed_validator:
        checks = [{"validator": "json", "failed": "not JSON"}]
        trace["validations"] = [{"model": model, "checks": checks}]
    request = {"model": "parity/auto", "messages": ticket_messages(ticket)}
    return LedgerRow(
        request_id=f"req_{index:05d}",
        ts=time.time() - 1000 + index,
        model_requested="parity/auto",
        status=status,
        total_ms=5.0,
        model_answered=model,
        task=task,
        trace=trace,
        request_body=orjson.dumps(request) if body else None,
        response_text=answer if status == 200 and body else None,
    )


def ticket_ledger(path: Path, count: int, *, seed: int = 0) -> str:
    """A SQLite ledger with ``count`` ticket requests answered by the teacher; its URL."""
    url = f"sqlite:///{path}"
    store = open_ledger(url)
    try:
        store.record([teacher_row(i, t, a) for i, (t, a) in enumerate(generate(count, seed=seed))])
    finally:
        store.close()
    return url


def add_feedback(url: str, request_id: str, **fields: Any) -> None:
    """Store feedback on one request, as POST /v1/feedback would."""
    store = open_ledger(url)
    try:
        store.add_feedback(
            Feedback(
                feedback_id=f"fb_{request_id}",
                request_id=request_id,
                ts=time.time(),
                source="test",
                **fields,
            )
        )
    finally:
        store.close()


def ledger_counts(url: str) -> tuple[int, int]:
    """(requests, feedback rows): what 'the ledger is untouched' compares."""
    store = open_ledger(url, migrate=False)
    try:
        ids = [r.request_id for r in store.rows(_all())]
        return store.count(), sum(len(v) for v in store.feedback(ids).values())
    finally:
        store.close()


def _all() -> Any:
    from parity.store.base import RowFilter

    return RowFilter(limit=10_000_000)


def write_config(folder: Path, ledger_url: str, **sections: Any) -> Path:
    """parity.yaml with a teacher deployment and the given sections."""
    config: dict[str, Any] = {
        "ledger": {"url": ledger_url, "prompts": "full"},
        "models": [
            {"id": TEACHER, "provider": "openai", "base_url": "http://127.0.0.1:9/v1"},
        ],
        **sections,
    }
    path = folder / "parity.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run the parity CLI as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "parity", *args],
        env={**os.environ, "COLUMNS": "160"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
