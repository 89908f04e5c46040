"""What the chaos upstream injects, how often, and a count of what it has injected so far.

The faults are drawn from one seeded random generator, so a run with ``seed`` set injects the
same sequence of faults in the order requests arrive.
"""

from __future__ import annotations

import random
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from parity.errors import ConfigError

__all__ = ["ChaosStats", "Fault", "FaultConfig", "FaultPicker", "load_fault_config"]


class Fault(StrEnum):
    """One kind of upstream failure."""

    TIMEOUT = "timeout"  # accept the request, then say nothing until the client gives up
    ERROR = "error"  # 500, 502 or 503 with an OpenAI-style error body
    RATE_LIMIT = "rate_limit"  # 429 with retry-after
    RESET = "reset"  # TCP reset, before the answer or part-way through it
    CUT_STREAM = "cut_stream"  # the answer ends early and cleanly: no [DONE], short body
    DRIP = "drip"  # the answer trickles out a few bytes at a time
    MALFORMED_JSON = "malformed_json"  # a 200 whose JSON does not parse
    MALFORMED_SSE = "malformed_sse"  # event-stream framing broken (events run together)


class FaultConfig(BaseModel):
    """Fault rates (each a probability per request, summing to at most 1) and their shapes."""

    model_config = ConfigDict(extra="forbid")

    timeout_rate: float = Field(0.0, ge=0, le=1, description="Share of requests left hanging.")
    error_rate: float = Field(0.0, ge=0, le=1, description="Share answered 500, 502 or 503.")
    rate_limit_rate: float = Field(0.0, ge=0, le=1, description="Share answered 429.")
    reset_rate: float = Field(0.0, ge=0, le=1, description="Share whose connection is reset.")
    cut_stream_rate: float = Field(0.0, ge=0, le=1, description="Share whose answer stops early.")
    drip_rate: float = Field(0.0, ge=0, le=1, description="Share whose answer trickles out.")
    malformed_json_rate: float = Field(
        0.0, ge=0, le=1, description="Share answered 200 with JSON that does not parse."
    )
    malformed_sse_rate: float = Field(
        0.0, ge=0, le=1, description="Share whose event stream has broken framing."
    )
    seed: int | None = Field(None, description="Seed for the fault draws (None: random).")
    hang_s: float = Field(300.0, gt=0, description="How long a timeout fault holds a request.")
    retry_after_s: float = Field(1.0, ge=0, description="retry-after sent with each 429.")
    drip_bytes: int = Field(8, gt=0, description="Bytes written per drip.")
    drip_interval_s: float = Field(0.2, gt=0, description="Pause between two drips.")
    latency_ms: float = Field(0.0, ge=0, description="Added before every answer, faulty or not.")
    error_statuses: tuple[int, ...] = Field(
        (500, 502, 503), min_length=1, description="Statuses an error fault picks from."
    )

    @model_validator(mode="after")
    def _rates_fit(self) -> FaultConfig:
        if sum(self.rates().values()) > 1.0 + 1e-9:
            raise ValueError("the fault rates add up to more than 1")
        if any(not 500 <= s <= 599 for s in self.error_statuses):
            raise ValueError("error_statuses must be 5xx")
        return self

    def rates(self) -> dict[Fault, float]:
        """The rate of each fault kind."""
        return {fault: float(getattr(self, f"{fault.value}_rate")) for fault in Fault}

    def total_rate(self) -> float:
        """The share of requests that get any fault."""
        return sum(self.rates().values())


def load_fault_config(path: Path | None, overrides: dict[str, Any]) -> FaultConfig:
    """A FaultConfig from a YAML file (keys as in FaultConfig), then flags that were given."""
    data: dict[str, Any] = {}
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"cannot read the faults file: {exc}", path=str(path)) from exc
        if loaded is not None and not isinstance(loaded, dict):
            raise ConfigError("the faults file must be a mapping", path=str(path))
        data = dict(loaded or {})
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return FaultConfig.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "faults"
        raise ConfigError(f"{where}: {first['msg']}", path=str(path) if path else None) from exc


class FaultPicker:
    """Draws the fault for each request (or none) and where in the answer it strikes."""

    def __init__(self, config: FaultConfig):
        self.config = config
        self._rng = random.Random(config.seed)
        self._table: list[tuple[float, Fault]] = []
        edge = 0.0
        for fault, rate in config.rates().items():
            if rate > 0:
                edge += rate
                self._table.append((edge, fault))

    def pick(self) -> Fault | None:
        """The fault for the next request, or None for a clean answer."""
        draw = self._rng.random()
        for edge, fault in self._table:
            if draw < edge:
                return fault
        return None

    def position(self, low: int, high: int) -> int:
        """Where a mid-answer fault strikes: an event index in [low, high]."""
        return self._rng.randint(low, high)

    def status(self) -> int:
        """The status of an error fault."""
        return self._rng.choice(self.config.error_statuses)

    def coin(self) -> bool:
        """A fair coin, for faults with two shapes."""
        return self._rng.random() < 0.5


class ChaosStats:
    """Counters of what the chaos upstream saw and did; served at ``GET /chaos/stats``."""

    def __init__(self) -> None:
        self.requests = 0
        self.stream_requests = 0
        self.clean = 0
        self.injected: dict[Fault, int] = dict.fromkeys(Fault, 0)
        self.upstream_errors = 0  # proxy mode: errors the real upstream answered itself

    def count(self, fault: Fault | None, *, stream: bool) -> None:
        """Record one request and the fault it got."""
        self.requests += 1
        self.stream_requests += stream
        if fault is None:
            self.clean += 1
        else:
            self.injected[fault] += 1

    def as_dict(self, config: FaultConfig) -> dict[str, Any]:
        """JSON-ready counters plus the rates in force."""
        return {
            "requests": self.requests,
            "stream_requests": self.stream_requests,
            "clean": self.clean,
            "injected": {fault.value: n for fault, n in self.injected.items()},
            "injected_total": sum(self.injected.values()),
            "upstream_errors": self.upstream_errors,
            "rates": {fault.value: rate for fault, rate in config.rates().items()},
            "seed": config.seed,
        }
