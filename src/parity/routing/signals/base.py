"""Signals: cheap facts about a request, computed lazily and timed for the decision trace."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Protocol

from parity.errors import InvalidField
from parity.routing.plan import RouteRequest

__all__ = ["Signal", "SignalContext"]


class Signal(Protocol):
    """One group of facts, e.g. ``shape`` gives shape.prompt_tokens, shape.tools, …"""

    name: str

    def compute(self, request: RouteRequest) -> dict[str, Any]:
        """The group's values for ``request``. Never does network I/O."""
        ...


class SignalContext:
    """Computes each signal group on first use and records what it found and what it cost."""

    def __init__(self, request: RouteRequest, signals: Mapping[str, Signal]):
        self.request = request
        self._signals = signals
        self.values: dict[str, dict[str, Any]] = {}
        self.micros: dict[str, float] = {}

    def group(self, name: str) -> dict[str, Any]:
        """All values of one signal group (computed now if needed)."""
        found = self.values.get(name)
        if found is None:
            signal = self._signals.get(name)
            if signal is None:
                raise InvalidField(f"unknown signal '{name}'; known: {sorted(self._signals)}")
            started = time.perf_counter()
            found = signal.compute(self.request)
            self.micros[name] = round((time.perf_counter() - started) * 1e6, 1)
            self.values[name] = found
        return found

    def value(self, path: str) -> Any:
        """The value at a dotted path such as ``privacy.sensitive`` or ``difficulty``."""
        head, _, rest = path.partition(".")
        values = self.group(head)
        if not rest:
            return values.get("score", values)
        name, _, deeper = rest.partition(".")
        found = values.get(name)
        for part in deeper.split(".") if deeper else ():  # caller.metadata.team
            found = found.get(part) if isinstance(found, dict) else None
        return found

    def trace(self) -> dict[str, Any]:
        """Every computed signal with its cost in microseconds (JSON-ready)."""
        return {
            name: {"us": self.micros[name], **_jsonable(values)}
            for name, values in self.values.items()
        }


def _jsonable(values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if key.startswith("_"):
            continue  # private objects (e.g. raw findings for redaction) stay out of the trace
        out[key] = sorted(value) if isinstance(value, set | frozenset) else value
    return out
