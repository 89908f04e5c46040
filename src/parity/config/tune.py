"""Settings of `parity tune`: where training happens, what sensitive data may enter a dataset."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["TuneSettings"]


class TuneSettings(BaseModel):
    """The privacy policy of training sets built from traffic, and the dataset defaults."""

    model_config = ConfigDict(extra="forbid")

    on_premises: bool = Field(
        False,
        description="Training happens on premises: PII and PHI may enter a dataset as they are. "
        "Secrets never do.",
    )
    sensitive: Literal["redact", "drop"] = Field(
        "redact",
        description="When training is not on premises: mask PII/PHI with the privacy redaction "
        "(redact) or leave the example out (drop).",
    )
    min_examples: int = Field(
        20, ge=1, description="Fewest examples a dataset may have after every filter."
    )
    heldout: float = Field(
        0.2, gt=0, lt=1, description="Share of examples kept out of training, for evaluation."
    )
    near_duplicate: float = Field(
        0.85,
        gt=0,
        le=1,
        description="Jaccard similarity of prompts (character 5-grams) at which two examples "
        "count as near duplicates and stay on the same side of the split.",
    )
