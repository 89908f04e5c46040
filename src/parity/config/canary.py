"""The behaviour canary's settings: which prompt set, against which deployments, how often."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CanarySettings"]


class CanarySettings(BaseModel):
    """What `parity canary run` uses when given no arguments, and what `parity serve` runs."""

    model_config = ConfigDict(extra="forbid")

    prompts: str | None = Field(
        None, description="The pinned prompt set (.jsonl or .csv) with references or judges."
    )
    models: list[str] = Field(
        default_factory=list, description="Deployment ids to watch (none: every vendor model)."
    )
    baseline: str | None = Field(
        None, description="The baseline file (default: the prompt file + .baseline.json)."
    )
    judges: list[str] = Field(
        default_factory=list,
        description="Judges, as for --judge (none: answers must contain the reference).",
    )
    max_tokens: int = Field(256, gt=0, description="max_tokens of every canary request.")
    interval_s: float | None = Field(
        None, gt=0, description="Run inside parity serve every this many seconds (None: never)."
    )
