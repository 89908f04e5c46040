"""Each fault the chaos upstream injects becomes a typed, retryable error that falls back.

One chaos process and one gateway serve the module: deployment ``f-KIND`` always suffers
``KIND`` and route ``chaos/KIND`` falls back from it to ``healthy`` (the same chaos process,
never faulty). The ledger's decision trace says what each attempt met.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.reliability.chaos_proc import ChaosProcess, chaos_model, start_chaos
from tests.servers import GatewayProcess, start_gateway, wait_for_rows

# fault -> the Parity errors its attempts may end with (a reset can come before or during)
EXPECTED = {
    "timeout": {"UpstreamTimeout"},
    "error": {"UpstreamServerError"},
    "rate_limit": {"UpstreamRateLimited"},
    "reset": {"UpstreamConnectError", "UpstreamProtocolError"},
    "cut_stream": {"UpstreamProtocolError"},
    "drip": {"UpstreamTimeout"},
    "malformed_json": {"UpstreamProtocolError"},
    "malformed_sse": {"UpstreamProtocolError"},
}
# streamed: faults forced to strike before the first event (@0) must fall back too
BEFORE_FIRST_EVENT = ["timeout", "error", "rate_limit", "reset@0", "drip", "malformed_json@0"]
BEFORE_FIRST_EVENT += ["malformed_sse@0"]
MID_STREAM = ["cut_stream@2", "reset@2", "malformed_json@2", "malformed_sse@2"]


@pytest.fixture(scope="module")
def chaos(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChaosProcess]:
    # drips of 8 bytes every 0.2 s take seconds: far past the primary's 1 s timeout
    process = start_chaos(tmp_path_factory.mktemp("chaos"), "--hang-s", "30")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def gateway(
    chaos: ChaosProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    faults = list(dict.fromkeys([*EXPECTED, *BEFORE_FIRST_EVENT, *MID_STREAM]))
    models = [chaos_model(f"f-{f}", chaos.force(f), timeout_s=1.0) for f in faults]
    models.append(chaos_model("healthy", chaos.force("none")))
    routes = {
        f"chaos/{f}": {"default": {"route": f"f-{f}", "fallbacks": ["healthy"]}} for f in faults
    }
    config = {
        "models": models,
        "routes": routes,
        "retry": {
            "attempts": 2,
            "backoff_s": 0.01,
            "max_retry_after_s": 2,
            "breaker_failures": 10,
        },
    }
    process = start_gateway(tmp_path_factory.mktemp("gw"), config)
    yield process
    process.stop()


def chat(gw: GatewayProcess, model: str, **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": "hello there"}], **extra}
    return httpx.post(f"{gw.v1}/chat/completions", json=body, timeout=30, trust_env=False)


def attempts(gw: GatewayProcess, response: httpx.Response) -> list[dict[str, Any]]:
    request_id = response.headers["x-parity-request-id"]
    row = wait_for_rows(gw.ledger_url, {request_id})[request_id]
    assert row.trace is not None
    found: list[dict[str, Any]] = row.trace["attempts"]
    return found


@pytest.mark.parametrize("fault", list(EXPECTED))
def test_non_streamed_faults_fall_back_without_a_client_error(
    gateway: GatewayProcess, fault: str
) -> None:
    response = chat(gateway, f"chaos/{fault}")
    assert response.status_code == 200, response.text
    assert response.headers["x-parity-model"] == "healthy"
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hello there"
    tried = attempts(gateway, response)
    assert [a["model"] for a in tried] == [f"f-{fault}", f"f-{fault}", "healthy"]
    assert {a["outcome"] for a in tried[:2]} <= EXPECTED[fault], tried
    assert tried[-1]["outcome"] == "ok"


@pytest.mark.parametrize("fault", BEFORE_FIRST_EVENT)
def test_stream_faults_before_the_first_event_fall_back(
    gateway: GatewayProcess, fault: str
) -> None:
    response = chat(gateway, f"chaos/{fault}", stream=True)
    assert response.status_code == 200
    assert response.headers["x-parity-model"] == "healthy"
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    text = "".join(
        (c["choices"][0]["delta"].get("content") or "")
        for c in map(json.loads, events[:-1])
        if c["choices"]
    )
    assert text == "Echo: hello there"
    tried = attempts(gateway, response)
    assert [a["model"] for a in tried][-1] == "healthy" and len(tried) == 3
    assert {a["outcome"] for a in tried[:2]} <= EXPECTED[fault.partition("@")[0]], tried


@pytest.mark.parametrize("fault", MID_STREAM)
def test_a_stream_broken_midway_ends_with_an_error_event_and_an_error_row(
    gateway: GatewayProcess, fault: str
) -> None:
    response = chat(gateway, f"chaos/{fault}", stream=True)
    assert response.status_code == 200  # the status line went out with the first event
    assert response.headers["x-parity-model"] == f"f-{fault}"  # too late to fall back
    events = [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]
    assert "[DONE]" not in events[:-1]
    error = json.loads(events[-2] if events[-1] == "[DONE]" else events[-1])["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "upstream_protocol_error"
    request_id = response.headers["x-parity-request-id"]
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.status == 502 and row.error_type == "UpstreamProtocolError"
    assert row.model_answered == f"f-{fault}"
