"""The canary inside parity serve: it runs on schedule, and /metrics and the dashboard show it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import GatewayFactory
from tests.evaluation.test_canary import write_set
from tests.fakes.drifting import DriftingUpstream


@pytest.fixture
def degrading() -> Iterator[DriftingUpstream]:
    upstream = DriftingUpstream(degrade_after=12).start()
    yield upstream
    upstream.stop()


def _metric(text: str, name: str) -> str | None:
    """The value of ``name`` for the deployment 'adder', if exposed."""
    for line in text.splitlines():
        if line.startswith(name + '{model="adder"}'):
            return line.rsplit(" ", 1)[1]
    return None


def test_serve_runs_the_canary_and_shows_it_on_metrics_and_the_dashboard(
    tmp_path: Path, gateway_factory: GatewayFactory, degrading: DriftingUpstream
) -> None:
    prompts = write_set(tmp_path / "canary.jsonl", count=12)
    config = {
        "models": [
            {"id": "adder", "provider": "openai", "base_url": degrading.url, "residency": "vendor"}
        ],
        "canary": {"prompts": str(prompts), "models": ["adder"], "interval_s": 1.0},
    }
    gateway = gateway_factory(config)
    deadline = time.monotonic() + 60
    status = None
    while time.monotonic() < deadline:
        text = httpx.get(f"{gateway.url}/metrics", timeout=5).text
        status = _metric(text, "parity_canary_status")
        if status == "1.0":
            break
        time.sleep(0.5)
    assert status == "1.0", gateway.output()[-3000:]  # the second run saw the degraded answers
    assert _metric(text, "parity_canary_score_change") == "-1.0"
    page = httpx.get(f"{gateway.url}/ui/canary", timeout=10)
    assert page.status_code == 200
    assert "REGRESSION" in page.text and "fp_before_update -&gt; fp_after_update" in page.text
    assert "canary: adder: REGRESSION" in gateway.output()
