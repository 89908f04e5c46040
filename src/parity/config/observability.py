"""Settings for what the gateway tells operators: logs and Prometheus metrics."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["LoggingSettings", "MetricsSettings"]


class LoggingSettings(BaseModel):
    """Log format and what logs may contain."""

    model_config = ConfigDict(extra="forbid")

    format: Literal["text", "json"] = Field(
        "text",
        description="text: one readable line per event; json: one JSON object per line with "
        "ts, level, logger, message and request_id (flag: parity serve --log-format).",
    )
    level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="The lowest level logged (flag: parity serve --log-level)."
    )
    access_log: bool | None = Field(
        None,
        description="One line per request at INFO (request id, method, path, status, model, "
        "route, latency, tokens). Unset: on with format json, off with text.",
    )
    log_prompts: bool = Field(
        False,
        description="Let logs carry prompt text and exception messages (which may echo a "
        "prompt). Off: exceptions are logged by type and stack only. API keys are never logged.",
    )

    @property
    def access(self) -> bool:
        """Whether the access log is on."""
        return self.format == "json" if self.access_log is None else self.access_log


class MetricsSettings(BaseModel):
    """The Prometheus endpoint."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="Serve Prometheus metrics at GET /metrics.")
    require_admin: bool = Field(
        False,
        description="Only admin keys may read /metrics. Off (the default, as with most "
        "exporters): anyone who can reach the port may; the metrics hold no prompts or keys.",
    )
