"""Safety guards through the real gateway process, with the openai SDK, against the fake guard.

One gateway serves the module: an open model and a closed one on the fake vendor (which echoes
the last user message, so a marker in the prompt is in the answer too), and two guard
deployments on the fake guard, one per format.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from parity.store.base import GuardDecision, LedgerRow
from parity.store.guard_log import GuardLog
from tests.fakes.fixtures import VendorFake
from tests.servers import GatewayProcess, start_gateway, wait_for_rows


def _model(model_id: str, base: str, upstream: str, residency: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "provider": "openai",
        "base_url": base,
        "upstream_model": upstream,
        "residency": residency,
        "api_key_env": "FAKE_KEY",
    }


def _route(guard: str, check: str, **extra: Any) -> dict[str, Any]:
    return {"default": "open", "guard": {"guard": guard, "check": check, **extra}}


LLAMA_ACTIONS = {"S1": "block", "S6": "flag", "S10": {"reroute": "closed"}}


@pytest.fixture(scope="module")
def gateway(
    vendor_fake: VendorFake, guard_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    config = {
        "models": [
            _model("open", vendor_fake.openai_url, "open-weights", "on_prem"),
            _model("closed", vendor_fake.openai_url, "gpt-4o", "vendor"),
            {**_model("llama-guard", guard_fake.openai_url, "llama-guard3:1b", "on_prem")},
            {**_model("moderation", guard_fake.openai_url, "omni-moderation-latest", "on_prem")},
        ],
        "guards": {
            "llama": {"deployment": "llama-guard", "format": "llama_guard", "timeout_s": 1.0},
            "mod": {"deployment": "moderation", "format": "openai_moderation", "timeout_s": 1.0},
        },
        "routes": {
            "guarded/input": _route("llama", "input", categories=LLAMA_ACTIONS),
            "guarded/open": _route("llama", "input", on_guard_error="fail_open"),
            "guarded/output": _route("llama", "output", stream_check_tokens=8),
            "guarded/both": _route(
                "llama", "both", categories={"S10": {"reroute": "closed"}}, stream_check_tokens=8
            ),
            "guarded/moderation": _route("mod", "both", categories={"violence": "block"}),
            "plain": {"default": "open"},
        },
    }
    tmp = tmp_path_factory.mktemp("guard-gateway")
    gateway = start_gateway(tmp, config, env={"FAKE_KEY": "sk-fake"})
    yield gateway
    gateway.stop()


@pytest.fixture
def client(gateway: GatewayProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key="unused", max_retries=0)


def _ask(client: openai.OpenAI, route: str, text: str) -> Any:
    return client.chat.completions.with_raw_response.create(
        model=route, messages=[{"role": "user", "content": text}]
    )


def _decisions(gateway: GatewayProcess, request_id: str) -> list[GuardDecision]:
    wait_for_rows(gateway.ledger_url, {request_id})
    log = GuardLog(gateway.ledger_url)
    try:
        found = log.recent(include_safe=True, limit=100_000)
    finally:
        log.close()
    return sorted((d for d in found if d.request_id == request_id), key=lambda d: d.stage)


def _row(gateway: GatewayProcess, request_id: str) -> LedgerRow:
    return wait_for_rows(gateway.ledger_url, {request_id})[request_id]


def _request_id(exc: openai.APIStatusError) -> str:
    return exc.response.headers["x-parity-request-id"]


def test_a_safe_request_passes_and_its_verdict_is_stored(
    client: openai.OpenAI, gateway: GatewayProcess, guard: VendorFake
) -> None:
    raw = _ask(client, "guarded/input", "What is the capital of France?")
    answer = raw.parse()
    assert answer.choices[0].message.content == "Echo: What is the capital of France?"
    (decision,) = _decisions(gateway, raw.headers["x-parity-request-id"])
    assert (decision.stage, decision.verdict, decision.action) == ("input", "safe", "allow")
    assert decision.route == "guarded/input" and decision.latency_ms > 0
    (asked,) = guard.received()
    assert asked["body"]["messages"] == [
        {"role": "user", "content": "What is the capital of France?"}
    ]


def test_a_blocked_category_is_a_typed_400_and_nothing_reaches_the_model(
    client: openai.OpenAI, gateway: GatewayProcess, vendor: VendorFake
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, "guarded/input", "how do I hurt someone [[unsafe:S1]]")
    error = caught.value
    assert error.code == "content_policy_violation"
    assert error.param == "messages"
    assert "S1 (Violent Crimes)" in error.message
    assert vendor.received() == []  # the open model never saw it
    request_id = _request_id(error)
    (decision,) = _decisions(gateway, request_id)
    assert (decision.verdict, decision.action, decision.categories) == ("unsafe", "block", ["S1"])
    assert _row(gateway, request_id).status == 400


def test_a_rerouted_category_is_answered_by_the_named_deployment(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    raw = _ask(client, "guarded/input", "tell me about them [[unsafe:S10]]")
    assert raw.headers["x-parity-model"] == "closed"
    assert raw.parse().model == "closed"
    request_id = raw.headers["x-parity-request-id"]
    (decision,) = _decisions(gateway, request_id)
    assert (decision.action, decision.target) == ("reroute", "closed")
    row = _row(gateway, request_id)
    assert row.model_answered == "closed" and row.route == "guarded/input"


def test_a_flagged_category_goes_through_and_is_flagged_in_the_ledger(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    raw = _ask(client, "guarded/input", "which pills should I take [[unsafe:S6]]")
    assert raw.headers["x-parity-model"] == "open"
    (decision,) = _decisions(gateway, raw.headers["x-parity-request-id"])
    assert (decision.action, decision.categories) == ("flag", ["S6"])


@pytest.mark.parametrize("marker", ["[[garbled]]", "[[guard-error:500]]", "[[guard-slow:3]]"])
def test_a_failing_guard_fails_closed_by_default(
    client: openai.OpenAI, gateway: GatewayProcess, vendor: VendorFake, marker: str
) -> None:
    with pytest.raises(openai.InternalServerError) as caught:
        _ask(client, "guarded/input", f"hello {marker}")
    assert caught.value.status_code == 503
    assert caught.value.code == "guard_unavailable"
    assert vendor.received() == []
    (decision,) = _decisions(gateway, _request_id(caught.value))
    assert (decision.verdict, decision.action) == ("error", "fail_closed")
    assert decision.error


def test_fail_open_lets_the_request_through_and_records_the_error(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    started = time.perf_counter()
    raw = _ask(client, "guarded/open", "hello [[guard-slow:3]]")
    assert time.perf_counter() - started < 2.5  # the guard's 1 s timeout, not its 3 s
    (decision,) = _decisions(gateway, raw.headers["x-parity-request-id"])
    assert (decision.verdict, decision.action) == ("error", "fail_open")
    assert "UpstreamTimeout" in (decision.error or "")


def test_an_unsafe_answer_is_withheld(client: openai.OpenAI, gateway: GatewayProcess) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, "guarded/output", "repeat after me [[unsafe:S9]]")
    assert "answer was refused" in caught.value.message
    assert "S9 (Indiscriminate Weapons)" in caught.value.message
    (decision,) = _decisions(gateway, _request_id(caught.value))
    assert (decision.stage, decision.action) == ("output", "block")


def test_an_unsafe_answer_can_be_rerouted_and_is_checked_again(
    client: openai.OpenAI, gateway: GatewayProcess, vendor: VendorFake
) -> None:
    # both stages: the input check re-routes to the closed model, whose echo is unsafe too,
    # so the output check blocks it (a second re-route is not allowed)
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, "guarded/both", "say [[unsafe:S10]]")
    decisions = _decisions(gateway, _request_id(caught.value))
    assert [(d.stage, d.action) for d in decisions] == [("input", "reroute"), ("output", "block")]
    assert [r["body"]["model"] for r in vendor.received()] == ["gpt-4o"]


def _stream(client: openai.OpenAI, route: str, text: str) -> tuple[list[str], Exception | None]:
    pieces: list[str] = []
    try:
        stream = client.chat.completions.create(
            model=route, messages=[{"role": "user", "content": text}], stream=True
        )
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
    except openai.APIError as exc:
        return pieces, exc
    return pieces, None


def test_a_safe_stream_arrives_whole(client: openai.OpenAI, gateway: GatewayProcess) -> None:
    text = " ".join(f"word{i}" for i in range(80))
    pieces, failure = _stream(client, "guarded/output", text)
    assert failure is None
    assert "".join(pieces) == f"Echo: {text}"


def test_a_stream_is_cut_before_its_unsafe_part_reaches_the_client(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    before = " ".join(f"fine{i}" for i in range(60))
    after = " ".join(f"after{i}" for i in range(30))
    pieces, failure = _stream(client, "guarded/output", f"{before} [[unsafe:S1]] {after}")
    assert failure is not None and "S1 (Violent Crimes)" in str(failure)
    received = "".join(pieces)
    assert received.startswith("Echo: fine0"), "checked text before the unsafe part arrived"
    assert "[[unsafe" not in received and "after" not in received
    log = GuardLog(gateway.ledger_url)
    try:
        deadline = time.monotonic() + 10
        found: list[GuardDecision] = []
        while time.monotonic() < deadline and not found:
            found = [d for d in log.recent(limit=50) if d.stage == "output" and d.checks > 1]
            time.sleep(0.1)
    finally:
        log.close()
    assert found and found[0].action == "block"


def test_moderation_format_blocks_its_own_categories(
    client: openai.OpenAI, gateway: GatewayProcess, guard: VendorFake
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, "guarded/moderation", "a threat [[unsafe:violence]]")
    assert "violence (Violence)" in caught.value.message
    raw = _ask(client, "guarded/moderation", "a friendly hello")
    assert raw.parse().choices[0].message.content == "Echo: a friendly hello"
    bodies = [r["body"] for r in guard.received() if r["path"] == "/v1/moderations"]
    assert bodies[-2:] == [
        {"model": "omni-moderation-latest", "input": "a friendly hello"},
        {"model": "omni-moderation-latest", "input": "Echo: a friendly hello"},
    ]


def test_an_unguarded_route_never_asks_the_guard(client: openai.OpenAI, guard: VendorFake) -> None:
    _ask(client, "plain", "anything [[unsafe:S1]]")
    assert guard.received() == []


def test_parity_audit_and_the_dashboard_show_the_decisions(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(client, "guarded/input", "audit me [[unsafe:S1]]")
    request_id = _request_id(caught.value)
    _decisions(gateway, request_id)
    result = CliRunner().invoke(
        app, ["audit", "--guards", "--ledger", gateway.ledger_url, "--json"]
    )
    assert result.exit_code == 0, result.output
    assert request_id in result.stdout and '"block"' in result.stdout
    failing = CliRunner().invoke(
        app, ["audit", "--guards", "--ledger", gateway.ledger_url, "--fail-if-any"]
    )
    assert failing.exit_code == 1
    page = httpx.get(f"{gateway.url}/ui/guards?window=24h", timeout=10)
    assert page.status_code == 200, page.text[:300]
    assert request_id in page.text and "guarded/input" in page.text


def test_a_stream_the_client_leaves_still_records_its_verdict(gateway: GatewayProcess) -> None:
    text = " ".join(f"word{i}" for i in range(1500))  # prompt + answer fit the guard
    body = {"model": "guarded/output", "messages": [{"role": "user", "content": text}],
            "stream": True}  # fmt: skip
    with httpx.stream("POST", f"{gateway.v1}/chat/completions", json=body, timeout=30) as answer:
        request_id = answer.headers["x-parity-request-id"]
        for line in answer.iter_lines():
            if '"content"' in line:
                break  # the client leaves after the first checked text
    row = _row(gateway, request_id)
    decisions = _decisions(gateway, request_id)
    assert [d.stage for d in decisions] == ["output"]
    assert decisions[0].checks >= 1
    assert row.status in (200, 499)


def test_an_answer_is_judged_after_the_last_user_message(
    client: openai.OpenAI, guard: VendorFake
) -> None:
    client.chat.completions.create(
        model="guarded/output",
        messages=[
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "first question"},
            {"role": "assistant", "content": "first answer"},
            {"role": "user", "content": [{"type": "text", "text": "second question"}]},
        ],
    )
    (asked,) = guard.received()
    assert asked["body"]["messages"] == [
        {"role": "user", "content": "second question"},
        {"role": "assistant", "content": "Echo: second question"},
    ]
