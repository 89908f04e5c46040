"""POST /v1/embeddings through a real `parity serve`, with the official openai SDK.

The backends are real: the bundled all-MiniLM-L6-v2 (in the gateway's worker thread), the
embedded llama.cpp server in embedding mode on SmolLM2, and the local fake vendor speaking
OpenAI's embeddings wire, errors included. Every answer is checked against OpenAI's published
document (tests/fixtures), and every request, answered or refused, against its ledger row.
"""

from __future__ import annotations

import base64
import json
import math
import struct
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.deployments import FAKE_KEY, FAKE_KEY_ENV
from tests.fakes.embeddings import embed
from tests.fakes.fixtures import VendorFake
from tests.fixtures.openai_schemas import validator
from tests.servers import GatewayProcess, start_gateway, wait_for_rows

TEAM_A = "sk-embed-team-a-0123456789"  # every model
TEAM_C = "sk-embed-team-c-0123456789"  # one request a minute
MINILM_MAX_INPUTS = 8
VENDOR_PRICE = 0.02  # USD per 1M tokens: text-embedding-3-small's list price
MINILM_PRICE = 0.01


def _vendor(name: str, upstream: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": name,
        "provider": "openai",
        "base_url": "",
        "api_key_env": FAKE_KEY_ENV,
        "upstream_model": upstream,
        "engine": "openai",
        "residency": "vendor",
        "serves": ["embeddings"],
        "price": {"input": VENDOR_PRICE},
        **fields,
    }


def embeddings_config(vendor: VendorFake) -> dict[str, Any]:
    """MiniLM, llama.cpp in embedding mode, fake-vendor embedders, and one chat model."""
    models: list[dict[str, Any]] = [
        {
            "id": "local/minilm",
            "provider": "minilm",
            "max_inputs": MINILM_MAX_INPUTS,
            "price": {"input": MINILM_PRICE},
        },
        {"id": "local/smollm2-embed", "provider": "local", "serves": ["embeddings"]},
        _vendor("fake/embed", "text-embedding-3-small"),
        _vendor("fake/embed-refuses", "bad-request"),
        _vendor("fake/embed-down", "error-500"),
        _vendor("fake/embed-short", "empty"),
        {**_vendor("fake/echo", "fake-model"), "serves": ["chat"]},
    ]
    for model in models:
        if model["provider"] == "openai":
            model["base_url"] = vendor.openai_url
    return {
        "models": models,
        "local": {"n_ctx": 512, "n_threads": 1},
        "retry": {"attempts": 2, "backoff_s": 0.01, "breaker_failures": 3},
        "keys": [
            {"id": "team-a", "key_env": "TEAM_A_KEY"},
            {"id": "team-c", "key_env": "TEAM_C_KEY", "rpm": 1},
        ],
    }


@pytest.fixture(scope="module")
def gateway(
    vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    env = {FAKE_KEY_ENV: FAKE_KEY, "TEAM_A_KEY": TEAM_A, "TEAM_C_KEY": TEAM_C}
    tmp = tmp_path_factory.mktemp("embeddings")
    gw = start_gateway(tmp, embeddings_config(vendor_fake), env=env)
    yield gw
    gw.stop()


@pytest.fixture
def client(gateway: GatewayProcess, vendor: VendorFake) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=gateway.v1, api_key=TEAM_A, max_retries=0, timeout=60) as sdk:
        yield sdk


def _post(gateway: GatewayProcess, body: Any, key: str = TEAM_A) -> httpx.Response:
    return httpx.post(
        f"{gateway.v1}/embeddings",
        json=body,
        headers={"authorization": f"Bearer {key}"},
        timeout=60,
    )


def _valid(answer: dict[str, Any]) -> None:
    errors = list(validator("CreateEmbeddingResponse").iter_errors(answer))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]


def _row(gateway: GatewayProcess, request_id: str) -> Any:
    return wait_for_rows(gateway.ledger_url, {request_id})[request_id]


def _norm(vector: list[float]) -> float:
    return math.sqrt(sum(v * v for v in vector))


def _cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / (_norm(a) * _norm(b))


TEXTS = [
    "How many apples does Tom have left after giving away three?",
    "Tom gave away 3 apples. How many apples remain?",
    "Write a sonnet about the autumn sea.",
]


