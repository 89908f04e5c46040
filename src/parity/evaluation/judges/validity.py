"""Validity judges: is the answer well formed, whatever it says?

- ``json``: the answer is JSON (a ```json fence around it is allowed unless ``strict=true``)
  and, when a schema is given (option ``schema=FILE``, else the item's ``schema``), it matches
  the schema (JSON Schema, checked with the ``jsonschema`` package).
- ``tool-calls``: the answer calls tools, every call names a tool the request offered, and its
  arguments are a JSON object that matches that tool's parameter schema.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson

from parity.errors import InputError
from parity.evaluation.judges.base import JudgeContext, ScoreJudge, judge_name
from parity.evaluation.judges.reference import flag
from parity.evaluation.records import Answer, Item

__all__ = ["JsonJudge", "ToolCallJudge", "call_problem", "schema_problem"]

_JSON_FENCE = re.compile(r"^\s*```(?:json)?[ \t]*\n(.*?)\n?```\s*$", re.DOTALL | re.IGNORECASE)


def schema_problem(instance: Any, schema: dict[str, Any]) -> str | None:
    """The first way ``instance`` breaks ``schema``, or None when it conforms."""
    try:
        import jsonschema
    except ImportError as exc:  # pragma: no cover - jsonschema is a dependency
        raise InputError("schema checks need the jsonschema package") from exc
    validator_class = jsonschema.validators.validator_for(schema)
    errors = sorted(validator_class(schema).iter_errors(instance), key=lambda e: list(e.path))
    if not errors:
        return None
    first = errors[0]
    where = "/".join(str(p) for p in first.path) or "(root)"
    return f"{where}: {first.message}"[:300]


def _load_schema(value: Any, base: Path) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    path = Path(str(value))
    path = path if path.is_absolute() else base / path
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise InputError(f"json judge: cannot read schema {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"json judge: schema {path} is not a JSON object")
    return data


class JsonJudge(ScoreJudge):
    """1 when the answer parses as JSON and matches the schema, if there is one."""

    def __init__(self, options: dict[str, Any], context: JudgeContext):
        self.name = judge_name("json", options)
        self.strict = flag(options, "strict")
        schema = options.get("schema")
        self.schema = _load_schema(schema, context.base_dir) if schema else None

    def score(self, item: Item, answer: Answer) -> tuple[float, str] | None:
        text = answer.text
        fenced = _JSON_FENCE.match(text)
        if fenced and not self.strict:
            text = fenced.group(1)
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            return 0.0, f"not JSON: {exc}"[:200]
        schema = self.schema or item.meta.get("schema")
        if not isinstance(schema, dict):
            return 1.0, "valid JSON"
        problem = schema_problem(value, schema)
        return (1.0, "matches the schema") if problem is None else (0.0, problem)


def _tools(item: Item) -> dict[str, dict[str, Any]]:
    tools: dict[str, dict[str, Any]] = {}
    for tool in item.meta.get("tools") or []:
        function = tool.get("function") if isinstance(tool, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            params = function.get("parameters")
            tools[function["name"]] = params if isinstance(params, dict) else {}
    return tools


def call_problem(call: Any, tools: dict[str, dict[str, Any]]) -> str | None:
    """What is wrong with one OpenAI tool call, or None."""
    if not isinstance(call, dict) or call.get("type", "function") != "function":
        return "a tool call must be an object of type 'function'"
    function = call.get("function")
    if not isinstance(function, dict):
        return "the tool call has no 'function'"
    name = function.get("name")
    if name not in tools:
        return f"calls '{name}', which the request did not offer"
    raw = function.get("arguments")
    try:
        arguments = orjson.loads(raw) if isinstance(raw, str) else raw
    except orjson.JSONDecodeError:
        return f"arguments of '{name}' are not JSON"
    if not isinstance(arguments, dict):
        return f"arguments of '{name}' are not a JSON object"
    problem = schema_problem(arguments, tools[name]) if tools[name] else None
    return None if problem is None else f"{name}: {problem}"


class ToolCallJudge(ScoreJudge):
    """1 when every tool call is well formed; 0 when there are none or one is broken."""

    def __init__(self, options: dict[str, Any], context: JudgeContext):
        self.name = judge_name("tool-calls", options)

    def score(self, item: Item, answer: Answer) -> tuple[float, str] | None:
        tools = _tools(item)
        if not tools:
            return None
        calls = answer.tool_calls or []
        if not calls:
            return 0.0, "no tool call"
        for call in calls:
            problem = call_problem(call, tools)
            if problem is not None:
                return 0.0, problem
        return 1.0, f"{len(calls)} well-formed tool call(s)"
