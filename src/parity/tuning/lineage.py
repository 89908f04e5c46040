"""The lineage card of a tuned model: base, dataset, teacher, training config, licence terms.

``lineage.json`` sits in the training folder and travels with every export. It records the
prompt hashes of every training example, so ``parity tune evaluate`` can refuse a held-out set
the model saw. The licence comes from the base's catalog card: a licence that forbids the use
(per the ``org`` profile) is refused before training starts; obligations such as attribution
or naming are printed as notices and kept on the card.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson

from parity.catalog.license import OrgProfile, check_license
from parity.catalog.registry import default_catalog
from parity.config import Settings
from parity.errors import ConfigError, PolicyRejected
from parity.tuning.base import BaseModelRef

__all__ = ["LINEAGE", "licence_terms", "read_lineage", "write_lineage"]

LINEAGE = "lineage.json"


def licence_terms(base: BaseModelRef, settings: Settings) -> dict[str, Any]:
    """The base's licence facts and obligations; PolicyRejected when it forbids this use."""
    if base.card is None:
        return {
            "card": None,
            "notices": [
                f"{base.name} has no catalog card (--card): its licence terms are unknown, "
                "check them yourself before you use or share the tuned model"
            ],
        }
    card = default_catalog().card(base.card)
    verdict = check_license(card, settings.org or OrgProfile())
    if not verdict:
        raise PolicyRejected(f"licence refusal: {verdict.reason}", code="licence")
    terms = card.license
    notices = [f"{terms.name}: {duty}" for duty in terms.obligations]
    return {
        "card": card.id,
        "licence": terms.id,
        "name": terms.name,
        "url": terms.url,
        "verdict": verdict.reason,
        "obligations": list(terms.obligations),
        "source": terms.source,
        "notices": notices,
    }


def write_lineage(folder: Path, card: dict[str, Any]) -> Path:
    """Write lineage.json atomically."""
    path = folder / LINEAGE
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(orjson.dumps(card, option=orjson.OPT_INDENT_2))
    tmp.replace(path)
    return path


def read_lineage(folder: Path) -> dict[str, Any]:
    """A tuned model's lineage card, or a ConfigError saying the folder has none."""
    path = folder / LINEAGE if folder.is_dir() else folder
    try:
        data = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError) as exc:
        raise ConfigError(f"{folder} is not a parity tune model (no readable {LINEAGE})") from exc
    if not isinstance(data, dict) or "base" not in data:
        raise ConfigError(f"{path} is not a lineage card")
    return data
