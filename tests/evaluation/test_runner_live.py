"""Live runs through the real providers against the wire-format fake vendor: retries, rate
limits, sensitive data, the answer cache, the cost cap, and resuming after a kill."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from tests.evaluation.helpers import prompts_file, received_prompts, write_config
from tests.fakes.deployments import FAKE_KEY, FAKE_KEY_ENV
from tests.fakes.fixtures import VendorFake

PARITY = Path(sys.executable).parent / "parity"


@pytest.fixture(autouse=True)
def _vendor_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FAKE_KEY_ENV, FAKE_KEY)


def _deployment(vendor: VendorFake, model_id: str, upstream: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "provider": "openai",
        "base_url": vendor.openai_url,
        "api_key_env": FAKE_KEY_ENV,
        "upstream_model": upstream,
        **extra,
    }


def _answers(run: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run / "answers.jsonl").read_text().splitlines()]


def _run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["gaptest", "run", *args], catch_exceptions=False)
    return result.exit_code, result.stdout


def test_retries_rate_limits_sensitive_data_and_a_free_rerun(
    vendor: VendorFake, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "parity.yaml",
        [
            _deployment(vendor, "open", "flaky-2", residency="on_prem"),
            _deployment(
                vendor,
                "closed",
                "closed-normal",
                residency="vendor",
                price={"input": 2.5, "output": 10.0},
            ),
            _deployment(vendor, "busy", "rate-limit", residency="on_prem"),
        ],
    )
    prompts = prompts_file(
        tmp_path / "p.jsonl",
        [
            {"id": "a", "prompt": "What is 2+2?", "category": "math"},
            {"id": "b", "prompt": "Name a colour."},
            {
                "id": "secret",
                "prompt": "Summarise patient Jane Roe's chart",
                "data_classes": ["pii"],
            },
        ],
    )
    run = tmp_path / "run"
    code, out = _run(
        str(prompts),
        "--models",
        "open,closed,busy",
        "--config",
        str(config),
        "--out",
        str(run),
        "--concurrency",
        "1",
        "--retries",
        "1",
        "--json",
    )
    assert code == 4, out  # incomplete: 'busy' always answers 429
    summary = json.loads(out)
    assert summary["status"].startswith("incomplete")
    assert summary["failures"]["busy"] == {
        "UpstreamRateLimited: upstream 'busy' answered 429: Rate limit reached for requests. "
        "Try again in 1s.": 3
    }

    by_key = {(a["item"], a["model"]): a for a in _answers(run)}
    # The sensitive prompt never reached the vendor deployment, and is marked so.
    assert by_key[("secret", "closed")]["source"] == "skipped"
    assert "Jane Roe" not in " ".join(received_prompts(vendor.received(), "closed-normal"))
    assert by_key[("secret", "open")]["text"] == "Echo: Summarise patient Jane Roe's chart"
    # flaky-2 failed twice with 500: the first call retried once and failed, the next
    # call (a re-try of it would be the third) succeeded on its own first retry.
    open_retries = sorted(by_key[(i, "open")]["retries"] for i in ("a", "b", "secret"))
    assert open_retries[-1] == 1 and sum(open_retries) >= 1
    busy = by_key[("a", "busy")]
    assert (busy["error"], busy["retries"]) == ("UpstreamRateLimited", 1)
    closed = by_key[("a", "closed")]
    assert closed["input_tokens"] > 0 and closed["cost_usd"] > 0 and closed["latency_ms"] > 0

    report = CliRunner().invoke(app, ["gaptest", "report", str(run), "--json"])
    # No judge has judged yet: the report is written all the same, and says how to judge.
    assert report.exit_code == 0, report.output
    assert json.loads(report.stdout)["warnings"][0].startswith("No verdicts yet: judge it")

    # Re-running: only the failed answers are tried again; finished ones cost nothing.
    vendor.reset()
    code, out = _run(
        str(prompts),
        "--models",
        "open,closed,busy",
        "--config",
        str(config),
        "--out",
        str(run),
        "--retries",
        "0",
        "--json",
    )
    received = vendor.received()
    assert received_prompts(received, "closed-normal") == []
    assert received_prompts(received, "flaky-2") == ["What is 2+2?"]  # the one that failed
    assert len(received_prompts(received, "rate-limit")) == 3
    assert json.loads(out)["failed"] == 4


def test_cost_cap_stops_the_run(vendor: VendorFake, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "parity.yaml",
        [
            _deployment(vendor, "open", "open-normal", residency="on_prem"),
            _deployment(vendor, "pricey", "pricey-normal", price={"input": 50000, "output": 50000}),
        ],
    )
    prompts = prompts_file(tmp_path / "p.jsonl", [{"prompt": f"question {i}"} for i in range(8)])
    code, out = _run(
        str(prompts),
        "--models",
        "open,pricey",
        "--config",
        str(config),
        "--out",
        str(tmp_path / "run"),
        "--concurrency",
        "1",
        "--max-cost",
        "1",
        "--json",
    )
    assert code == 3
    summary = json.loads(out)
    assert summary["status"].startswith("stopped: cost cap")
    assert 1 <= summary["spent_usd"] < 3
    assert len(received_prompts(vendor.received(), "pricey-normal")) < 8


def test_a_shared_cache_makes_a_new_run_free(vendor: VendorFake, tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "parity.yaml",
        [_deployment(vendor, "one", "one-normal"), _deployment(vendor, "two", "two-normal")],
    )
    prompts = prompts_file(tmp_path / "p.jsonl", [{"prompt": "hello"}, {"prompt": "bye"}])
    cache = tmp_path / "cache.jsonl"
    base = [str(prompts), "--models", "one,two", "--config", str(config), "--cache", str(cache)]
    assert _run(*base, "--out", str(tmp_path / "r1"))[0] == 0
    vendor.reset()
    code, out = _run(*base, "--out", str(tmp_path / "r2"), "--json")
    assert code == 0 and json.loads(out)["cached"] == 4
    assert vendor.received() == []
    # A different parameter is a different request: it is not served from the cache.
    assert _run(*base, "--out", str(tmp_path / "r3"), "--max-tokens", "7")[0] == 0
    assert len(vendor.received()) == 4


def test_resume_after_kill_makes_no_call_for_finished_items(
    vendor: VendorFake, tmp_path: Path
) -> None:
    config = write_config(
        tmp_path / "parity.yaml",
        [
            _deployment(vendor, "open", "slow-0.2", residency="on_prem"),
            _deployment(vendor, "closed", "closed-normal"),
        ],
    )
    prompts = prompts_file(
        tmp_path / "p.jsonl", [{"id": f"q{i}", "prompt": f"question {i}"} for i in range(8)]
    )
    run = tmp_path / "run"
    command = [
        str(PARITY),
        "gaptest",
        "run",
        str(prompts),
        "--models",
        "open,closed",
        "--config",
        str(config),
        "--out",
        str(run),
        "--concurrency",
        "1",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        done = _answers(run) if (run / "answers.jsonl").exists() else []
        if sum(a["model"] == "open" for a in done) >= 3:
            break
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    finished = {(a["item"], a["model"]) for a in _answers(run) if a.get("error") is None}
    assert 3 <= len({i for i, m in finished if m == "open"}) < 8

    vendor.reset()
    second = subprocess.run(command, env=env, capture_output=True, timeout=120, check=False)
    assert second.returncode == 0, second.stderr.decode()[-2000:]
    asked_open = set(received_prompts(vendor.received(), "slow-0.2"))
    asked_closed = set(received_prompts(vendor.received(), "closed-normal"))
    done_open = {f"question {i[1:]}" for i, m in finished if m == "open"}
    done_closed = {f"question {i[1:]}" for i, m in finished if m == "closed"}
    assert not asked_open & done_open
    assert not asked_closed & done_closed
    assert asked_open | done_open == {f"question {i}" for i in range(8)}
    latest = {(a["item"], a["model"]): a for a in _answers(run)}
    assert len(latest) == 16 and all(a.get("error") is None for a in latest.values())
