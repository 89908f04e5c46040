"""The request validation the real Messages API does, so translation mistakes fail loudly.

Each check returns the API's error message (an ``invalid_request_error``) or None.
"""

from __future__ import annotations

from typing import Any

__all__ = ["check_headers", "check_request"]

_FIELDS = frozenset(
    {
        "model",
        "messages",
        "max_tokens",
        "system",
        "metadata",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "thinking",
        "service_tier",
        "container",
        "mcp_servers",
    }
)
_BLOCKS = frozenset({"text", "image", "document", "tool_use", "tool_result", "thinking"})


def check_headers(headers: Any) -> tuple[int, str, str] | None:
    """(status, error type, message) when the auth or version header is missing."""
    if not headers.get("x-api-key", "").strip():
        return 401, "authentication_error", "x-api-key header is required"
    if not headers.get("anthropic-version", "").strip():
        return 400, "invalid_request_error", "anthropic-version: header is required"
    return None


def _check_top(body: dict[str, Any]) -> str | None:
    extra = sorted(set(body) - _FIELDS)
    if extra:
        return f"{extra[0]}: Extra inputs are not permitted"
    missing = [name for name in ("model", "messages", "max_tokens") if name not in body]
    if missing:
        return f"{missing[0]}: Field required"
    messages = body["messages"]
    if not isinstance(messages, list) or not messages:
        return "messages: at least one message is required"
    return _check_values(body)


def _check_values(body: dict[str, Any]) -> str | None:
    max_tokens = body["max_tokens"]
    if not isinstance(max_tokens, int) or isinstance(max_tokens, bool) or max_tokens < 1:
        return "max_tokens: Input should be a valid integer greater than or equal to 1"
    temperature = body.get("temperature")
    if temperature is not None and not 0 <= temperature <= 1:
        return "temperature: Input should be less than or equal to 1"
    system = body.get("system")
    if system is not None and not isinstance(system, str | list):
        return "system: Input should be a valid string or list"
    return None


def _check_block(where: str, block: Any) -> str | None:
    if not isinstance(block, dict) or block.get("type") not in _BLOCKS:
        return f"{where}.type: Input tag is not one of the expected block types"
    kind = block["type"]
    if kind == "text" and not (isinstance(block.get("text"), str) and block["text"]):
        return "messages: text content blocks must be non-empty"
    if kind == "image":
        source = block.get("source")
        ok = isinstance(source, dict) and (
            (source.get("type") == "base64" and "media_type" in source and "data" in source)
            or (source.get("type") == "url" and isinstance(source.get("url"), str))
        )
        if not ok:
            return f"{where}.source: Input should be a valid image source"
    if kind == "tool_use" and not isinstance(block.get("input"), dict):
        return f"{where}.input: Input should be a valid dictionary"
    return None


def _blocks(message: dict[str, Any]) -> list[Any]:
    content = message.get("content")
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return content if isinstance(content, list) else []


def _check_message(i: int, message: Any) -> str | None:
    if not isinstance(message, dict) or message.get("role") not in ("user", "assistant"):
        return f"messages.{i}.role: Input should be 'user' or 'assistant'"
    if not isinstance(message.get("content"), str | list):
        return f"messages.{i}.content: Field required"
    for j, block in enumerate(_blocks(message)):
        problem = _check_block(f"messages.{i}.content.{j}", block)
        if problem:
            return problem
    return None


def _ids(message: dict[str, Any], kind: str, key: str) -> set[str]:
    return {str(b.get(key)) for b in _blocks(message) if b.get("type") == kind}


def _check_tool_pairs(messages: list[dict[str, Any]]) -> str | None:
    """Every tool_use is answered in the next message; every tool_result answers one."""
    for i, message in enumerate(messages):
        results = _ids(message, "tool_result", "tool_use_id")
        asked = _ids(messages[i - 1], "tool_use", "id") if i > 0 else set()
        if results - asked:
            return (
                f"messages.{i}: unexpected `tool_use_id` found in `tool_result` blocks: "
                f"{sorted(results - asked)[0]}. Each `tool_result` block must have a "
                "corresponding `tool_use` block in the previous message."
            )
        uses = _ids(message, "tool_use", "id")
        answered = (
            _ids(messages[i + 1], "tool_result", "tool_use_id") if i + 1 < len(messages) else set()
        )
        if uses and i + 1 < len(messages) and uses - answered:
            return (
                f"messages.{i}: `tool_use` ids were found without `tool_result` blocks "
                f"immediately after: {sorted(uses - answered)[0]}"
            )
    return None


def check_request(body: Any) -> str | None:
    """The first problem the real API would report for this body, or None."""
    if not isinstance(body, dict):
        return "There was an issue with the format of your request body (not a JSON object)."
    problem = _check_top(body)
    if problem:
        return problem
    for i, message in enumerate(body["messages"]):
        problem = _check_message(i, message)
        if problem:
            return problem
    return _check_tool_pairs(body["messages"])
