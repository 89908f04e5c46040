"""``gaptest run --via URL``: the models of a running gateway (a real ``parity serve``), its key.

The gateway's ledger records every answer, sensitive prompts are still kept from its vendor
models (their residency comes from the gateway's /v1/models), and no llama.cpp is started.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from parity.store.base import RowFilter
from parity.store.factory import open_ledger
from tests.evaluation.helpers import prompts_file, received_prompts
from tests.evaluation.test_cli_failures import parity
from tests.fakes.fixtures import VendorFake
from tests.security.common import create_key, eventually
from tests.servers import GatewayProcess, free_port, start_gateway

ROWS: list[dict[str, Any]] = [
    {"id": "cap", "prompt": "Capital of France?", "reference": "Capital"},
    {"id": "pii", "prompt": "Reply OK to jane.roe@example.com", "data_classes": ["email"]},
]


def _model(model_id: str, fake: VendorFake, residency: str, price: float) -> dict[str, Any]:
    return {
        "id": model_id,
        "provider": "openai",
        "base_url": fake.openai_url,
        "api_key_env": "FAKE_KEY",
        "upstream_model": f"{model_id}-normal",
        "residency": residency,
        "price": {"input": price, "output": price},
    }


@pytest.fixture
def gateway(tmp_path: Path, vendor: VendorFake) -> Any:
    config = {
        "models": [_model("open", vendor, "on_prem", 0.0), _model("closed", vendor, "vendor", 5.0)],
        "auth": {"keys_refresh_s": 0.2},
    }
    served = start_gateway(tmp_path, config, env={"FAKE_KEY": "sk-fake"})
    yield served
    served.stop()


def _via(gateway: GatewayProcess, tmp_path: Path, env: dict[str, str], *extra: str) -> Any:
    prompts = prompts_file(tmp_path / "prompts.jsonl", ROWS)
    return parity(
        "gaptest", "run", str(prompts), "--models", "open,closed", "--via", gateway.v1,
        "--judge", "normalised:contains=true", "--out", str(tmp_path / "run"), *extra,
        cwd=tmp_path, env=env,
    )  # fmt: skip


def test_a_run_through_a_running_gateway_with_its_key(
    gateway: GatewayProcess, vendor: VendorFake, tmp_path: Path
) -> None:
    key = create_key(gateway.ledger_url, "gaptest")["key"]
    eventually(lambda: httpx.get(f"{gateway.v1}/models", timeout=5).status_code == 401)

    refused = _via(gateway, tmp_path, {})
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        f"parity: error: the gateway at {gateway.v1} wants a key: put one in $PARITY_API_KEY"
    )
    vendor.reset()
    done = _via(gateway, tmp_path, {"PARITY_API_KEY": key}, "--json")
    assert done.returncode == 0, done.stderr + done.stdout
    assert "llama.cpp" not in done.stderr  # nothing of its own was started
    summary = json.loads(done.stdout)
    assert summary["status"] == "complete" and summary["per_model"]["open"]["live"] == 2
    answers = [
        json.loads(x) for x in (tmp_path / "run" / "answers.jsonl").read_text().split("\n") if x
    ]
    by_key = {(a["item"], a["model"]): a for a in answers}
    assert by_key[("pii", "closed")]["source"] == "skipped"  # vendor residency, from the gateway
    assert by_key[("cap", "closed")]["text"].startswith("Echo: Capital")
    assert by_key[("cap", "closed")]["cost_usd"] > 0  # the gateway's price
    assert "jane.roe" not in " ".join(received_prompts(vendor.received(), "closed-normal"))
    # The gateway served, and recorded, all three calls under the key.
    ledger = open_ledger(gateway.ledger_url)
    try:
        rows = eventually_rows(ledger, 3)
    finally:
        ledger.close()
    assert sorted(r.model_requested for r in rows) == ["closed", "open", "open"]
    assert {r.key_id for r in rows} == {rows[0].key_id} and rows[0].key_id


def eventually_rows(ledger: Any, count: int) -> list[Any]:
    found: list[Any] = []

    def enough() -> bool:
        found[:] = [r for r in ledger.rows(RowFilter(limit=100)) if r.status == 200]
        return len(found) >= count

    eventually(enough)
    return found


def test_via_errors_say_what_to_do(gateway: GatewayProcess, tmp_path: Path) -> None:
    prompts = prompts_file(tmp_path / "prompts.jsonl", ROWS)
    unknown = parity(
        "gaptest", "run", str(prompts), "--models", "open,gpt-9", "--via", gateway.url,
        "--out", str(tmp_path / "r"), cwd=tmp_path,
    )  # fmt: skip
    assert unknown.returncode == 1
    assert "The model 'gpt-9' does not exist here. Known models: closed, open" in unknown.stderr
    nobody = f"http://127.0.0.1:{free_port()}"
    down = parity(
        "gaptest", "run", str(prompts), "--models", "open,closed", "--via", nobody,
        "--out", str(tmp_path / "r"), cwd=tmp_path,
    )  # fmt: skip
    assert down.returncode == 1
    assert down.stderr.startswith(f"parity: error: no gateway answers at {nobody}/v1")
    assert "'parity serve' or leave out --via" in down.stderr
