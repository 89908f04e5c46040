"""What a route rule's ``when:`` may say: every signal field, its value type, the operators.

A condition that names a field no signal has, compares a yes/no field with a number, or
misspells an operator never matches, so the rule silently never fires. For a privacy rule that
means sensitive data goes where the rule says it must not. These checks run when the config is
loaded (``parity config check``, ``parity serve``), each problem with its YAML path, so that
the loader can give its line and a "did you mean" hint.

The signals themselves live in ``parity.routing.signals``; this is the config's description of
what they give, and ``tests/routing`` keeps the two equal.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

__all__ = [
    "COMBINATORS",
    "OPERATORS",
    "SIGNAL_FIELDS",
    "Kind",
    "condition_problems",
    "data_classes",
    "did_you_mean",
    "value_problems",
]

Kind = Literal["bool", "number", "string", "strings", "map", "any"]
Loc = tuple[str | int, ...]
Problem = tuple[Loc, str]


@dataclass(frozen=True, slots=True)
class _Field:
    kind: Kind
    nullable: bool = False
    choices: tuple[str, ...] = ()  # the known values, when the set is fixed


_B, _N, _S, _L, _M = (
    _Field("bool"),
    _Field("number"),
    _Field("string"),
    _Field("strings"),
    _Field("map"),
)
_N0 = _Field("number", nullable=True)

# signal -> field -> what the field holds. A bare signal name stands for its "score" field.
SIGNAL_FIELDS: dict[str, dict[str, _Field]] = {
    "privacy": {
        "sensitive": _B,
        "classes": _L,  # data classes found; 'pii' also matches 'pii.email'
        "entities": _M,  # entity type -> count
        "failed": _B,
        "reason": _S,
    },
    "shape": {
        "prompt_tokens": _N,
        "max_tokens": _N0,
        "messages": _N,
        "tools": _B,
        "tool_choice": _Field("any", nullable=True),
        "response_format": _Field(
            "string", nullable=True, choices=("text", "json_object", "json_schema")
        ),
        "json": _B,
        "images": _B,
        "stream": _B,
        "fits": _L,  # deployment ids whose context window holds the request
    },
    "caller": {
        "key": _Field("string", nullable=True),
        "tenant": _S,
        "admin": _B,
        "tags": _L,
        "metadata": _M,
        "override": _Field("string", nullable=True),
    },
    "task": {"name": _S},
    "budget": {
        "exceeded": _B,
        "over": _L,
        **{
            f"{scope}_{what}": _N0
            for scope in ("key", "tenant")
            for what in ("day", "month", "daily_budget", "monthly_budget")
        },
    },
    "licence": {"denied": _M, "unchecked": _L},
    "difficulty": {
        "score": _N,
        "hard": _B,
        "threshold": _N,
        "source": _S,
        "parts": _M,  # the heuristic's reasoning, math, code, constraints, length
        "strong": _S,
        "weak": _S,
    },
}

OPERATORS = ("gt", "gte", "lt", "lte", "eq", "ne", "in", "contains")
COMBINATORS = ("any", "all", "not")
_ORDER = frozenset({"gt", "gte", "lt", "lte"})

_KIND_WORDS: dict[str, str] = {
    "bool": "true or false",
    "number": "a number",
    "string": "a string",
    "strings": "a string (one of the list's items)",
}


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """'; did you mean 'x'?' for the closest choice, or '' when none is close."""
    options = list(choices)
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    close = close or [c for c in options if len(word) > 2 and c.startswith(word)][:1]
    return f"; did you mean '{close[0]}'?" if close else ""


_NAMED = {None: "null", True: "true", False: "false"}


def _type_of(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return _NAMED[value]
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, str):
        return f"'{value}'"
    if isinstance(value, list):
        return "a list"
    return "a mapping" if isinstance(value, dict) else type(value).__name__


def _fits(value: Any, field: _Field) -> bool:
    """Whether ``value`` can ever equal (or be an item of) what ``field`` holds."""
    if value is None:
        return field.nullable or field.kind == "any"
    if field.kind == "bool":
        return isinstance(value, bool)
    if field.kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if field.kind in ("string", "strings"):
        return isinstance(value, str)
    return True


def _paths() -> list[str]:
    paths = [f"{signal}.{name}" for signal, fields in SIGNAL_FIELDS.items() for name in fields]
    return [*paths, "difficulty", *COMBINATORS]


def _field(path: str, loc: Loc) -> tuple[_Field | None, list[Problem]]:  # noqa: PLR0911
    """The field a signal path names, or the problem with it."""
    head, _, rest = path.partition(".")
    fields = SIGNAL_FIELDS.get(head)
    if fields is None:
        hint = did_you_mean(path, _paths()) or did_you_mean(head, SIGNAL_FIELDS)
        known = ", ".join(SIGNAL_FIELDS)
        named = f"'{head}' in '{path}'" if rest else f"'{head}'"
        return None, [(loc, f"unknown signal {named}{hint} (signals: {known})")]
    if not rest:
        if "score" in fields:
            return fields["score"], []
        names = ", ".join(f"{head}.{name}" for name in fields)
        return None, [(loc, f"'{head}' alone is not a value; name a field: {names}")]
    name, _, deeper = rest.partition(".")
    field = fields.get(name)
    if field is None:
        hint = did_you_mean(path, _paths()) or did_you_mean(name, fields)
        names = ", ".join(fields)
        return None, [(loc, f"unknown signal '{path}'{hint} ({head} has: {names})")]
    if deeper:
        if field.kind != "map":
            return None, [(loc, f"'{head}.{name}' is {_KIND_WORDS[field.kind]}, not a mapping")]
        return _Field("any", nullable=True), []
    return field, []


def _operand(  # noqa: PLR0911 - one early answer per operator family
    path: str, field: _Field, op: str, operand: Any, loc: Loc
) -> list[Problem]:
    kind = _KIND_WORDS.get(field.kind, field.kind)
    if op in _ORDER:
        if field.kind not in ("number", "any"):
            return [(loc, f"'{op}' compares numbers, but '{path}' is {kind}")]
        if not _fits(operand, _N):
            return [(loc, f"'{op}' needs a number, got {_type_of(operand)}")]
        return []
    if field.kind == "strings" and op != "contains":
        return [
            (
                loc,
                f"'{path}' is a list: '{op}' compares the whole list; write "
                f"'{path}: VALUE' (or a list of values) to ask whether it holds a value",
            )
        ]
    if op == "in":
        if not isinstance(operand, list) or not operand:
            return [(loc, f"'in' needs a non-empty list of values, got {_type_of(operand)}")]
        return [p for i, item in enumerate(operand) for p in _value(path, field, item, (*loc, i))]
    if op == "contains":
        if field.kind not in ("strings", "any"):
            return [(loc, f"'contains' looks inside a list, but '{path}' is {kind}")]
        return _value(path, field, operand, loc)
    return _value(path, field, operand, loc)  # eq, ne


def _value(path: str, field: _Field, value: Any, loc: Loc) -> list[Problem]:
    if isinstance(value, list | dict):
        return [(loc, f"'{path}' is compared with {_type_of(value)} inside a list or operator")]
    if not _fits(value, field):
        kind = _KIND_WORDS.get(field.kind, field.kind)
        return [(loc, f"'{path}' is {kind}, so {_type_of(value)} never matches it")]
    if field.choices and value is not None and value not in field.choices:
        hint = did_you_mean(str(value), field.choices)
        known = ", ".join(field.choices)
        return [(loc, f"'{path}' is never '{value}'{hint} (it is one of: {known}, or null)")]
    return []


def _clause(path: str, expected: Any, loc: Loc) -> list[Problem]:
    field, problems = _field(path, loc)
    if field is None:
        return problems
    if isinstance(expected, dict):
        if not expected:
            return [(loc, f"an empty operator mapping for '{path}' always matches; give one")]
        found: list[Problem] = []
        for op, operand in expected.items():
            if op not in OPERATORS:
                hint = did_you_mean(str(op), OPERATORS)
                known = ", ".join(OPERATORS)
                found.append(((*loc, op), f"unknown operator '{op}'{hint} (operators: {known})"))
            else:
                found += _operand(path, field, op, operand, (*loc, op))
        return found
    if isinstance(expected, list):
        if not expected:
            return [(loc, f"an empty list for '{path}' never matches; give at least one value")]
        return [p for i, item in enumerate(expected) for p in _value(path, field, item, (*loc, i))]
    return _value(path, field, expected, loc)


def condition_problems(when: Any, loc: Loc = ()) -> list[Problem]:
    """Every problem in a ``when:`` condition, each with its path below ``loc``."""
    if not isinstance(when, Mapping):
        return [(loc, f"a condition must be a mapping of signal: value, got {_type_of(when)}")]
    if not when:
        return [(loc, "an empty condition always matches; use the route's default instead")]
    problems: list[Problem] = []
    for key, expected in when.items():
        where = (*loc, key)
        if not isinstance(key, str):
            problems.append((where, f"a signal name must be a string, got {_type_of(key)}"))
        elif key in ("any", "all"):
            if not isinstance(expected, list) or not expected:
                problems.append((where, f"'{key}' takes a non-empty list of conditions"))
                continue
            for index, part in enumerate(expected):
                problems += condition_problems(part, (*where, index))
        elif key == "not":
            problems += condition_problems(expected, where)
        else:
            problems += _clause(key, expected, where)
    return problems


def data_classes(privacy: BaseModel) -> set[str]:
    """The data classes the privacy signal can report: built-in ones and the config's own."""
    from parity.privacy.types import DATA_CLASSES  # a vocabulary, no I/O

    found = set(DATA_CLASSES)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "data_class" and isinstance(value, str):
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(privacy.model_dump())
    return found


