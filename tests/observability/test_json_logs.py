"""`parity serve --log-format json`: every line is JSON, requests carry their id, nothing leaks.

The gateway runs as a process with an API key; the tests read what it printed after it stopped.
"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from parity.gateway.logs import REQUEST_ID, JsonFormatter
from tests.fakes.fixtures import VendorFake
from tests.servers import GatewayProcess, start_gateway

PROMPT = "Summarise the zebra-quartz-7781 memo in one line"
KEY = "sk-obs-secret-5f1e2d3c4b5a69788796a5b4"


def _config(fake: VendorFake, **logging: Any) -> dict[str, Any]:
    deployment = {
        "provider": "openai",
        "base_url": fake.openai_url,
        "api_key_env": "FAKE_KEY",
        "residency": "on_prem",
        "price": {"input": 1.0, "output": 2.0},
    }
    return {
        "models": [
            {"id": "good", "upstream_model": "gpt-4o", **deployment},
            {"id": "fails", "upstream_model": "error-500", **deployment},
        ],
        "retry": {"attempts": 1},
        "keys": [{"id": "team-a", "key_env": "OBS_KEY"}],
        "logging": logging,
    }


def _start(fake: VendorFake, tmp: Path, **logging: Any) -> GatewayProcess:
    env = {"FAKE_KEY": "sk-fake", "OBS_KEY": KEY}
    return start_gateway(tmp, _config(fake, **logging), env=env, args=["--log-format", "json"])


def _traffic(gw: GatewayProcess) -> list[str]:
    """A success (openai SDK), an upstream failure and an unknown model; their request ids."""
    client = openai.OpenAI(base_url=gw.v1, api_key=KEY, max_retries=0)
    ok = client.chat.completions.with_raw_response.create(
        model="good", messages=[{"role": "user", "content": PROMPT}]
    )
    ids = [ok.headers["x-parity-request-id"]]
    for model, status in (("fails", 502), ("nope", 404)):
        response = httpx.post(
            f"{gw.v1}/chat/completions",
            json={"model": model, "messages": [{"role": "user", "content": PROMPT}]},
            headers={"authorization": f"Bearer {KEY}"},
            timeout=30,
        )
        assert response.status_code == status
        ids.append(response.headers["x-parity-request-id"])
    return ids


def _lines(gw: GatewayProcess) -> list[dict[str, Any]]:
    gw.stop()
    text = gw.output()
    records = []
    for line in text.splitlines():
        if line.strip():
            record = json.loads(line)  # every line, uvicorn's included, is one JSON object
            assert {"ts", "level", "logger", "message"} <= set(record), line
            records.append(record)
    return records


def test_json_logs_carry_request_ids_and_never_the_prompt_or_key(
    vendor_fake: VendorFake, tmp_path: Path
) -> None:
    gw = _start(vendor_fake, tmp_path)
    ids = _traffic(gw)
    records = _lines(gw)
    text = gw.output()
    assert PROMPT not in text and "zebra-quartz" not in text
    assert KEY not in text and KEY[3:20] not in text
    assert any(r["message"] == "Application startup complete." for r in records)
    access = {r["request_id"]: r for r in records if r["logger"] == "parity.access"}
    assert set(ids) <= set(access)
    good, failed, unknown = (access[i] for i in ids)
    assert good["level"] == "info"
    assert (good["method"], good["path"], good["status"]) == ("POST", "/v1/chat/completions", 200)
    assert good["model"] == "good" and good["input_tokens"] > 0 and good["output_tokens"] > 0
    assert good["latency_ms"] > 0 and "route" in good
    assert (failed["status"], failed["error_type"]) == (502, "UpstreamServerError")
    assert (unknown["status"], unknown["model"]) == (404, None)
    assert "prompt" not in good


def test_with_log_prompts_the_access_line_carries_the_prompt(
    vendor_fake: VendorFake, tmp_path: Path
) -> None:
    gw = _start(vendor_fake, tmp_path, log_prompts=True)
    ids = _traffic(gw)
    records = _lines(gw)
    access = {r["request_id"]: r for r in records if r["logger"] == "parity.access"}
    assert access[ids[0]]["prompt"] == PROMPT
    assert KEY not in gw.output()  # keys are never logged, whatever the config says


@pytest.mark.parametrize("log_prompts", [False, True])
def test_exception_messages_follow_log_prompts(log_prompts: bool) -> None:
    """An exception that quotes the prompt: its message is logged only with log_prompts."""
    formatter = JsonFormatter(log_prompts=log_prompts)
    try:
        try:
            raise ValueError(f"cannot parse {PROMPT!r}")
        except ValueError as inner:
            raise RuntimeError("wrapped") from inner
    except RuntimeError:
        record = logging.LogRecord("parity.gateway", 40, __file__, 1, "failed", (), sys.exc_info())
    token = REQUEST_ID.set("req_test")
    try:
        line = json.loads(formatter.format(record))
    finally:
        REQUEST_ID.reset(token)
    assert line["request_id"] == "req_test"
    assert "ValueError" in line["exception"] and "RuntimeError" in line["exception"]
    assert (PROMPT in line["exception"]) is log_prompts
