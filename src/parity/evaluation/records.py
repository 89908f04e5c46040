"""What a gap test stores: prompts (items), answers, and verdicts, each a plain JSON line."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["TIE", "Answer", "AnswerSource", "Item", "Verdict", "message_text"]

TIE = "tie"
AnswerSource = Literal["live", "cache", "recorded", "skipped"]


def message_text(message: dict[str, Any]) -> str:
    """The text of one chat message, whether its content is a string or a list of parts."""
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


@dataclass(slots=True)
class Item:
    """One prompt of a gap test.

    ``reference`` is what a reference judge compares against (an answer, a regex, a letter, or
    unit tests); ``data_classes`` non-empty means the prompt holds sensitive data, which must
    never be sent to a vendor deployment; ``meta`` carries judge inputs such as a JSON schema.
    """

    id: str
    messages: list[dict[str, Any]]
    reference: str | None = None
    category: str | None = None
    data_classes: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def prompt(self) -> str:
        """The last user message's text: what a person reads as 'the question'."""
        for message in reversed(self.messages):
            if message.get("role") == "user":
                return message_text(message)
        return message_text(self.messages[-1]) if self.messages else ""

    @property
    def sensitive(self) -> bool:
        """True when the prompt may not leave the premises."""
        return bool(self.data_classes)

    def to_json(self) -> dict[str, Any]:
        """The item as a JSON object (empty fields left out)."""
        data: dict[str, Any] = {"id": self.id, "messages": self.messages}
        for name in ("reference", "category"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.data_classes:
            data["data_classes"] = self.data_classes
        if self.meta:
            data["meta"] = self.meta
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Item:
        """Read an item written by ``to_json``."""
        return cls(
            id=str(data["id"]),
            messages=list(data["messages"]),
            reference=data.get("reference"),
            category=data.get("category"),
            data_classes=list(data.get("data_classes") or []),
            meta=dict(data.get("meta") or {}),
        )


@dataclass(slots=True)
class Answer:
    """One model's answer to one item, with what it cost and how it went."""

    item: str
    model: str
    text: str = ""
    source: AnswerSource = "live"
    key: str = ""
    tool_calls: list[dict[str, Any]] | None = None
    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    usage_estimated: bool = False
    latency_ms: float | None = None
    cost_usd: float | None = None
    retries: int = 0
    error: str | None = None
    error_message: str | None = None
    ts: float = 0.0
    system_fingerprint: str | None = None
    upstream_model: str | None = None

    @property
    def failure(self) -> str | None:
        """Why the call failed, as counted in the console and the report: 'Type: message'."""
        if self.error is None:
            return None
        first = (self.error_message or "").strip().splitlines()
        return f"{self.error}: {first[0]}" if first else self.error

    @property
    def ok(self) -> bool:
        """True when there is an answer to judge."""
        return self.error is None and self.source != "skipped"

    def to_json(self) -> dict[str, Any]:
        """The answer as a JSON object."""
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Answer:
        """Read an answer written by ``to_json``; unknown fields are ignored."""
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)


@dataclass(slots=True)
class Verdict:
    """One judgement: a 0-1 ``score`` of one model's answer, or a ``winner`` of a pair.

    A score verdict names ``model``; a pair verdict names ``pair`` (two model ids) and
    ``winner`` (one of them, or ``"tie"``). ``judge`` names who judged, e.g. ``numeric``,
    ``llm-pairwise:gpt-4o`` or ``human:alice``; ``meta`` keeps what is needed to audit it.
    """

    item: str
    judge: str
    model: str | None = None
    score: float | None = None
    pair: list[str] | None = None
    winner: str | None = None
    detail: str = ""
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def is_pair(self) -> bool:
        """True for a pairwise verdict."""
        return self.pair is not None

    def to_json(self) -> dict[str, Any]:
        """The verdict as a JSON object (empty fields left out)."""
        data: dict[str, Any] = {"item": self.item, "judge": self.judge}
        for name in ("model", "score", "pair", "winner"):
            value = getattr(self, name)
            if value is not None:
                data[name] = value
        if self.detail:
            data["detail"] = self.detail
        if self.meta:
            data["meta"] = self.meta
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Verdict:
        """Read a verdict written by ``to_json``."""
        return cls(
            item=str(data["item"]),
            judge=str(data["judge"]),
            model=data.get("model"),
            score=data.get("score"),
            pair=data.get("pair"),
            winner=data.get("winner"),
            detail=str(data.get("detail", "")),
            meta=dict(data.get("meta") or {}),
        )
