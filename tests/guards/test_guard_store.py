"""Guard decisions are written with their request's row and read back by GuardLog (both ledgers)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from parity.store.base import GuardDecision, LedgerRow
from parity.store.factory import open_ledger
from parity.store.guard_log import GuardLog


def _row(request_id: str, *decisions: GuardDecision) -> LedgerRow:
    return LedgerRow(request_id, time.time(), "parity/auto", 200, 1.0, guards=list(decisions))


@pytest.fixture(params=["sqlite", "postgres"])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


def test_decisions_round_trip(ledger_url: str) -> None:
    ledger = open_ledger(ledger_url)
    now = time.time()
    blocked = GuardDecision("r1", now, "safety", "input", "unsafe", "block", ["S1"], "parity/auto")
    safe = GuardDecision("r2", now + 1, "safety", "output", "safe", "allow", latency_ms=3.5)
    failed = GuardDecision(
        "r3", now + 2, "safety", "input", "error", "fail_open", error="UpstreamTimeout: slow"
    )
    try:
        ledger.record([_row("r1", blocked), _row("r2", safe), _row("r3", failed), _row("r4")])
    finally:
        ledger.close()
    log = GuardLog(ledger_url)
    try:
        shown = log.recent(since=now - 1)
        everything = log.recent(since=now - 1, include_safe=True)
        counts = log.counts(since=now - 1)
    finally:
        log.close()
    assert [d.request_id for d in shown] == ["r3", "r1"]  # newest first, safe ones left out
    assert shown[1] == blocked
    assert {d.request_id for d in everything} == {"r1", "r2", "r3"}
    assert counts == {("input", "block"): 1, ("output", "allow"): 1, ("input", "fail_open"): 1}


def test_parity_audit_guards_lists_what_was_not_a_plain_pass(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = open_ledger(url)
    now = time.time()
    try:
        ledger.record(
            [
                _row("blocked", GuardDecision("blocked", now, "safety", "input", "unsafe",
                                              "block", ["S1"], "parity/auto")),
                _row("passed", GuardDecision("passed", now, "safety", "input", "safe", "allow")),
            ]
        )  # fmt: skip
    finally:
        ledger.close()
    listed = CliRunner().invoke(app, ["audit", "--guards", "--ledger", url, "--json"])
    assert listed.exit_code == 0, listed.output
    found = json.loads(listed.stdout)
    assert [(d["request_id"], d["action"], d["categories"]) for d in found] == [
        ("blocked", "block", ["S1"])
    ]
    everything = CliRunner().invoke(app, ["audit", "--guards", "--all", "--ledger", url, "--json"])
    assert {d["request_id"] for d in json.loads(everything.stdout)} == {"blocked", "passed"}
    table = CliRunner().invoke(app, ["audit", "--guards", "--ledger", url, "--fail-if-any"])
    assert table.exit_code == 1
    assert "blocked" in table.stdout and "S1" in table.stdout
