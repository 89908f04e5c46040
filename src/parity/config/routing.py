"""The routing section of parity.yaml: route aliases, and (later) their policy rules."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Route"]


class Route(BaseModel):
    """A route alias such as parity/auto. The routing-policy layer extends this."""

    model_config = ConfigDict(extra="forbid")

    default: str = Field(description="The deployment id this alias sends requests to.")
