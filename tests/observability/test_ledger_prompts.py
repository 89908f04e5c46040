"""ledger.prompts off / redacted / full, through a real gateway process and its ledger.

The fake vendor answers ``Echo: <prompt>``, so the card number is in the answer too. For
``redacted``, two deployments cover both ways a redacted row is made: a vendor deployment, whose
request routing already scanned (enforce.scan_vendor_requests), and an on-prem one, which is
scanned for the ledger.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from parity.config import Settings
from tests.fakes.fixtures import VendorFake
from tests.servers import GatewayProcess, start_gateway, wait_for_rows

CARD = "4111 1111 1111 1111"
PROMPT = f"Please refund card {CARD} for order zebra-77"


def _config(fake: VendorFake, prompts: str) -> dict[str, Any]:
    deployment = {
        "provider": "openai",
        "base_url": fake.openai_url,
        "api_key_env": "FAKE_KEY",
        "upstream_model": "gpt-4o",
        "price": {"input": 1.0, "output": 2.0},
    }
    models = [{"id": "local-model", "residency": "on_prem", **deployment}]
    if prompts == "redacted":  # a vendor deployment loads the privacy detector (slow start)
        models.append({"id": "vendor-model", "residency": "vendor", **deployment})
    return {"models": models, "ledger": {"prompts": prompts}}


def _ask(gw: GatewayProcess, model: str) -> str:
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}]}
    response = httpx.post(f"{gw.v1}/chat/completions", json=body, timeout=30)
    assert response.status_code == 200, response.text
    assert CARD in response.json()["choices"][0]["message"]["content"]  # the client sees it all
    request_id: str = response.headers["x-parity-request-id"]
    return request_id


@pytest.mark.parametrize("prompts", ["off", "redacted", "full"])
def test_the_ledger_keeps_what_ledger_prompts_says(
    prompts: str, vendor_fake: VendorFake, tmp_path: Path
) -> None:
    gw = start_gateway(tmp_path, _config(vendor_fake, prompts), env={"FAKE_KEY": "sk-fake"})
    try:
        models = ["local-model", "vendor-model"] if prompts == "redacted" else ["local-model"]
        ids = [_ask(gw, model) for model in models]
        rows = wait_for_rows(gw.ledger_url, set(ids))
    finally:
        gw.stop()
    for request_id in ids:
        row = rows[request_id]
        body = row.request_body.decode() if row.request_body is not None else None
        text = row.response_text
        if prompts == "off":
            assert body is None and text is None
        elif prompts == "full":
            assert body is not None and CARD in body and text is not None and CARD in text
        else:
            assert body is not None and text is not None
            assert "4111" not in body and "4111" not in text
            assert "<CARD_1>" in body and "<CARD_1>" in text  # one placeholder for one value
            assert "zebra-77" in body and "zebra-77" in text  # the rest is kept
            if row.model_answered == "vendor-model":  # routing's own scan found the card
                assert row.data_classes == ["pii.credit_card"]


def test_the_old_store_bodies_setting_still_reads() -> None:
    assert Settings.model_validate({"ledger": {"store_bodies": False}}).ledger.prompts == "off"
    assert Settings.model_validate({"ledger": {"store_bodies": True}}).ledger.prompts == "full"
    assert Settings.model_validate({}).ledger.prompts == "full"


def test_redacted_without_the_privacy_extra_is_refused_at_start(tmp_path: Path) -> None:
    """A Python path where phonenumbers (part of parity[privacy]) cannot be imported."""
    blocker = tmp_path / "blocked" / "phonenumbers"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('phonenumbers is not installed')\n")
    config = tmp_path / "parity.yaml"
    config.write_text(
        "models:\n"
        "  - {id: m, provider: openai, base_url: 'http://127.0.0.1:9/v1', residency: on_prem}\n"
        f"ledger: {{url: 'sqlite:///{tmp_path / 'ledger.db'}', prompts: redacted}}\n"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "blocked"), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "parity", "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "ledger.prompts: redacted needs privacy detection" in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
