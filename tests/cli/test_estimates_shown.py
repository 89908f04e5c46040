"""Usage Parity estimated is marked as an estimate wherever the CLI shows it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from parity.store.factory import open_ledger
from tests.cli.test_core_commands import parity
from tests.store.test_ledger import make_row


@pytest.fixture
def ledger(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store = open_ledger(url)
    store.record(
        [
            make_row(1, model_answered="gpt-4o", cost_usd=0.25),
            make_row(2, model_answered="local/smollm2", usage_estimated=True, input_tokens=8),
        ]
    )
    store.close()
    return url


def _line(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


def test_logs_marks_estimated_tokens_and_cost_and_says_why(ledger: str) -> None:
    done = parity("logs", "--ledger", ledger)
    assert done.returncode == 0, done.stderr
    assert "8/5~" in _line(done.stdout, "req_2") and "0.000000~" in _line(done.stdout, "req_2")
    assert "~" not in _line(done.stdout, "req_1")
    assert "~ estimated: the upstream reported no token usage" in done.stdout
    rows = json.loads(parity("logs", "--ledger", ledger, "--json").stdout)
    assert {r["request_id"]: r["usage_estimated"] for r in rows} == {"req_1": False, "req_2": True}


def test_usage_marks_the_days_and_models_with_estimates(ledger: str) -> None:
    done = parity("usage", "--ledger", ledger, "--since", "2025-01-01")
    assert done.returncode == 0, done.stderr
    assert "~" in _line(done.stdout, "local/smollm2") and "~" not in _line(done.stdout, "gpt-4o")
    assert "~ estimated:" in done.stdout
    rows = json.loads(parity("usage", "--ledger", ledger, "--since", "2025-01-01", "--json").stdout)
    assert {r["model"]: r["estimated"] for r in rows} == {"gpt-4o": 0, "local/smollm2": 1}
    both = parity("usage", "--ledger", ledger, "--since", "2025-01-01", "--counterfactual")
    assert "~ estimated:" in both.stdout, both.stdout + both.stderr


def test_without_estimates_nothing_is_marked(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    store = open_ledger(url)
    store.record([make_row(1)])
    store.close()
    done = parity("logs", "--ledger", url)
    assert "~" not in done.stdout and "estimated" not in done.stdout
