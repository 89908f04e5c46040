"""Content parts are checked by their type before anything goes upstream (400 naming the part)."""

from __future__ import annotations

from typing import Any

import pytest

from parity.errors import InvalidField
from parity.gateway.chat_fields import check_message_fields


@pytest.mark.parametrize(
    "part",
    [
        {"type": "text", "text": "hi"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}},
        {"type": "input_audio", "input_audio": {"data": "AAAA", "format": "wav"}},
        {"type": "file", "file": {"file_id": "file-1"}},
        {"type": "refusal", "refusal": "no"},
    ],
)
def test_openai_content_parts_pass(part: dict[str, Any]) -> None:
    check_message_fields({"role": "user", "content": [part]}, "messages[0]")


@pytest.mark.parametrize(
    ("part", "param"),
    [
        ({"type": "trace"}, "messages[0].content[0]"),
        ({"type": ""}, "messages[0].content[0]"),
        ({"type": {}}, "messages[0].content[0]"),  # unhashable: a 400, not a 500
        ({"type": ["text"]}, "messages[0].content[0]"),
        ("text", "messages[0].content[0]"),
        ({"type": "text"}, "messages[0].content[0].text"),
        ({"type": "text", "text": 3}, "messages[0].content[0].text"),
        ({"type": "image_url", "image_url": "https://x"}, "messages[0].content[0].image_url"),
        ({"type": "image_url", "image_url": {}}, "messages[0].content[0].image_url.url"),
        ({"type": "file", "file": None}, "messages[0].content[0].file"),
    ],
)
def test_a_part_of_no_known_type_or_without_its_field_is_refused(part: Any, param: str) -> None:
    with pytest.raises(InvalidField) as raised:
        check_message_fields({"role": "user", "content": [part]}, "messages[0]")
    assert raised.value.param == param
