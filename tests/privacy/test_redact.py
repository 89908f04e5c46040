"""Redact then route: mask a chat body before the call, restore the answer after it."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from parity.privacy.detector import PrivacyDetector, PrivacySettings
from parity.privacy.redact import (
    ChatStreamRestorer,
    StreamRestorer,
    Vault,
    mask_chat,
    mask_texts,
    restore_response,
    restore_text,
)


@pytest.fixture(scope="module")
def detector() -> PrivacyDetector:
    return PrivacyDetector(PrivacySettings())


def chat_body() -> dict[str, Any]:
    return {
        "model": "gpt-4o",
        "temperature": 0,
        "messages": [
            {"role": "system", "content": "Answer briefly."},
            {
                "role": "user",
                "content": [
                    {
                        "type": "text",
                        "text": "Email jane@example.com about card 4111 1111 1111 1111.",
                    },
                    {"type": "image_url", "image_url": {"url": "https://example.com/a.png"}},
                ],
            },
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "send", "arguments": '{"to": "jane@example.com"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sent to jane@example.com"},
        ],
    }


def test_mask_chat_uses_stable_placeholders_and_leaves_the_body_alone(
    detector: PrivacyDetector,
) -> None:
    body = chat_body()
    before = copy.deepcopy(body)
    masked = mask_chat(body, detector.scan_chat(body))
    assert body == before
    messages = masked.body["messages"]
    assert messages[1]["content"][0]["text"] == "Email <EMAIL_1> about card <CARD_1>."
    assert json.loads(messages[2]["tool_calls"][0]["function"]["arguments"]) == {"to": "<EMAIL_1>"}
    assert messages[3]["content"] == "sent to <EMAIL_1>"
    assert masked.vault.by_placeholder == {
        "<EMAIL_1>": "jane@example.com",
        "<CARD_1>": "4111 1111 1111 1111",
    }
    assert masked.masked == 4
    # Parts with nothing to mask are shared, not copied.
    assert messages[0] is body["messages"][0]
    assert messages[1]["content"][1] is body["messages"][1]["content"][1]
    assert "jane@example.com" not in json.dumps(masked.body)


def test_masked_body_scans_clean(detector: PrivacyDetector) -> None:
    body = chat_body()
    masked = mask_chat(body, detector.scan_chat(body))
    assert not detector.scan_chat(masked.body).sensitive


def test_mask_only_some_data_classes(detector: PrivacyDetector) -> None:
    body = chat_body()
    masked = mask_chat(body, detector.scan_chat(body), data_classes={"pii.credit_card"})
    assert masked.body["messages"][1]["content"][0]["text"] == (
        "Email jane@example.com about card <CARD_1>."
    )
    assert masked.masked == 1


def test_distinct_values_get_distinct_numbers_and_a_vault_carries_over(
    detector: PrivacyDetector,
) -> None:
    texts = ["a@example.com, b@example.com, a@example.com"]
    masked, vault = mask_texts(texts, detector.scan(texts))
    assert masked == ["<EMAIL_1>, <EMAIL_2>, <EMAIL_1>"]
    later = ["reply to b@example.com and c@example.com"]
    again, _ = mask_texts(later, detector.scan(later), vault=vault)
    assert again == ["reply to <EMAIL_2> and <EMAIL_3>"]


def test_overlapping_entities_are_masked_once(detector: PrivacyDetector) -> None:
    texts = ["db: postgres://admin:S3cretPw@db.example.com:5432/app"]
    masked, vault = mask_texts(texts, detector.scan(texts))
    assert "S3cretPw" not in masked[0]
    assert restore_text(masked[0], vault) == texts[0]


def test_restore_response_puts_values_back() -> None:
    vault = Vault()
    email = vault.placeholder("EMAIL_ADDRESS", "jane@example.com")
    response = {
        "id": "chatcmpl-1",
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": f"I wrote to {email}. <EMAIL_9> is unknown.",
                    "tool_calls": [
                        {
                            "id": "t",
                            "function": {"name": "send", "arguments": f'{{"to":"{email}"}}'},
                        }
                    ],
                },
                "finish_reason": "stop",
            }
        ],
    }
    restored = restore_response(response, vault)
    message = restored["choices"][0]["message"]
    assert message["content"] == "I wrote to jane@example.com. <EMAIL_9> is unknown."
    assert message["tool_calls"][0]["function"]["arguments"] == '{"to":"jane@example.com"}'
    assert "<EMAIL_1>" in json.dumps(response)  # the original is left as it was


def make_vault() -> Vault:
    vault = Vault()
    vault.placeholder("EMAIL_ADDRESS", "jane@example.com")
    vault.placeholder("CREDIT_CARD", "4111 1111 1111 1111")
    return vault


ANSWER = "Sent <EMAIL_1> the receipt for <CARD_1>; a<b and <not a placeholder> stay. <EMAIL_1>"
RESTORED = (
    "Sent jane@example.com the receipt for 4111 1111 1111 1111; a<b and "
    "<not a placeholder> stay. jane@example.com"
)


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 13])
def test_stream_restorer_handles_placeholders_split_anywhere(size: int) -> None:
    restorer = StreamRestorer(make_vault())
    pieces = [ANSWER[i : i + size] for i in range(0, len(ANSWER), size)]
    out = "".join(restorer.feed(piece) for piece in pieces) + restorer.flush()
    assert out == RESTORED


def test_stream_restorer_never_shows_half_a_placeholder() -> None:
    restorer = StreamRestorer(make_vault())
    for piece in ["Sent <EM", "AIL", "_1> ok"]:
        assert "<EM" not in restorer.feed(piece)


def test_chat_stream_restorer_on_content_and_tool_call_chunks() -> None:
    restorer = ChatStreamRestorer(make_vault())

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {"id": "c", "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    chunks = [
        chunk({"role": "assistant", "content": ""}),
        chunk({"content": "To <EMA"}),
        chunk({"content": "IL_1>, card <CA"}),
        chunk(
            {"tool_calls": [{"index": 0, "function": {"name": "send", "arguments": '{"to":"<EM'}}]}
        ),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": 'AIL_1>"}'}}]}),
        chunk({}, finish="stop"),
    ]
    out = [restorer.restore_chunk(c)["choices"][0]["delta"] for c in chunks]
    content = "".join(d.get("content") or "" for d in out)
    arguments = "".join(
        call["function"]["arguments"] for d in out for call in d.get("tool_calls", [])
    )
    assert content == "To jane@example.com, card <CA"
    assert arguments == '{"to":"jane@example.com"}'
    assert restorer.flush() == {}


def test_chat_stream_restorer_flush_when_a_stream_stops_early() -> None:
    restorer = ChatStreamRestorer(make_vault())
    restorer.restore_chunk({"choices": [{"index": 0, "delta": {"content": "to <EMAIL_"}}]})
    assert restorer.flush() == {0: "<EMAIL_"}


def test_empty_vault_passes_chunks_through() -> None:
    restorer = ChatStreamRestorer(Vault())
    chunk = {"choices": [{"index": 0, "delta": {"content": "<EMAIL_1"}, "finish_reason": None}]}
    assert restorer.restore_chunk(chunk) == chunk
