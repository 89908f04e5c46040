"""OpenAI's legacy text completions <-> the chat-completions body every provider speaks. Pure.

A ``POST /v1/completions`` body becomes a chat body with one user message, the prompt
(``parse_completions``): every backend (the embedded llama.cpp, OpenAI-compatible upstreams,
Anthropic) speaks chat here, so the prompt is answered as a chat turn in the model's chat template,
as peer gateways do for chat-only providers, not continued as raw text. ``max_tokens`` defaults to
16, as at OpenAI; the sampling fields (``temperature``, ``top_p``, ``stop``, ``seed``, ``user``,
the penalties, ``logit_bias``) map one to one, and fields OpenAI's endpoint does not have pass to
the upstream as the chat door passes them. A chat completion becomes a ``text_completion``
(``completion_object``); a chat stream's chunks become ``text_completion`` chunks
(``completion_chunk``). Shapes follow OpenAI's published OpenAPI document
(CreateCompletionResponse), which the tests validate against.

Refused with a 400 naming the field, never silently ignored: several prompts or token arrays in
``prompt``, ``n`` or ``best_of`` other than 1, ``echo``, ``suffix`` and ``logprobs``.
"""

from __future__ import annotations

import secrets
from typing import Any

from parity.errors import InvalidField
from parity.gateway.chat_fields import check_fields
from parity.gateway.protocol import ChatCall, check_counts, flag, load_object, model_of

__all__ = [
    "DEFAULT_MAX_TOKENS",
    "completion_chunk",
    "completion_object",
    "finish_reason",
    "new_completion_id",
    "parse_completions",
    "usage_object",
]

DEFAULT_MAX_TOKENS = 16
"""OpenAI's default ``max_tokens`` for this endpoint (chat has none)."""

# field -> the values that mean "not asked for" (anything else is refused)
_REFUSED: dict[str, tuple[tuple[Any, ...], str]] = {
    "n": ((None, 1), "one choice is answered per request; send n requests"),
    "best_of": ((None, 1), "no backend here ranks candidates"),
    "echo": ((None, False), "the prompt is answered as a chat turn, not continued"),
    "suffix": ((None, ""), "insertion is not served by the chat backends"),
    "logprobs": ((None,), "log probabilities are not returned on this endpoint"),
}
_CHAT_ONLY = ("messages", "tools", "tool_choice", "functions", "function_call")
_FINISH = {"stop": "stop", "length": "length", "content_filter": "content_filter"}


def new_completion_id() -> str:
    """A fresh ``cmpl-…`` id, as OpenAI's completions have."""
    return f"cmpl-{secrets.token_hex(16)}"


def _prompt(value: Any) -> str:
    """The one prompt as text; several prompts or token ids are a 400 naming ``prompt``."""
    if isinstance(value, str):
        return value
    if value is None:
        raise InvalidField("'prompt' is required: a string", param="prompt")
    if isinstance(value, list) and len(value) == 1 and isinstance(value[0], str):
        return value[0]
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        raise InvalidField(
            f"'prompt' has {len(value)} prompts; one request answers one prompt here, "
            "so send one request per prompt",
            param="prompt",
        )
    if isinstance(value, list) and value and all(isinstance(v, int | list) for v in value):
        raise InvalidField(
            "'prompt' as token ids is not supported here; send the prompt as text",
            param="prompt",
        )
    raise InvalidField("'prompt' must be a string or an array of one string", param="prompt")


def _refuse(body: dict[str, Any]) -> None:
    for name, (accepted, why) in _REFUSED.items():
        value = body.get(name)
        if not any(value is a or (type(value) is type(a) and value == a) for a in accepted):
            raise InvalidField(
                f"'{name}'={value!r} is not supported on /v1/completions: {why}",
                param=name,
                code="unsupported_parameter",
            )
    for name in _CHAT_ONLY:
        if name in body:
            raise InvalidField(
                f"'{name}' is a chat field; send it to /v1/chat/completions", param=name
            )


def parse_completions(raw: bytes) -> ChatCall:
    """The chat call for a POST /v1/completions body; InvalidField names the first bad field.

    ``include_usage`` is what the client asked for; the chat body always asks the upstream.
    """
    body = load_object(raw)
    model = model_of(body)
    prompt = _prompt(body.get("prompt"))
    _refuse(body)
    stream = flag(body, "stream", False)
    check_counts(body, ("max_tokens",))
    check_fields(body)
    options = body.get("stream_options")
    include_usage = stream and isinstance(options, dict) and options.get("include_usage") is True
    chat = {k: v for k, v in body.items() if k not in _REFUSED and k != "prompt"}
    chat |= {"model": model, "messages": [{"role": "user", "content": prompt}]}
    if chat.get("max_tokens") is None:
        chat["max_tokens"] = DEFAULT_MAX_TOKENS
    chat.pop("stream", None)
    chat.pop("stream_options", None)
    if stream:  # the usage is always asked for: the ledger counts it
        chat |= {"stream": True, "stream_options": {"include_usage": True}}
    return ChatCall(chat, model, stream, include_usage)


def finish_reason(value: Any) -> str:
    """The completions ``finish_reason`` (stop, length, content_filter) for a chat one."""
    return _FINISH.get(value, "stop") if isinstance(value, str) else "stop"


def usage_object(prompt_tokens: int, completion_tokens: int, *, estimated: bool) -> dict[str, Any]:
    """OpenAI's usage object; ``estimated`` marks counts Parity made when the upstream gave none."""
    usage: dict[str, Any] = {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }
    if estimated:
        usage["estimated"] = True
    return usage


def _text(message: Any) -> str:
    content = message.get("content") if isinstance(message, dict) else None
    if isinstance(content, list):  # text parts, from upstreams that answer with parts
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


def completion_object(
    chat: dict[str, Any],
    *,
    completion_id: str,
    model: str,
    created: int,
    usage: dict[str, Any] | None,
) -> dict[str, Any]:
    """The ``text_completion`` for a chat completion; ``model`` is the deployment id."""
    choices = []
    for position, choice in enumerate(chat.get("choices") or ()):
        if not isinstance(choice, dict):
            continue
        index = choice.get("index")
        choices.append(
            {
                "text": _text(choice.get("message")),
                "index": index if type(index) is int else position,
                "logprobs": None,
                "finish_reason": finish_reason(choice.get("finish_reason")),
            }
        )
    answer: dict[str, Any] = {
        "id": completion_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": choices,
    }
    fingerprint = chat.get("system_fingerprint")
    if isinstance(fingerprint, str):
        answer["system_fingerprint"] = fingerprint
    if usage is not None:
        answer["usage"] = usage
    return answer


def completion_chunk(
    chunk: dict[str, Any], *, completion_id: str, model: str, created: int
) -> dict[str, Any] | None:
    """The ``text_completion`` chunk for a chat chunk's text and finish; None when it has none.

    A role-only chunk says nothing here; a usage chunk is the door's to send (usage_object).
    """
    choices = []
    for choice in chunk.get("choices") or ():
        if not isinstance(choice, dict):
            continue
        delta = choice.get("delta")
        text = _text(delta)
        finish = choice.get("finish_reason")
        if not text and finish is None:
            continue
        index = choice.get("index")
        choices.append(
            {
                "text": text,
                "index": index if type(index) is int else 0,
                "logprobs": None,
                "finish_reason": None if finish is None else finish_reason(finish),
            }
        )
    if not choices:
        return None
    return {
        "id": completion_id,
        "object": "text_completion",
        "created": created,
        "model": model,
        "choices": choices,
    }
