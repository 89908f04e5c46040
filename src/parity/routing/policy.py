"""The policy: ordered rules over signals; the first match wins. A pure function, no I/O.

Conditions map a signal path to what it must be:

- a value: equal (for a list-valued signal, contained; ``pii`` also matches ``pii.email``)
- a list: any of these values
- an operator mapping: ``{gt|gte|lt|lte: n}``, ``{eq|ne: v}``, ``{in: [..]}``, ``{contains: v}``
- ``any: [cond, ...]``, ``all: [cond, ...]``, ``not: cond`` combine conditions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from parity.config.routing import Route, Then
from parity.errors import ConfigError

__all__ = ["Decision", "Values", "decide", "matches", "validate_condition"]


class Values(Protocol):
    """Where conditions read signal values from (a SignalContext)."""

    def value(self, path: str) -> Any:
        """The value at a dotted signal path."""
        ...


@dataclass(slots=True, frozen=True)
class Decision:
    """The rule that matched (or 'default') and its plan."""

    rule: str
    then: Then
    condition: Mapping[str, Any] | None = None


def _member(value: Any, expected: Any) -> bool:
    if isinstance(value, list | tuple | set | frozenset):
        return any(_same(item, expected) for item in value)
    return bool(value == expected)


def _same(item: Any, expected: Any) -> bool:
    """Equal, or a data class inside a family: 'pii' matches 'pii.email'."""
    if isinstance(item, str) and isinstance(expected, str):
        return item == expected or item.startswith(expected + ".")
    return bool(item == expected)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda v, o: bool(v == o),
    "ne": lambda v, o: bool(v != o),
    "in": lambda v, o: v in o,
    "contains": _member,
    # an absent or non-numeric signal never satisfies a comparison
    "gt": lambda v, o: _number(v) and bool(v > o),
    "gte": lambda v, o: _number(v) and bool(v >= o),
    "lt": lambda v, o: _number(v) and bool(v < o),
    "lte": lambda v, o: _number(v) and bool(v <= o),
}
_OPS = frozenset(_COMPARE)


def _match(value: Any, expected: Any) -> bool:
    if isinstance(expected, dict):
        return all(_COMPARE[op](value, operand) for op, operand in expected.items())
    if isinstance(expected, list):
        return any(_member(value, e) for e in expected)
    return _member(value, expected)


def matches(when: Mapping[str, Any], values: Values) -> bool:
    """Whether every clause of ``when`` holds."""
    for key, expected in when.items():
        if key == "any":
            if not any(matches(c, values) for c in expected):
                return False
        elif key == "all":
            if not all(matches(c, values) for c in expected):
                return False
        elif key == "not":
            if matches(expected, values):
                return False
        elif not _match(values.value(key), expected):
            return False
    return True


def decide(route: Route, values: Values) -> Decision:
    """The first rule of ``route`` whose condition holds, else its default."""
    for rule in route.rules:
        if matches(rule.when, values):
            return Decision(rule.name, rule.then, rule.when)
    return Decision("default", route.default_plan)


def validate_condition(when: Mapping[str, Any], signals: set[str], where: str) -> None:
    """Reject conditions naming unknown signals or operators, at start rather than per request."""
    for key, expected in when.items():
        if key in ("any", "all"):
            if not isinstance(expected, list):
                raise ConfigError(f"{where}: '{key}' takes a list of conditions")
            for part in expected:
                validate_condition(part, signals, where)
        elif key == "not":
            validate_condition(expected, signals, where)
        else:
            if key.split(".", 1)[0] not in signals:
                raise ConfigError(f"{where}: unknown signal '{key}'; known: {sorted(signals)}")
            if isinstance(expected, dict) and not set(expected) <= _OPS:
                bad = sorted(set(expected) - _OPS)
                raise ConfigError(f"{where}: unknown operator {bad}; known: {sorted(_OPS)}")
