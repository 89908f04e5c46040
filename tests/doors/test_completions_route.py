"""POST /v1/completions and GET /v1/models/{id} through the real gateway, with the openai SDK.

The backends are the real llama.cpp server on SmolLM2 and the local fake vendor (OpenAI's and
Anthropic's wire formats). Every answer is checked against OpenAI's published OpenAPI document
(tests/fixtures), and every request, answered or refused, against its ledger row.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.doors.test_responses_route import door_config
from tests.fakes.deployments import FAKE_KEY, FAKE_KEY_ENV
from tests.fakes.fixtures import VendorFake
from tests.fixtures.openai_schemas import validator
from tests.servers import GatewayProcess, start_gateway, wait_for_rows

TEAM_A = "sk-team-a-0123456789"  # every model and route
TEAM_B = "sk-team-b-0123456789"  # fake/echo only, no routes
TEAM_C = "sk-team-c-0123456789"  # one request a minute


@pytest.fixture(scope="module")
def gateway(
    vendor_fake: VendorFake, llama_server: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    config = door_config(vendor_fake)
    config["models"].append(
        {
            "id": "local/smollm2",
            "provider": "openai",
            "base_url": llama_server,
            "upstream_model": "smollm2",
            "residency": "on_prem",
            "context_window": 2048,
            "price": {"input": 0.1, "output": 0.2},
        }
    )
    config["routes"] = {"parity/auto": {"default": "local/smollm2"}}
    config["keys"] = [
        {"id": "team-a", "key_env": "TEAM_A_KEY"},
        {"id": "team-b", "key_env": "TEAM_B_KEY", "models": ["fake/echo"], "routes": []},
        {"id": "team-c", "key_env": "TEAM_C_KEY", "rpm": 1},
    ]
    env = {FAKE_KEY_ENV: FAKE_KEY, "TEAM_A_KEY": TEAM_A, "TEAM_B_KEY": TEAM_B, "TEAM_C_KEY": TEAM_C}
    gw = start_gateway(tmp_path_factory.mktemp("completions"), config, env=env)
    yield gw
    gw.stop()


def _sdk(gateway: GatewayProcess, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=gateway.v1, api_key=key, max_retries=0, timeout=60)


@pytest.fixture
def client(gateway: GatewayProcess, vendor: VendorFake) -> Iterator[openai.OpenAI]:
    with _sdk(gateway, TEAM_A) as sdk:
        yield sdk


def _valid(root: str, obj: Any) -> None:
    errors = sorted(validator(root).iter_errors(obj), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def _sent(vendor: VendorFake) -> dict[str, Any]:
    calls = [r for r in vendor.received() if str(r["path"]).endswith(("/completions", "/messages"))]
    body: dict[str, Any] = calls[-1]["body"]
    return body


def test_the_embedded_model_completes_a_prompt_and_the_ledger_has_its_row(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    raw = client.completions.with_raw_response.create(
        model="local/smollm2", prompt="Name one colour.", max_tokens=8, temperature=0, seed=1
    )
    completion = raw.parse()
    body = raw.http_response.json()
    _valid("CreateCompletionResponse", body)
    assert completion.object == "text_completion" and completion.model == "local/smollm2"
    assert completion.id.startswith("cmpl-") and len(completion.choices) == 1
    choice = completion.choices[0]
    assert choice.text.strip() and choice.index == 0 and choice.logprobs is None
    assert choice.finish_reason in ("stop", "length")
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 0 and 0 < usage.completion_tokens <= 8
    request_id = raw.headers["x-parity-request-id"]
    assert raw.headers["x-parity-model"] == "local/smollm2"
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.status == 200 and row.model_answered == "local/smollm2" and not row.stream
    assert row.key_id == "team-a" and row.output_tokens == usage.completion_tokens
    assert row.trace is not None and row.trace["door"] == "completions"
    assert row.trace["completion_id"] == completion.id
    assert row.cost_usd is not None and row.cost_usd > 0


def test_the_embedded_model_streams_text_completion_chunks_with_usage(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    stream = client.completions.create(
        model="local/smollm2",
        prompt="Count to five.",
        max_tokens=10,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    texts = [c.choices[0].text for c in chunks if c.choices]
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert "".join(texts).strip()
    assert finishes[-1] in ("stop", "length") and not any(finishes[:-1])
    assert all(c.object == "text_completion" and c.model == "local/smollm2" for c in chunks)
    assert len({c.id for c in chunks}) == 1
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    assert 0 < last.usage.completion_tokens <= 10
    # on the wire: data events, the last one [DONE]; without include_usage no usage chunk
    with httpx.stream(
        "POST",
        f"{gateway.v1}/completions",
        headers={"authorization": f"Bearer {TEAM_A}"},
        json={"model": "local/smollm2", "prompt": "Hi", "max_tokens": 4, "stream": True},
        timeout=60,
    ) as answer:
        assert answer.status_code == 200
        assert answer.headers["content-type"] == "text/event-stream"
        request_id = answer.headers["x-parity-request-id"]
        lines = [line for line in answer.iter_lines() if line]
    assert lines[-1] == "data: [DONE]"
    events = [json.loads(line.removeprefix("data: ")) for line in lines[:-1]]
    assert events and all("usage" not in e for e in events)
    _valid("CreateCompletionResponse", events[-1])  # the last chunk has its finish_reason
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.status == 200 and row.stream and row.trace is not None
    assert row.trace["door"] == "completions" and (row.output_tokens or 0) > 0


def test_a_route_alias_is_planned_like_chat(client: openai.OpenAI, gateway: GatewayProcess) -> None:
    raw = client.completions.with_raw_response.create(
        model="parity/auto", prompt="Say yes.", max_tokens=4
    )
    assert raw.parse().model == "local/smollm2"
    request_id = raw.headers["x-parity-request-id"]
    assert raw.headers["x-parity-route"] == "default: local/smollm2"
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.model_requested == "parity/auto" and row.route == "parity/auto"
    assert row.model_answered == "local/smollm2"


def test_an_openai_compatible_upstream_gets_one_user_message(
    client: openai.OpenAI, gateway: GatewayProcess, vendor: VendorFake
) -> None:
    raw = client.completions.with_raw_response.create(
        model="fake/echo", prompt="hello there", stop=["\n\n"], seed=7, user="ann", temperature=0.5
    )
    completion = raw.parse()
    _valid("CreateCompletionResponse", raw.http_response.json())
    assert completion.choices[0].text == "Echo: hello there"
    assert completion.choices[0].finish_reason == "stop"
    sent = _sent(vendor)
    assert sent["messages"] == [{"role": "user", "content": "hello there"}]
    assert sent["max_tokens"] == 16  # OpenAI's default for this endpoint
    assert (sent["stop"], sent["seed"], sent["user"], sent["temperature"]) == (
        ["\n\n"],
        7,
        "ann",
        0.5,
    )
    assert not {"prompt", "n", "echo"} & set(sent)
    usage = completion.usage
    assert usage is not None
    request_id = raw.headers["x-parity-request-id"]
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert (row.input_tokens, row.output_tokens) == (usage.prompt_tokens, usage.completion_tokens)
    assert row.trace is not None and row.trace["door"] == "completions"


@pytest.mark.parametrize("model", ["fake/echo", "claude/echo"])
def test_streams_and_answers_from_openai_and_anthropic_upstreams(
    client: openai.OpenAI, model: str
) -> None:
    whole = client.completions.create(model=model, prompt="stream me please", max_tokens=50)
    assert whole.choices[0].text == "Echo: stream me please"
    assert whole.usage is not None and whole.usage.completion_tokens > 0
    chunks = list(
        client.completions.create(
            model=model,
            prompt="stream me please",
            max_tokens=50,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == "Echo: stream me please"
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == whole.usage.completion_tokens


def _post(gateway: GatewayProcess, body: Any) -> httpx.Response:
    return httpx.post(
        f"{gateway.v1}/completions",
        headers={"authorization": f"Bearer {TEAM_A}"},
        content=json.dumps(body),
        timeout=30,
    )


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        ({"model": "fake/echo"}, 400, "prompt"),
        ({"model": "fake/echo", "prompt": 12}, 400, "prompt"),
        ({"model": "fake/echo", "prompt": ["a", "b"]}, 400, "prompt"),
        ({"model": "fake/echo", "prompt": [1, 2]}, 400, "prompt"),
        ({"model": "fake/echo", "prompt": "x", "n": 2}, 400, "n"),
        ({"model": "fake/echo", "prompt": "x", "echo": True}, 400, "echo"),
        ({"model": "fake/echo", "prompt": "x", "logprobs": 2}, 400, "logprobs"),
        ({"model": "fake/echo", "prompt": "x", "best_of": 2}, 400, "best_of"),
        ({"model": "fake/echo", "prompt": "x", "suffix": "end"}, 400, "suffix"),
        ({"model": "fake/echo", "prompt": "x", "max_tokens": -1}, 400, "max_tokens"),
        ({"model": "no-such-model", "prompt": "x"}, 404, "model"),
    ],
)
def test_bad_input_is_a_typed_error_with_a_row_and_no_upstream_call(
    gateway: GatewayProcess, vendor: VendorFake, body: dict[str, Any], status: int, param: str
) -> None:
    before = len(vendor.received())
    answer = _post(gateway, body)
    assert answer.status_code == status
    error = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param and error["type"] == "invalid_request_error"
    if status == 404:
        assert error["code"] == "model_not_found"
    assert len(vendor.received()) == before  # a client's mistake costs no upstream call
    request_id = answer.headers["x-parity-request-id"]
    row = wait_for_rows(gateway.ledger_url, {request_id})[request_id]
    assert row.status == status and row.error_type is not None
    assert row.trace is not None and row.trace["door"] == "completions"


def test_the_sdk_sees_the_refusals_as_its_own_errors(client: openai.OpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as refused:
        client.completions.create(model="fake/echo", prompt="x", n=2)
    assert refused.value.param == "n" and refused.value.code == "unsupported_parameter"
    with pytest.raises(openai.NotFoundError) as unknown:
        client.completions.create(model="no-such-model", prompt="x")
    assert unknown.value.code == "model_not_found"


def test_keys_limits_and_model_rights_apply(gateway: GatewayProcess) -> None:
    with _sdk(gateway, TEAM_C) as limited:
        limited.completions.create(model="fake/echo", prompt="one", max_tokens=4)
        with pytest.raises(openai.RateLimitError):
            limited.completions.create(model="fake/echo", prompt="two", max_tokens=4)
    with _sdk(gateway, TEAM_B) as narrow, pytest.raises(openai.PermissionDeniedError):
        narrow.completions.create(model="local/smollm2", prompt="x")
    with _sdk(gateway, "sk-wrong") as stranger, pytest.raises(openai.AuthenticationError):
        stranger.completions.create(model="fake/echo", prompt="x")


def test_models_retrieve_answers_what_the_key_may_see(gateway: GatewayProcess) -> None:
    with _sdk(gateway, TEAM_A) as sdk:
        local = sdk.models.retrieve("local/smollm2")  # sent as local%2Fsmollm2
        assert (local.id, local.object, local.owned_by) == ("local/smollm2", "model", "openai")
        _valid("Model", local.model_dump(mode="json", exclude_unset=True))
        route = sdk.models.retrieve("parity/auto")
        assert (route.id, route.owned_by) == ("parity/auto", "parity")
        listed = {m.id for m in sdk.models.list()}
        assert all(sdk.models.retrieve(name).id == name for name in listed)
        with pytest.raises(openai.NotFoundError) as caught:
            sdk.models.retrieve("no/such-model")
        assert caught.value.code == "model_not_found"
    with _sdk(gateway, TEAM_B) as narrow:
        assert narrow.models.retrieve("fake/echo").id == "fake/echo"
        for hidden in ("local/smollm2", "parity/auto"):
            with pytest.raises(openai.NotFoundError) as caught:
                narrow.models.retrieve(hidden)
            assert caught.value.code == "model_not_found"
            assert "claude/echo" not in caught.value.message  # nothing of others' models
    raw = httpx.get(  # the slash unencoded, as curl sends it
        f"{gateway.v1}/models/local/smollm2",
        headers={"authorization": f"Bearer {TEAM_A}"},
        timeout=10,
    )
    assert raw.status_code == 200 and raw.json()["id"] == "local/smollm2"
    assert httpx.get(f"{gateway.v1}/models/local/smollm2", timeout=10).status_code == 401
    wrong = httpx.post(f"{gateway.v1}/models/local/smollm2", timeout=10)
    assert wrong.status_code == 405 and wrong.headers["allow"] == "GET"
