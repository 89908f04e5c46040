"""Deployments of retired or retiring models: refused or warned about before Parity serves them.

A deployment is matched to its catalog card by ``card``, else by the name it sends upstream
(``upstream_model`` or ``id``) against card ids and vendor model ids (aliases). A retired model is
an error, because every request to it would fail; one whose retirement date falls inside
``lifecycle.warn_days`` is a warning. Both say what the vendor recommends instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field

from parity.catalog.cards import LifecycleStatus, ModelCard
from parity.catalog.deployment import Deployment
from parity.catalog.registry import Catalog

__all__ = ["LifecycleFinding", "LifecycleSettings", "lifecycle_findings"]

_VENDOR_HOSTS = frozenset({"api.openai.com", "api.anthropic.com"})


class LifecycleSettings(BaseModel):
    """Warnings about models their vendors are retiring."""

    model_config = ConfigDict(extra="forbid")

    warn_days: int = Field(
        90, ge=0, description="Warn about a model retiring within this many days (0: never)."
    )


@dataclass(frozen=True, slots=True)
class LifecycleFinding:
    """A retired (error) or retiring (warning) model, and where the config names it."""

    level: Literal["error", "warning"]
    loc: tuple[str | int, ...]
    deployment: str
    card: str
    message: str


def _instead(card: ModelCard) -> str:
    replacement = card.lifecycle.replacement
    return f"; {card.vendor} recommends {replacement} instead" if replacement else ""


def _likely_typo(
    deployment: Deployment, catalog: Catalog
) -> Callable[[int], LifecycleFinding] | None:
    """A vendor deployment whose model name is one edit or so from a card's: a likely typo.

    Only the vendors' own endpoints: behind a self-hosted one, names near a card's (a 7B beside
    a 72B) are plausible. A name far from every card may be a model newer than the catalog, so
    it passes.
    """
    if deployment.provider == "local" or deployment.card:
        return None
    if deployment.base_url and urlsplit(deployment.base_url).hostname not in _VENDOR_HOSTS:
        return None
    field = "upstream_model" if deployment.upstream_model else "id"
    name = deployment.upstream_model or deployment.id
    known = {n for card in catalog.cards.values() for n in (card.id, *card.aliases)}
    close = difflib.get_close_matches(name, sorted(known), n=1, cutoff=0.85)
    if not close:
        return None
    message = (
        f"model '{deployment.id}' sends '{name}' upstream, which no catalog card knows: "
        f"did you mean '{close[0]}'? (no lifecycle or price check for it)"
    )
    return lambda index: LifecycleFinding(
        "warning", ("models", index, field), deployment.id, "", message
    )


def lifecycle_findings(
    models: Sequence[Deployment], catalog: Catalog, *, today: date, warn_days: int
) -> list[LifecycleFinding]:
    """Every listed deployment whose model is retired, or retires within ``warn_days``."""
    found: list[LifecycleFinding] = []
    for index, deployment in enumerate(models):
        match = catalog.card_for(deployment)
        if match is None:
            typo = _likely_typo(deployment, catalog)
            if typo is not None:
                found.append(typo(index))
            continue
        card, field = match
        life = card.lifecycle
        if life.retired is None:
            continue
        loc: tuple[str | int, ...] = ("models", index, field)
        named = f"model '{deployment.id}' ({card.name}, card {card.id})"
        if life.status(today) is LifecycleStatus.RETIRED:
            message = (
                f"{named} was retired by {card.vendor} on {life.retired.day}: every request to it "
                f"fails{_instead(card)} (source: {life.retired.source})"
            )
            found.append(LifecycleFinding("error", loc, deployment.id, card.id, message))
            continue
        left = life.days_left(today)
        if left is not None and left <= warn_days:
            message = (
                f"{named} retires on {life.retired.day}, in {left} days{_instead(card)} "
                f"(source: {life.retired.source})"
            )
            found.append(LifecycleFinding("warning", loc, deployment.id, card.id, message))
    return found
