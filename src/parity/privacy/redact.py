"""Redact then route: mask detected entities before a call, restore them in the answer.

``mask_chat`` replaces each detected value in a chat body with a stable placeholder
(``<EMAIL_1>``; the same value always gets the same placeholder within one ``Vault``) and copies
only the parts of the body it changes. ``restore_text`` and ``restore_response`` put the values
back in a whole answer; ``StreamRestorer`` and ``ChatStreamRestorer`` do it chunk by chunk,
holding back a chunk's tail while it could be the start of a placeholder split across chunks.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from parity.privacy.detector import PrivacyFindings, chat_texts
from parity.privacy.types import Entity, label_of

__all__ = [
    "ChatStreamRestorer",
    "MaskedChat",
    "StreamRestorer",
    "Vault",
    "mask_chat",
    "mask_texts",
    "restore_response",
    "restore_text",
]

_PLACEHOLDER = re.compile(r"<[A-Z][A-Z0-9_]*_\d+>")
_PARTIAL = re.compile(r"<[A-Z0-9_]*")


@dataclass(slots=True)
class Vault:
    """The placeholders of one request (or one conversation) and the values they stand for."""

    by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    by_placeholder: dict[str, str] = field(default_factory=dict)
    counters: dict[str, int] = field(default_factory=dict)

    def placeholder(self, entity_type: str, value: str) -> str:
        """The placeholder for ``value``; a value seen before gets its earlier placeholder."""
        label = label_of(entity_type)
        key = (label, value)
        known = self.by_value.get(key)
        if known is not None:
            return known
        number = self.counters.get(label, 0) + 1
        self.counters[label] = number
        made = f"<{label}_{number}>"
        self.by_value[key] = made
        self.by_placeholder[made] = value
        return made

    @property
    def longest(self) -> int:
        """The length of the longest placeholder (how much a stream may need to hold back)."""
        return max((len(p) for p in self.by_placeholder), default=0)

    def __len__(self) -> int:
        return len(self.by_placeholder)


@dataclass(slots=True, frozen=True)
class MaskedChat:
    """A chat body with entities masked, the vault to restore them, and how many were masked."""

    body: dict[str, Any]
    vault: Vault
    masked: int


def mask_texts(
    texts: Sequence[str],
    findings: PrivacyFindings,
    *,
    vault: Vault | None = None,
    data_classes: Collection[str] | None = None,
) -> tuple[list[str], Vault]:
    """``texts`` with the entities of ``findings`` (optionally only some data classes) masked."""
    vault = Vault() if vault is None else vault
    by_index = _entities_by_index(findings, data_classes)
    masked = [_mask_one(text, by_index.get(index, []), vault) for index, text in enumerate(texts)]
    return masked, vault


def mask_chat(
    body: Mapping[str, Any],
    findings: PrivacyFindings,
    *,
    vault: Vault | None = None,
    data_classes: Collection[str] | None = None,
) -> MaskedChat:
    """Mask the entities of ``findings`` (from ``detector.scan_chat(body)``) in ``body``.

    The body itself is not changed; the result shares every part it did not need to change.
    """
    vault = Vault() if vault is None else vault
    by_index = _entities_by_index(findings, data_classes)
    root: dict[str, Any] = dict(body)
    copied: set[int] = {id(root)}
    count = 0
    for index, piece in enumerate(chat_texts(body)):
        entities = by_index.get(index)
        if not entities:
            continue
        _set_path(root, piece.path, _mask_one(piece.text, entities, vault), copied)
        count += len(_non_overlapping(entities))
    return MaskedChat(body=root, vault=vault, masked=count)


def restore_text(text: str, vault: Vault) -> str:
    """``text`` with every placeholder of ``vault`` replaced by its value."""
    if not vault.by_placeholder or "<" not in text:
        return text
    known = vault.by_placeholder
    return _PLACEHOLDER.sub(lambda m: known.get(m.group(), m.group()), text)


def restore_response(body: Mapping[str, Any], vault: Vault) -> dict[str, Any]:
    """A non-streaming chat completion with placeholders restored in contents and tool calls."""
    restored = dict(body)
    choices = body.get("choices")
    if not isinstance(choices, list) or not vault.by_placeholder:
        return restored
    restored["choices"] = [
        {**choice, "message": _restore_message(choice["message"], vault)}
        if isinstance(choice, Mapping) and isinstance(choice.get("message"), Mapping)
        else choice
        for choice in choices
    ]
    return restored


class StreamRestorer:
    """Restores placeholders in a stream of text pieces that may split a placeholder."""

    def __init__(self, vault: Vault):
        self._vault = vault
        self._pending = ""
        self._hold = vault.longest

    def feed(self, piece: str) -> str:
        """The text that can be sent now; a possible placeholder start is held back."""
        data = self._pending + piece
        self._pending = ""
        cut = data.rfind("<")
        if cut != -1 and len(data) - cut < self._hold and _PARTIAL.fullmatch(data, cut):
            self._pending = data[cut:]
            data = data[:cut]
        return restore_text(data, self._vault)

    def flush(self) -> str:
        """Whatever is still held back (at the end of the stream)."""
        data, self._pending = self._pending, ""
        return restore_text(data, self._vault)


class ChatStreamRestorer:
    """Restores placeholders in OpenAI chat-completion stream chunks (parsed JSON objects).

    Each choice's content, and each of its tool calls' arguments, is its own stream; what is
    held back is released in the chunk that carries the choice's ``finish_reason``, or by
    ``flush()`` if the stream ends without one.
    """

    def __init__(self, vault: Vault):
        self._vault = vault
        self._streams: dict[tuple[int, str, int], StreamRestorer] = {}

    def restore_chunk(self, chunk: Mapping[str, Any]) -> dict[str, Any]:
        """``chunk`` with its deltas restored (a new dict; ``chunk`` is not changed)."""
        out = dict(chunk)
        choices = chunk.get("choices")
        if not isinstance(choices, list) or not self._vault.by_placeholder:
            return out
        out["choices"] = [self._choice(c) if isinstance(c, Mapping) else c for c in choices]
        return out

    def flush(self) -> dict[int, str]:
        """Held-back content per choice index, for a stream that ended without finishing."""
        left: dict[int, str] = {}
        for (index, kind, _), stream in sorted(self._streams.items()):
            rest = stream.flush()
            if rest and kind == "content":
                left[index] = left.get(index, "") + rest
        self._streams.clear()
        return left

    def _stream(self, key: tuple[int, str, int]) -> StreamRestorer:
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = StreamRestorer(self._vault)
        return stream

    def _choice(self, choice: Mapping[str, Any]) -> dict[str, Any]:
        index = choice.get("index", 0)
        index = index if isinstance(index, int) else 0
        delta = choice.get("delta")
        new = dict(choice)
        new_delta = self._delta(index, delta) if isinstance(delta, Mapping) else {}
        if choice.get("finish_reason") is not None:
            self._release(index, new_delta)
        if isinstance(delta, Mapping) or new_delta:
            new["delta"] = new_delta
        return new

    def _delta(self, index: int, delta: Mapping[str, Any]) -> dict[str, Any]:
        new = dict(delta)
        content = delta.get("content")
        if isinstance(content, str):
            new["content"] = self._stream((index, "content", 0)).feed(content)
        calls = delta.get("tool_calls")
        if isinstance(calls, list):
            new["tool_calls"] = [self._call(index, call) for call in calls]
        return new

    def _call(self, index: int, call: Any) -> Any:
        function = call.get("function") if isinstance(call, Mapping) else None
        if not isinstance(function, Mapping) or not isinstance(function.get("arguments"), str):
            return call
        position = call.get("index", 0)
        stream = self._stream((index, "tool", position if isinstance(position, int) else 0))
        return {**call, "function": {**function, "arguments": stream.feed(function["arguments"])}}

    def _release(self, index: int, delta: dict[str, Any]) -> None:
        """Put what a finished choice still holds into its last delta."""
        for key in sorted(k for k in self._streams if k[0] == index):
            rest = self._streams.pop(key).flush()
            if not rest:
                continue
            if key[1] == "content":
                delta["content"] = (delta.get("content") or "") + rest
            else:
                calls = list(delta.get("tool_calls") or [])
                calls.append({"index": key[2], "function": {"arguments": rest}})
                delta["tool_calls"] = calls


def _restore_message(message: Mapping[str, Any], vault: Vault) -> dict[str, Any]:
    new = dict(message)
    if isinstance(message.get("content"), str):
        new["content"] = restore_text(message["content"], vault)
    calls = message.get("tool_calls")
    if isinstance(calls, list):
        new["tool_calls"] = [
            {**c, "function": {**c["function"], "arguments": restore_text(args, vault)}}
            if isinstance(c, Mapping)
            and isinstance(c.get("function"), Mapping)
            and isinstance(args := c["function"].get("arguments"), str)
            else c
            for c in calls
        ]
    return new


def _entities_by_index(
    findings: PrivacyFindings, data_classes: Collection[str] | None
) -> dict[int, list[Entity]]:
    grouped: dict[int, list[Entity]] = {}
    for entity in findings.entities:
        if data_classes is None or entity.data_class in data_classes:
            grouped.setdefault(entity.index, []).append(entity)
    return grouped


def _non_overlapping(entities: Sequence[Entity]) -> list[Entity]:
    """The entities to mask: where spans overlap, the one that starts first (then longest)."""
    kept: list[Entity] = []
    for entity in sorted(entities, key=lambda e: (e.start, -e.end)):
        if kept and entity.start < kept[-1].end:
            continue
        kept.append(entity)
    return kept


def _mask_one(text: str, entities: Sequence[Entity], vault: Vault) -> str:
    if not entities:
        return text
    parts: list[str] = []
    position = 0
    for entity in _non_overlapping(entities):
        parts.append(text[position : entity.start])
        parts.append(vault.placeholder(entity.type, text[entity.start : entity.end]))
        position = entity.end
    parts.append(text[position:])
    return "".join(parts)


def _set_path(
    root: dict[str, Any], path: Sequence[str | int], value: str, copied: set[int]
) -> None:
    """Set ``value`` at ``path`` in ``root``, copying each container on the way once."""
    node: Any = root
    for key in path[:-1]:
        child = node[key]
        if id(child) not in copied:
            child = dict(child) if isinstance(child, Mapping) else list(child)
            node[key] = child
            copied.add(id(child))
        node = child
    node[path[-1]] = value
