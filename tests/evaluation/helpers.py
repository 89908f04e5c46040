"""Shared set-up for gap-test tests: configs pointing at the fake vendor, prompt files."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import yaml

__all__ = ["csv_file", "prompts_file", "received_prompts", "write_config"]


def write_config(path: Path, models: list[dict[str, Any]], ledger: str | None = None) -> Path:
    """A parity.yaml with these deployments."""
    data: dict[str, Any] = {"models": models}
    if ledger is not None:
        data["ledger"] = {"url": ledger}
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def prompts_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    """A JSONL prompts file."""
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def csv_file(path: Path, rows: list[dict[str, Any]]) -> Path:
    """A CSV prompts file (a recorded run when rows carry ``<model>_response`` columns)."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def received_prompts(received: list[dict[str, Any]], upstream_model: str) -> list[str]:
    """The user prompts the fake vendor received for one upstream model name."""
    out: list[str] = []
    for entry in received:
        body = entry.get("body") or {}
        if body.get("model") == upstream_model:
            out.append(str(body["messages"][-1]["content"]))
    return out
