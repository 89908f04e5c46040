"""The fake vendor itself: Anthropic's request checks and error shape, control endpoints."""

from __future__ import annotations

import base64
import struct
from typing import Any

import httpx
import pytest

from tests.fakes.fixtures import VendorFake

HEADERS = {"x-api-key": "sk-ant-secret-9876", "anthropic-version": "2023-06-01"}
HI = [{"role": "user", "content": "hi"}]


def messages(fake: VendorFake, body: dict[str, Any], **headers: str) -> httpx.Response:
    sent = {k: v for k, v in (HEADERS | headers).items() if v}
    return httpx.post(f"{fake.base_url}/v1/messages", json=body, headers=sent, trust_env=False)


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (
            {"model": "m", "max_tokens": 5, "messages": HI},
            {"x-api-key": ""},
            (401, "authentication_error", "x-api-key"),
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": HI},
            {"anthropic-version": ""},
            (400, "invalid_request_error", "anthropic-version"),
        ),
        (
            {"model": "m", "messages": HI},
            {},
            (400, "invalid_request_error", "max_tokens: Field required"),
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": HI, "n": 2},
            {},
            (400, "invalid_request_error", "n: Extra inputs"),
        ),
        (
            {"model": "m", "max_tokens": 5, "messages": [{"role": "system", "content": "x"}]},
            {},
            (400, "invalid_request_error", "role"),
        ),
        (
            {"model": "m", "max_tokens": 5, "temperature": 1.5, "messages": HI},
            {},
            (400, "invalid_request_error", "temperature"),
        ),
        (
            {
                "model": "m",
                "max_tokens": 5,
                "messages": [
                    {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1"}]}
                ],
            },
            {},
            (400, "invalid_request_error", "tool_use_id"),
        ),
        (
            {"model": "overloaded-529", "max_tokens": 5, "messages": HI},
            {},
            (529, "overloaded_error", "Overloaded"),
        ),
        ({"model": "status-402", "max_tokens": 5, "messages": HI}, {}, (402, "billing_error", "")),
    ],
)
def test_anthropic_checks_and_error_shape(
    vendor: VendorFake,
    body: dict[str, Any],
    headers: dict[str, str],
    expected: tuple[int, str, str],
) -> None:
    status, kind, says = expected
    answer = messages(vendor, body, **headers)
    assert answer.status_code == status
    data = answer.json()
    assert data["type"] == "error"
    assert data["error"]["type"] == kind and says in data["error"]["message"]
    assert answer.headers["request-id"] == data["request_id"]


def test_received_masks_secrets_and_reset_clears_flaky_counters(vendor: VendorFake) -> None:
    body = {"model": "flaky-1", "max_tokens": 5, "messages": HI}
    assert messages(vendor, body).status_code == 500
    assert messages(vendor, body).status_code == 200
    [first, _] = vendor.received()
    assert first["headers"]["x-api-key"] == "***9876"
    assert first["body"] == body
    vendor.reset()
    assert vendor.received() == []
    assert messages(vendor, body).status_code == 500


def test_embeddings_base64_matches_floats(vendor: VendorFake) -> None:
    def embed(encoding: str) -> Any:
        answer = httpx.post(
            f"{vendor.openai_url}/embeddings",
            json={
                "model": "e",
                "input": "hello world",
                "dimensions": 8,
                "encoding_format": encoding,
            },
            headers={"authorization": "Bearer k"},
            trust_env=False,
        )
        return answer.json()["data"][0]["embedding"]

    floats = embed("float")
    packed = struct.unpack("<8f", base64.b64decode(embed("base64")))
    assert len(floats) == 8
    assert floats == pytest.approx(list(packed), rel=1e-6)
