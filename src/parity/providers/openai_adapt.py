"""What an OpenAI-compatible upstream that is not OpenAI can take: the request, adapted.

Clients send what OpenAI's API accepts today. Servers that copy the wire format lag behind it:
llama.cpp's server (and some vLLM and Ollama builds) refuse the ``developer`` role, content-part
arrays and an assistant turn with ``content: null`` beside its ``tool_calls``, which is exactly
what every SDK sends back on a tool loop's second turn; they ignore ``max_completion_tokens``;
llama.cpp answers ``logprobs: true`` without ``top_logprobs`` with no log probabilities;
and llama.cpp takes a JSON schema only as ``{"type": "json_object", "schema": …}``, which it
enforces with a grammar; and it forces a tool call only for a named ``tool_choice``, not for
``"required"`` (providers/llama_tools.py turns that into a grammar too). Before, each of these
came back as a 502 carrying the upstream's validation errors or traceback, or as no tool call.

The deployment's ``engine`` says which dialect to speak (``auto`` picks one from the provider
and the base URL). Adapting never changes what the request means: a request the upstream
cannot honour (an image to a text-only model, a schema llama.cpp's grammar cannot express) is
refused here with a 400 naming the field, before anything is sent.
"""

from __future__ import annotations

from typing import Any

import orjson

from parity.catalog.deployment import Deployment, Engine, ProviderKind
from parity.errors import InvalidField
from parity.providers.llama_tools import force_required, forces_call

__all__ = ["adapt_request", "engine_of"]


def engine_of(deployment: Deployment) -> Engine:
    """The dialect to speak to ``deployment`` (``auto`` resolved)."""
    if deployment.engine is not Engine.AUTO:
        return deployment.engine
    if deployment.provider is ProviderKind.LOCAL:
        return Engine.LLAMA_CPP
    if deployment.base_url and "api.openai.com" in deployment.base_url:
        return Engine.OPENAI
    return Engine.OPENAI_COMPATIBLE


def adapt_request(body: dict[str, Any], deployment: Deployment) -> dict[str, Any]:
    """``body`` as ``deployment``'s engine takes it (a new dict; ``body`` is not changed).

    Messages that need no change are shared with ``body``, not copied: nothing mutates them.
    """
    engine = engine_of(deployment)
    if engine is Engine.OPENAI:
        return body
    out = dict(body)
    messages = body.get("messages")
    if isinstance(messages, list):
        out["messages"] = [_message(m, i, deployment) for i, m in enumerate(messages)]
    limit = out.pop("max_completion_tokens", None)
    if isinstance(limit, int) and not isinstance(limit, bool):
        current = out.get("max_tokens")
        out["max_tokens"] = min(limit, current) if isinstance(current, int) else limit
    if engine is Engine.LLAMA_CPP:
        if body.get("logprobs") is True and body.get("top_logprobs") is None:
            out["top_logprobs"] = 0  # without it llama.cpp answers logprobs: null
        if forces_call(body):  # tool_choice "required": a grammar the server enforces
            force_required(out)
        else:
            _json_schema_for_llama_cpp(out)
    return out


def _message(message: Any, index: int, deployment: Deployment) -> Any:
    """``message`` as the engine takes it: itself when nothing changes (most turns)."""
    if not isinstance(message, dict):
        return message
    role, content = message.get("role"), message.get("content")
    if role != "developer" and isinstance(content, str):
        return message
    out = dict(message)
    if role == "developer":  # OpenAI's newer name for the system turn
        out["role"] = "system"
    if content is None and role == "assistant":
        out["content"] = ""  # the tool loop's turn 2: the gateway's own tool-call reply
    elif isinstance(content, list):
        out["content"] = _flattened(content, index, deployment)
    return out


def _flattened(parts: list[Any], index: int, deployment: Deployment) -> Any:
    """Text parts joined into one string; image parts kept only for a vision deployment."""
    texts: list[str] = []
    for position, part in enumerate(parts):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
            continue
        where = f"messages[{index}].content[{position}]"
        if kind in ("image_url", "input_image", "image"):
            if deployment.vision:
                return parts  # a vision model takes the parts as they are
            raise InvalidField(
                f"deployment '{deployment.id}' does not take images ({where}); "
                "send text, or name a model with vision (set vision: true on its deployment)",
                param=where,
            )
        raise InvalidField(
            f"deployment '{deployment.id}' cannot take a content part of type {kind!r} "
            f"({where}); it takes text parts",
            param=where,
        )
    return "\n".join(texts)


def _json_schema_for_llama_cpp(out: dict[str, Any]) -> None:
    """OpenAI's ``json_schema`` response format in llama.cpp's grammar-enforced form."""
    fmt = out.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        return
    spec = fmt.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, dict) else None
    if not isinstance(schema, dict):
        raise InvalidField(
            "response_format.json_schema.schema must be a JSON schema object",
            param="response_format",
        )
    _check_grammar(schema)
    out["response_format"] = {"type": "json_object", "schema": schema}


def _check_grammar(schema: dict[str, Any]) -> None:
    """Refuse a schema that llama.cpp's JSON-schema-to-grammar converter cannot express."""
    try:
        from llama_cpp.llama_grammar import json_schema_to_gbnf
    except ImportError:  # the gateway does not run llama.cpp itself; the server will check
        return
    try:
        json_schema_to_gbnf(orjson.dumps(schema).decode())
    except Exception as exc:  # the converter asserts; any failure means "cannot express"
        reason = str(exc).split("\n", 1)[0][:200] or type(exc).__name__
        raise InvalidField(
            f"response_format: llama.cpp's grammar cannot express this JSON schema: {reason}",
            param="response_format",
            code="unsupported_schema",
        ) from exc
