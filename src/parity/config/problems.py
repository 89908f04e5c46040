"""Pydantic's validation errors, said in the config's own words.

Pydantic names its internals in an error's location and message: a union member is
``function-after[_one_target(), Then]``, a model is "a valid dictionary or instance of Then".
A user knows neither. This walks the settings model along each error's location, drops the
union tags, merges the errors one union produces into one, words each message by what the
YAML should hold, and adds a "did you mean" hint to unknown fields and choices.
"""

from __future__ import annotations

import re
import types
from collections.abc import Iterable
from enum import Enum
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from parity.config.conditions import did_you_mean
from parity.config.located import LocatedError

__all__ = ["explain"]

Loc = tuple[str | int, ...]

_MAPPING_TYPES = {"dict_type", "model_type", "model_attributes_type", "dataclass_type"}
_TYPE_WORDS = {
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "dataclass_type": "a mapping (key: value)",
    "list_type": "a list",
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
}


def _unwrap(annotation: Any) -> Any:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return annotation


def _members(annotation: Any) -> list[Any]:
    """The non-None members of a union (one member: not a union)."""
    if get_origin(annotation) in (Union, types.UnionType):
        return [_unwrap(a) for a in get_args(annotation) if a is not type(None)]
    return [annotation]


def _pick(members: list[Any], tag: str) -> Any:
    """The union member pydantic's location tag names."""
    for member in members:
        if isinstance(member, type) and issubclass(member, BaseModel) and member.__name__ in tag:
            return member
    for member in members:
        origin = get_origin(member)
        if origin is not None and tag.startswith(getattr(origin, "__name__", "?")):
            return member
    for member in members:
        if getattr(member, "__name__", None) == tag:
            return member
    return members[0]


def _through(members: list[Any], part: str | int) -> Any:
    """The union member a plain (untagged) location part goes into."""
    for member in members:
        if isinstance(member, type) and issubclass(member, BaseModel):
            if str(part) in member.model_fields:
                return member
        elif (get_origin(member) is list and isinstance(part, int)) or get_origin(member) is dict:
            return member
    return members[0]


def _walk(model: type[BaseModel], loc: Loc, *, tagged: bool = True) -> tuple[Loc, Any]:
    """The location without union tags, and the type found at its end (None: unknown).

    ``tagged``: the location is pydantic's, with a tag after each union; otherwise it is a
    clean location and the member is the one that has the next part.
    """
    clean: list[str | int] = []
    current: Any = model
    parts = list(loc)
    while parts:
        members = _members(_unwrap(current))
        if len(members) > 1 and tagged:
            current = _pick(members, str(parts.pop(0)))
            continue
        part = parts.pop(0)
        current = _through(members, part) if len(members) > 1 else members[0]
        clean.append(part)
        origin = get_origin(current)
        if isinstance(current, type) and issubclass(current, BaseModel):
            field = current.model_fields.get(str(part))
            current = field.annotation if field is not None else None
        elif origin is list and isinstance(part, int):
            current = get_args(current)[0]
        elif origin is dict:
            current = get_args(current)[1]
        else:
            current = None
        if current is None:
            clean += parts  # below anything typed: keep the rest as given
            return tuple(clean), None
    return tuple(clean), _unwrap(current)


def _describe(annotation: Any) -> str:
    """What a YAML value of this type looks like, in words."""
    words: list[str] = []
    for member in _members(annotation):
        origin = get_origin(member)
        if isinstance(member, type) and issubclass(member, BaseModel):
            words.append("a mapping (key: value)")
        elif origin is list:
            words.append("a list")
        elif origin is dict:
            words.append("a mapping (key: value)")
        elif origin is Literal or (isinstance(member, type) and issubclass(member, Enum)):
            words.append("one of " + ", ".join(_choices(member)))
        elif member is bool:
            words.append("true or false")
        elif member is int:
            words.append("a whole number")
        elif member is float:
            words.append("a number")
        elif member is str:
            words.append("a string")
    unique = list(dict.fromkeys(words))
    return " or ".join(unique) if unique else "another kind of value"


def _choices(annotation: Any) -> list[str]:
    if get_origin(annotation) is Literal:
        return [str(a) for a in get_args(annotation)]
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return [str(m.value) for m in annotation]
    return []


def _got(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "nothing (null)"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        return f"'{value[:60]}'"
    return str(value)


def _message(item: ErrorDetails, loc: Loc, model: type[BaseModel]) -> str:
    kind = item["type"]
    if kind == "extra_forbidden":
        _, parent = _walk(model, loc[:-1], tagged=False)
        names: Iterable[str] = ()
        for member in _members(parent):  # a union such as 'str | Then': the model's fields
            if isinstance(member, type) and issubclass(member, BaseModel):
                names = [n for n in member.model_fields if n != "source"]
                break
        hint = did_you_mean(str(loc[-1]), names)
        known = f" (known: {', '.join(names)})" if names and not hint else ""
        return f"unknown field '{loc[-1]}'{hint}{known}"
    if kind == "missing":
        return f"missing required field '{loc[-1]}'" if loc else "a required field is missing"
    if kind in ("literal_error", "enum"):
        expected = re.findall(r"'([^']*)'", str((item.get("ctx") or {}).get("expected", "")))
        hint = did_you_mean(str(item["input"]), expected)
        return f"must be one of {', '.join(expected)}, got {_got(item['input'])}{hint}"
    if kind in _TYPE_WORDS:
        _, annotation = _walk(model, loc, tagged=False)
        wanted = _describe(annotation) if annotation is not None else _TYPE_WORDS[kind]
        return f"must be {wanted}, got {_got(item['input'])}"
    message = item["msg"].removeprefix("Value error, ")
    return message.replace("Input should be", "must be").replace("Value should", "must")


def _located(item: ErrorDetails) -> list[tuple[Loc, str]] | None:
    ctx_error = (item.get("ctx") or {}).get("error")
    if isinstance(ctx_error, LocatedError):
        return ctx_error.problems()
    return None


def explain(error: ValidationError, model: type[BaseModel]) -> list[tuple[Loc, str]]:
    """Each problem in ``error`` as (location, plain message), in the file's order."""
    by_loc: dict[Loc, list[tuple[ErrorDetails, Loc]]] = {}
    out: list[tuple[Loc, str]] = []
    for item in error.errors():
        raw = tuple(p for p in item["loc"] if isinstance(p, str | int))
        clean, _ = _walk(model, raw)
        by_loc.setdefault(clean, []).append((item, raw))
    type_errors = _MAPPING_TYPES | set(_TYPE_WORDS)
    for clean, items in by_loc.items():
        # One union gives one error per member; keep the member the value was meant for:
        # the one that got past the type check, here or deeper down.
        deep = [(i, r) for i, r in items if i["type"] not in type_errors]
        deeper = any(len(other) > len(clean) and other[: len(clean)] == clean for other in by_loc)
        if not deep and deeper:
            continue  # a type error here and an error below: only a union member gives both
        chosen = deep or items[:1]
        for item, _raw in chosen:
            located = _located(item)
            if located is not None:
                out += [((*clean, *loc), message) for loc, message in located]
            else:
                out.append((clean, _message(item, clean, model)))
    return out