def value_problems(
    when: Any,
    loc: Loc,
    *,
    data_classes: Iterable[str],
    deployments: Sequence[str],
    has_org: bool = True,
) -> list[Problem]:
    """What depends on the rest of the config: data classes, deployment ids, the org profile."""
    known = {"privacy.classes": set(data_classes), "shape.fits": set(deployments)}
    known["privacy.classes"] |= {c.split(".", 1)[0] for c in known["privacy.classes"]}
    problems: list[Problem] = []

    def walk(node: Any, where: Loc) -> None:
        if not isinstance(node, Mapping):
            return
        for key, expected in node.items():
            if key in ("any", "all") and isinstance(expected, list):
                for index, part in enumerate(expected):
                    walk(part, (*where, key, index))
            elif key == "not":
                walk(expected, (*where, key))
            elif str(key).partition(".")[0] == "licence" and not has_org:
                message = "the licence signal needs an org profile ('org:' at the top level)"
                problems.append(((*where, key), message))
            elif key in known:
                for value, at in _leaves(expected, (*where, key)):
                    if isinstance(value, str) and value not in known[key]:
                        hint = did_you_mean(value, known[key])
                        what = "data class" if key == "privacy.classes" else "listed model"
                        problems.append((at, f"'{value}' is no {what}, so it never matches{hint}"))

    walk(when, loc)
    return problems


def _leaves(expected: Any, loc: Loc) -> list[tuple[Any, Loc]]:
    if isinstance(expected, list):
        return [(item, (*loc, i)) for i, item in enumerate(expected)]
    if isinstance(expected, dict):
        out: list[tuple[Any, Loc]] = []
        for op, operand in expected.items():
            if op in ("eq", "ne", "contains"):
                out.append((operand, (*loc, op)))
            elif op == "in" and isinstance(operand, list):
                out += [(item, (*loc, op, i)) for i, item in enumerate(operand)]
        return out
    return [(expected, loc)]
