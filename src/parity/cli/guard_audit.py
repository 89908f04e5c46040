"""``parity audit --guards``: the safety guards' decisions from the ledger (migration 009)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.console import Console

from parity.cli.output import table
from parity.store.guard_log import GuardLog

__all__ = ["guard_audit", "render_guard_audit"]

_HEADERS = [
    "time (UTC)",
    "request",
    "route",
    "guard",
    "verdict",
    "categories",
    "action",
    "guard time / calls",
    "error",
]


def guard_audit(
    url: str, since: float | None, limit: int, include_safe: bool
) -> list[dict[str, Any]]:
    """Guard decisions newest first, as plain dicts (the --json output)."""
    log = GuardLog(url)
    try:
        found = log.recent(since=since, include_safe=include_safe, limit=limit)
    finally:
        log.close()
    return [
        {
            "request_id": d.request_id,
            "ts": d.ts,
            "route": d.route,
            "guard": d.guard,
            "stage": d.stage,
            "verdict": d.verdict,
            "categories": d.categories,
            "action": d.action,
            "target": d.target,
            "latency_ms": d.latency_ms,
            "checks": d.checks,
            "error": d.error,
        }
        for d in found
    ]


def render_guard_audit(console: Console, data: list[dict[str, Any]]) -> None:
    """The decisions as a table."""
    if not data:
        console.print("No guard decisions to show.")
        return
    rows = []
    for d in data:
        when = datetime.fromtimestamp(d["ts"], UTC).strftime("%Y-%m-%d %H:%M:%S")
        action = d["action"] + (f" -> {d['target']}" if d["target"] else "")
        rows.append(
            [
                when,
                d["request_id"],
                d["route"] or "",
                f"{d['guard']} ({d['stage']})",
                d["verdict"],
                ", ".join(d["categories"]),
                action,
                f"{d['latency_ms']:.0f} ms / {d['checks']}",
                d["error"] or "",
            ]
        )
    console.print(
        table(
            f"{len(data)} guard decisions",
            _HEADERS,
            rows,
        )
    )