def test_minilm_answers_the_sdk_in_base64_and_float_and_the_ledger_prices_it(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    raw = client.embeddings.with_raw_response.create(model="local/minilm", input=TEXTS)
    assert json.loads(raw.http_request.content)["encoding_format"] == "base64"  # SDK default
    answer = raw.parse()
    assert [d.index for d in answer.data] == [0, 1, 2]
    vectors = [d.embedding for d in answer.data]
    assert all(len(v) == 384 and abs(_norm(v) - 1) < 1e-3 for v in vectors)
    assert _cos(vectors[0], vectors[1]) > _cos(vectors[0], vectors[2]) + 0.3  # by meaning
    assert answer.model == "local/minilm"
    assert raw.headers["x-parity-model"] == "local/minilm"
    floats = client.embeddings.create(
        model="local/minilm", input=TEXTS, encoding_format="float"
    ).data
    assert all(
        abs(x - y) < 1e-6
        for d, v in zip(floats, vectors, strict=True)
        for x, y in zip(d.embedding, v, strict=True)
    )
    row = _row(gateway, raw.headers["x-parity-request-id"])
    assert row.status == 200 and row.model_answered == "local/minilm"
    assert row.input_tokens == answer.usage.prompt_tokens > len(TEXTS) * 3
    assert row.output_tokens == 0 and not row.usage_estimated
    assert row.cost_usd == pytest.approx(row.input_tokens * MINILM_PRICE / 1e6)
    assert row.residency == "on_prem" and row.key_id == "team-a"
    assert row.trace["door"] == "embeddings"
    assert row.upstream_model == "sentence-transformers/all-MiniLM-L6-v2"


def test_the_answer_is_true_to_openais_document(gateway: GatewayProcess) -> None:
    for model in ("local/minilm", "fake/embed", "local/smollm2-embed"):
        answer = _post(gateway, {"model": model, "input": "one", "encoding_format": "float"})
        assert answer.status_code == 200, answer.text
        _valid(answer.json())


def test_a_vendor_upstream_gets_the_wire_as_sent_and_its_vectors_come_back(
    client: openai.OpenAI, gateway: GatewayProcess, vendor: VendorFake
) -> None:
    raw = client.embeddings.with_raw_response.create(
        model="fake/embed", input=["alpha beta", "gamma"], dimensions=32, user="u-7"
    )
    answer = raw.parse()
    for got, text in zip(answer.data, ["alpha beta", "gamma"], strict=True):
        assert got.embedding == pytest.approx(embed(text, 32), abs=1e-6)  # float32 on the wire
    sent = [r for r in vendor.received() if r["path"] == "/v1/embeddings"][-1]["body"]
    assert sent["model"] == "text-embedding-3-small"
    assert sent["encoding_format"] == "base64" and sent["dimensions"] == 32
    assert sent["user"] == "u-7"
    row = _row(gateway, raw.headers["x-parity-request-id"])
    assert row.input_tokens == answer.usage.prompt_tokens == 3  # the fake counts words
    assert row.cost_usd == pytest.approx(3 * VENDOR_PRICE / 1e6)
    assert row.residency == "vendor" and row.sent_to == ["vendor"]


def test_token_ids_pass_to_an_openai_upstream_and_minilm_refuses_them(
    gateway: GatewayProcess,
) -> None:
    taken = _post(gateway, {"model": "fake/embed", "input": [[1, 2, 3], [4]]})
    assert taken.status_code == 200 and len(taken.json()["data"]) == 2
    refused = _post(gateway, {"model": "local/minilm", "input": [[1, 2, 3]]})
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["param"] == "input" and "check_embedding_ctx_length=False" in error["message"]


def test_llama_cpp_in_embedding_mode_answers_the_sdk(
    client: openai.OpenAI, gateway: GatewayProcess
) -> None:
    answer = client.embeddings.create(model="local/smollm2-embed", input=["hello there", "bye"])
    assert len(answer.data) == 2 and len(answer.data[0].embedding) == 576  # SmolLM2's width
    assert answer.usage.prompt_tokens > 0
    chat = httpx.post(
        f"{gateway.v1}/chat/completions",
        json={"model": "local/smollm2-embed", "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {TEAM_A}"},
        timeout=30,
    )
    assert chat.status_code == 400
    assert chat.json()["error"]["code"] == "model_not_supported"


def _refused(gateway: GatewayProcess, body: Any, status: int, param: str | None) -> dict[str, Any]:
    answer = _post(gateway, body)
    assert answer.status_code == status, answer.text
    error: dict[str, Any] = answer.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["param"] == param
    row = _row(gateway, answer.headers["x-parity-request-id"])
    assert row.status == status and row.error_type is not None
    return error


def test_bad_input_is_refused_with_a_typed_error_and_leaves_its_row(
    gateway: GatewayProcess,
) -> None:
    _refused(gateway, {"model": "local/minilm"}, 400, "input")
    _refused(gateway, {"model": "local/minilm", "input": ""}, 400, "input")
    _refused(gateway, {"model": "local/minilm", "input": ["a", ""]}, 400, "input[1]")
    _refused(gateway, {"model": "local/minilm", "input": ["a", 7]}, 400, "input[1]")
    _refused(gateway, {"model": "local/minilm", "input": {"x": 1}}, 400, "input")
    _refused(
        gateway,
        {"model": "local/minilm", "input": "a", "encoding_format": "hex"},
        400,
        "encoding_format",
    )
    _refused(gateway, {"model": "local/minilm", "input": "a", "dimensions": 100}, 400, "dimensions")
    assert (
        _refused(gateway, {"model": "nope", "input": "a"}, 404, "model")["code"]
        == "model_not_found"
    )
    served = _refused(gateway, {"model": "fake/echo", "input": "a"}, 400, "model")
    assert served["code"] == "model_not_supported" and "local/minilm" in served["message"]
    chat = httpx.post(
        f"{gateway.v1}/chat/completions",
        json={"model": "local/minilm", "messages": [{"role": "user", "content": "hi"}]},
        headers={"authorization": f"Bearer {TEAM_A}"},
        timeout=30,
    )
    assert chat.status_code == 400 and chat.json()["error"]["param"] == "model"
    unauthorised = _post(gateway, {"model": "local/minilm", "input": "a"}, key="sk-wrong")
    assert unauthorised.status_code == 401


def test_an_input_over_minilms_limit_is_refused_not_cut(gateway: GatewayProcess) -> None:
    long = " ".join(["word"] * 300)
    error = _refused(gateway, {"model": "local/minilm", "input": ["short", long]}, 400, "input[1]")
    assert error["code"] == "context_length_exceeded" and "256" in error["message"]
    many = [f"text {i}" for i in range(MINILM_MAX_INPUTS + 1)]
    error = _refused(gateway, {"model": "local/minilm", "input": many}, 400, "input")
    assert error["code"] == "too_many_inputs"
    assert _post(gateway, {"model": "local/minilm", "input": many[:-1]}).status_code == 200


def test_an_upstream_refusal_is_the_clients_400_and_never_opens_the_breaker(
    gateway: GatewayProcess, vendor: VendorFake
) -> None:
    for _ in range(5):  # more than breaker_failures
        error = _refused(gateway, {"model": "fake/embed-refuses", "input": "a"}, 400, None)
        assert "$.input" in error["message"]
    answer = _post(gateway, {"model": "fake/embed-refuses", "input": "a"})
    row = _row(gateway, answer.headers["x-parity-request-id"])
    assert answer.status_code == 400 and row.attempts == 1  # no retry, still called
    assert row.trace["attempts"][0]["status"] == 400


def test_an_upstream_failure_is_retried_then_a_502(gateway: GatewayProcess) -> None:
    answer = _post(gateway, {"model": "fake/embed-down", "input": "a"})
    assert answer.status_code == 502
    row = _row(gateway, answer.headers["x-parity-request-id"])
    assert row.attempts == 2 and row.error_type == "UpstreamServerError"
    short = _post(gateway, {"model": "fake/embed-short", "input": ["a", "b"]})
    assert short.status_code == 502 and short.json()["error"]["type"] == "upstream_protocol_error"


def test_a_keys_rate_limit_counts_embeddings(gateway: GatewayProcess) -> None:
    first = _post(gateway, {"model": "local/minilm", "input": "a"}, key=TEAM_C)
    second = _post(gateway, {"model": "local/minilm", "input": "b"}, key=TEAM_C)
    assert first.status_code == 200
    assert second.status_code == 429 and second.headers.get("retry-after")
    row = _row(gateway, second.headers["x-parity-request-id"])
    assert row.status == 429 and row.key_id == "team-c"


def test_base64_from_the_gateway_is_little_endian_float32(gateway: GatewayProcess) -> None:
    answer = _post(gateway, {"model": "local/minilm", "input": "a", "encoding_format": "base64"})
    encoded = answer.json()["data"][0]["embedding"]
    raw = base64.b64decode(encoded)
    values = struct.unpack(f"<{len(raw) // 4}f", raw)
    assert len(values) == 384 and abs(_norm(list(values)) - 1) < 1e-3


def test_langchain_openai_embeddings_as_a_stranger(gateway: GatewayProcess) -> None:
    lc = pytest.importorskip("langchain_openai")
    embeddings = lc.OpenAIEmbeddings(
        model="local/minilm",
        base_url=gateway.v1,
        api_key=TEAM_A,
        check_embedding_ctx_length=False,  # it would send tiktoken ids, not MiniLM's
        max_retries=0,
    )
    documents = embeddings.embed_documents(TEXTS)
    query = embeddings.embed_query(TEXTS[0])
    assert len(documents) == 3 and len(query) == 384
    assert _cos(query, documents[1]) > _cos(query, documents[2])
