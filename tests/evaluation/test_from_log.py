"""Prompts sampled from the gateway's ledger: filters, sampling, and data classes respected."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from parity.store.base import LedgerRow
from parity.store.factory import open_ledger
from tests.evaluation.helpers import received_prompts, write_config
from tests.fakes.deployments import FAKE_KEY, FAKE_KEY_ENV
from tests.fakes.fixtures import VendorFake


def _row(
    n: int,
    prompt: str | None,
    *,
    model: str = "gpt-4o",
    classes: list[str] | None = None,
    age_s: float = 60,
) -> LedgerRow:
    body = None
    if prompt is not None:
        body = json.dumps({"model": model, "messages": [{"role": "user", "content": prompt}]})
    return LedgerRow(
        request_id=f"req-{n}",
        ts=time.time() - age_s,
        model_requested=model,
        status=200,
        total_ms=10.0,
        model_answered=model,
        data_classes=classes or [],
        request_body=body.encode() if body else None,
    )


@pytest.fixture
def ledger_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = open_ledger(url)
    ledger.record(
        [
            _row(1, "Translate 'cat' to French"),
            _row(2, "Translate 'cat' to French"),  # the same prompt again: counted once
            _row(3, "Email jane@example.com the invoice", classes=["email_address"]),
            _row(4, None),  # stored without a body
            _row(5, "Old question", age_s=10 * 86400),
            _row(6, "Another app prompt", model="local/smollm2"),
        ]
    )
    ledger.close()
    return url


def _config(tmp_path: Path, vendor: VendorFake) -> Path:
    def model(name: str, residency: str) -> dict[str, Any]:
        return {
            "id": name,
            "provider": "openai",
            "base_url": vendor.openai_url,
            "api_key_env": FAKE_KEY_ENV,
            "upstream_model": f"{name}-up",
            "residency": residency,
        }

    return write_config(
        tmp_path / "parity.yaml", [model("open", "on_prem"), model("closed", "vendor")]
    )


def test_from_log_respects_data_classes(
    vendor: VendorFake, ledger_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    result = CliRunner().invoke(
        app,
        [
            "gaptest",
            "run",
            "--from-log",
            "--ledger",
            ledger_url,
            "--since",
            "7d",
            "--models",
            "open,closed",
            "--config",
            str(_config(tmp_path, vendor)),
            "--out",
            str(out),
            "--json",
        ],
        env={FAKE_KEY_ENV: FAKE_KEY},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    items = [json.loads(x) for x in (out / "items.jsonl").read_text().splitlines()]
    prompts = sorted(i["messages"][0]["content"] for i in items)
    assert prompts == [
        "Another app prompt",
        "Email jane@example.com the invoice",
        "Translate 'cat' to French",
    ]
    sensitive = next(i for i in items if i.get("data_classes"))
    assert sensitive["data_classes"] == ["email_address"]
    assert sensitive["id"] == "req-3"
    received = vendor.received()
    assert "Email jane@example.com the invoice" in received_prompts(received, "open-up")
    assert "Email jane@example.com the invoice" not in received_prompts(received, "closed-up")
    assert json.loads(result.stdout)["skipped_sensitive"] == 1


def test_from_log_filters_and_samples(vendor: VendorFake, ledger_url: str, tmp_path: Path) -> None:
    base = [
        "gaptest",
        "run",
        "--from-log",
        "--ledger",
        ledger_url,
        "--models",
        "open,closed",
        "--config",
        str(_config(tmp_path, vendor)),
    ]
    env = {FAKE_KEY_ENV: FAKE_KEY}
    one = CliRunner().invoke(
        app, [*base, "--log-model", "local/smollm2", "--out", str(tmp_path / "one")], env=env
    )
    assert one.exit_code == 0, one.output
    assert len((tmp_path / "one" / "items.jsonl").read_text().splitlines()) == 1
    picks = []
    for n in (1, 2):
        out = tmp_path / f"sample{n}"
        res = CliRunner().invoke(
            app, [*base, "--sample", "2", "--seed", "4", "--out", str(out)], env=env
        )
        assert res.exit_code == 0, res.output
        picks.append((out / "items.jsonl").read_text())
    assert picks[0] == picks[1] and len(picks[0].splitlines()) == 2
    none = CliRunner().invoke(app, [*base, "--since", "1s", "--out", str(tmp_path / "x")], env=env)
    assert none.exit_code != 0 and "no stored prompts" in str(none.exception)
