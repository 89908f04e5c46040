"""`parity serve` with no config: the embedded SmolLM2 child, its supervision, and the
frontier models that API keys in the environment add."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import httpx
import openai

from tests.conftest import GatewayFactory
from tests.fakes.fixtures import VendorFake
from tests.servers import GatewayProcess

MESSAGES: list[Any] = [{"role": "user", "content": "Say hello."}]


def local_pid(gateway: GatewayProcess) -> int:
    pid = httpx.get(f"{gateway.url}/readyz").json()["local_model"]["pid"]
    assert isinstance(pid, int)
    return pid


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie still answers kill(0); its /proc status says so
    with open(f"/proc/{pid}/status") as status:
        return "zombie" not in status.read()


def wait_for(predicate: object, timeout: float = 60) -> None:
    assert callable(predicate)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_no_config_serves_smollm2_and_explains_how_to_add_a_frontier_model(
    gateway_factory: GatewayFactory,
) -> None:
    gateway = gateway_factory(None)
    banner = gateway.output()
    assert "local/smollm2" in banner
    assert "OPENAI_API_KEY" in banner and "ANTHROPIC_API_KEY" in banner
    client = openai.OpenAI(base_url=gateway.v1, api_key="none", max_retries=0)
    reply = client.chat.completions.create(model="parity/auto", messages=MESSAGES, max_tokens=8)
    assert reply.model == "local/smollm2" and reply.choices[0].message.content
    assert (gateway.home / ".parity" / "ledger.db").exists()


def test_the_local_model_is_restarted_when_it_dies_and_stops_with_parity(
    gateway_factory: GatewayFactory,
) -> None:
    gateway = gateway_factory(None)
    first = local_pid(gateway)
    os.kill(first, signal.SIGKILL)

    def restarted() -> bool:
        body = httpx.get(f"{gateway.url}/readyz").json()
        return bool(body["status"] == "ready" and body["local_model"]["restarts"] == 1)

    wait_for(restarted)
    second = local_pid(gateway)
    assert second != first
    client = openai.OpenAI(base_url=gateway.v1, api_key="none", max_retries=0)
    assert client.chat.completions.create(
        model="local/smollm2", messages=MESSAGES, max_tokens=4
    ).choices
    assert gateway.stop(signal.SIGTERM) in (0, -signal.SIGTERM)  # uvicorn re-raises it
    wait_for(lambda: not alive(second), timeout=15)


def test_the_local_model_dies_with_a_killed_gateway(gateway_factory: GatewayFactory) -> None:
    gateway = gateway_factory(None)
    child = local_pid(gateway)
    gateway.stop(signal.SIGKILL)
    wait_for(lambda: not alive(child), timeout=15)


def test_api_keys_in_the_environment_add_frontier_models(
    gateway_factory: GatewayFactory, vendor: VendorFake
) -> None:
    gateway = gateway_factory(
        None,
        env={
            "OPENAI_API_KEY": "sk-test-openai",
            "OPENAI_BASE_URL": vendor.openai_url,
            "ANTHROPIC_API_KEY": "sk-test-anthropic",
            "ANTHROPIC_BASE_URL": vendor.anthropic_url,
        },
    )
    assert "No frontier model yet" not in gateway.output()
    ids = [m["id"] for m in httpx.get(f"{gateway.v1}/models").json()["data"]]
    wanted = {"local/smollm2", "gpt-5.4", "gpt-5.4-mini", "claude-sonnet-4-6", "claude-opus-4-7"}
    assert wanted <= set(ids)
    client = openai.OpenAI(base_url=gateway.v1, api_key="none", max_retries=0)
    gpt = client.chat.completions.create(model="gpt-5.4", messages=MESSAGES, max_tokens=8)
    claude = client.chat.completions.create(
        model="claude-sonnet-4-6", messages=MESSAGES, max_tokens=8
    )
    assert gpt.model == "gpt-5.4" and claude.model == "claude-sonnet-4-6"
    sent = vendor.received()
    assert [s["path"] for s in sent] == ["/v1/chat/completions", "/v1/messages"]
    assert sent[1]["body"]["model"] == "claude-sonnet-4-6"
