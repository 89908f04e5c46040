"""The catalog: model cards, licences, GPUs and weight formats, loaded from the package's YAML.

The data ships inside the wheel (``parity/catalog/data/*.yaml``) and is read with
``importlib.resources``, so it works from a zip, an editable install or a site-packages copy.
``Catalog.load()`` validates everything once; ``default_catalog()`` caches that immutable result.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any, TypeVar

import yaml
from pydantic import ValidationError

from parity.catalog.cards import ModelCard, Tier
from parity.catalog.deployment import Deployment
from parity.catalog.hardware import GpuSelection, GpuSpec, Precision
from parity.catalog.license import LicenseTerms, LicenseVerdict, OrgProfile, check_license

__all__ = ["Catalog", "CatalogError", "UnknownEntry", "default_catalog"]

_MODEL_FILES = ("models_closed.yaml", "models_open.yaml")
_M = TypeVar("_M", LicenseTerms, GpuSpec, Precision)


class CatalogError(ValueError):
    """The packaged catalog data is invalid (a bug in the data files, caught by the tests)."""


class UnknownEntry(LookupError):
    """A card, GPU or precision name the catalog does not know; the message lists what it does."""

    def __init__(self, kind: str, name: str, known: Iterable[str]):
        shown = ", ".join(sorted(known))
        super().__init__(f"unknown {kind} '{name}'; known: {shown}")
        self.kind = kind
        self.name = name


def _norm(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip().lower())


@dataclass(frozen=True)
class Catalog:
    """Every card, licence, GPU and precision, with lookups by id or alias."""

    cards: Mapping[str, ModelCard]
    licenses: Mapping[str, LicenseTerms]
    gpus: Mapping[str, GpuSpec]
    precisions: Mapping[str, Precision]
    as_of: date

    # -- loading ---------------------------------------------------------------------------------

    @classmethod
    def load(cls) -> Catalog:
        """Read and validate the packaged YAML files."""
        data = resources.files("parity.catalog").joinpath("data")
        names = ("licenses.yaml", "hardware.yaml", *_MODEL_FILES)
        docs = {name: _read(data.joinpath(name).read_text("utf-8"), name) for name in names}
        return cls.from_documents(docs)

    @classmethod
    def from_documents(cls, docs: Mapping[str, Mapping[str, Any]]) -> Catalog:
        """Build a catalog from parsed documents keyed by file name (tests build small ones)."""
        raw_licenses = docs["licenses.yaml"]["licenses"]
        licenses = _index(
            (_validate(LicenseTerms, raw, "licenses.yaml") for raw in raw_licenses), "licence"
        )
        hardware = docs["hardware.yaml"]
        gpus = _index((_validate(GpuSpec, g, "hardware.yaml") for g in hardware["gpus"]), "GPU")
        precisions = _index(
            (_validate(Precision, p, "hardware.yaml") for p in hardware["precisions"]), "precision"
        )
        cards: dict[str, ModelCard] = {}
        dates = [_as_of(docs["licenses.yaml"]), _as_of(hardware)]
        for name in _MODEL_FILES:
            if name not in docs:
                continue
            dates.append(_as_of(docs[name]))
            for raw in docs[name]["models"]:
                card = _card(raw, licenses, name)
                if card.id in cards:
                    raise CatalogError(f"{name}: duplicate card id '{card.id}'")
                cards[card.id] = card
        _check_names(cards)
        return cls(cards, licenses, gpus, precisions, max(dates))

    # -- lookups ---------------------------------------------------------------------------------

    def card(self, card_id: str) -> ModelCard:
        """The card with this id (case-insensitive)."""
        found = self.cards.get(card_id) or self.cards.get(_norm(card_id))
        if found is None:
            raise UnknownEntry("model card", card_id, self.cards)
        return found

    def card_named(self, name: str) -> ModelCard | None:
        """The card whose id or vendor model id (alias) is ``name``, if any."""
        found = self.cards.get(name) or self.cards.get(_norm(name))
        if found is not None:
            return found
        wanted = _norm(name)
        for card in self.cards.values():
            if wanted in (_norm(alias) for alias in card.aliases):
                return card
        return None

    def card_for(self, deployment: Deployment) -> tuple[ModelCard, str] | None:
        """The card a deployment serves, and the config field that names it (card, else the
        name it sends upstream, else its id), when the catalog knows the model."""
        for field in ("card", "upstream_model", "id"):
            name = getattr(deployment, field)
            if name:
                card = self.card_named(name)
                if card is not None:
                    return card, field
        return None

    def gpu(self, name: str) -> GpuSpec:
        """A GPU by id, name or alias: 'h100', 'H100 80GB', '4090'."""
        wanted = _norm(name)
        for gpu in self.gpus.values():
            if wanted in {_norm(gpu.id), _norm(gpu.name), *(_norm(a) for a in gpu.aliases)}:
                return gpu
        raise UnknownEntry("GPU", name, self.gpus)

    def precision(self, name: str) -> Precision:
        """A weight format by id or alias: 'bf16', 'int4', 'Q4_K_M', 'q4_k_m'."""
        wanted = _norm(name)
        for item in self.precisions.values():
            if wanted in {_norm(item.id), *(_norm(a) for a in item.aliases)}:
                return item
        raise UnknownEntry("precision", name, self.precisions)

    def selection(self, text: str) -> GpuSelection:
        """'H100', '2xH100', 'h100x2', '2 x RTX 4090' -> a GpuSelection."""
        try:
            return GpuSelection(self.gpu(text), 1)
        except UnknownEntry:
            pass
        for pattern in (r"^\s*(\d+)\s*[x×*]\s*(.+?)\s*$", r"^\s*(.+?)\s*[x×*]\s*(\d+)\s*$"):
            match = re.match(pattern, text, flags=re.IGNORECASE)
            if not match:
                continue
            first, second = match.groups()
            count, name = (first, second) if first.isdigit() else (second, first)
            try:
                gpu = self.gpu(name)
            except UnknownEntry:
                continue
            if int(count) < 1:
                raise ValueError("GPU count must be at least 1")
            return GpuSelection(gpu, int(count))
        raise UnknownEntry("GPU", text, self.gpus)

    def __iter__(self) -> Iterator[ModelCard]:
        return iter(self.cards.values())

    def __len__(self) -> int:
        return len(self.cards)

    def filter(
        self,
        *,
        tier: Tier | str | None = None,
        license: str | None = None,
        profile: OrgProfile | None = None,
    ) -> list[ModelCard]:
        """Cards in a tier, under a licence (id, SPDX or name substring), allowed for a profile."""
        out: list[ModelCard] = []
        wanted_tier = _tier(tier)
        for card in self.cards.values():
            if wanted_tier is not None and card.tier is not wanted_tier:
                continue
            if license is not None and not _license_matches(card.license, license):
                continue
            if profile is not None and not check_license(card, profile).allowed:
                continue
            out.append(card)
        return out

    def verdicts(self, profile: OrgProfile) -> dict[str, LicenseVerdict]:
        """The licence verdict for every card."""
        return {card.id: check_license(card, profile) for card in self.cards.values()}


def _tier(tier: Tier | str | None) -> Tier | None:
    if tier is None or isinstance(tier, Tier):
        return tier
    try:
        return Tier(tier.strip().lower().replace("-", "_"))
    except ValueError:
        known = ", ".join(t.value for t in Tier)
        raise ValueError(f"unknown tier '{tier}'; known: {known}") from None


def _license_matches(terms: LicenseTerms, wanted: str) -> bool:
    key = wanted.strip().lower()
    if key in {"permissive", "osi"}:
        return terms.osi_approved
    candidates = {terms.id.lower(), (terms.spdx or "").lower()}
    return key in candidates or key in terms.name.lower()


# libyaml's parser is about 8x faster than the pure-Python one; both are safe loaders.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read(text: str, name: str) -> dict[str, Any]:
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        raise CatalogError(f"{name}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise CatalogError(f"{name}: the top level must be a mapping")
    return data


def _as_of(doc: Mapping[str, Any]) -> date:
    value = doc.get("as_of")
    if not isinstance(value, date):
        raise CatalogError("every catalog file needs an as_of date")
    return value


def _validate(model: type[_M], raw: Any, where: str) -> _M:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        ident = raw.get("id", "?") if isinstance(raw, dict) else "?"
        raise CatalogError(f"{where}: entry '{ident}': {exc}") from exc


def _card(raw: Any, licenses: Mapping[str, LicenseTerms], where: str) -> ModelCard:
    if not isinstance(raw, dict):
        raise CatalogError(f"{where}: every model must be a mapping")
    ident = raw.get("id", "?")
    license_id = str(raw.get("license"))
    if license_id not in licenses:
        raise CatalogError(f"{where}: card '{ident}' names unknown licence '{license_id}'")
    try:
        return ModelCard.model_validate({**raw, "license": licenses[license_id]})
    except ValidationError as exc:
        raise CatalogError(f"{where}: card '{ident}': {exc}") from exc


def _check_names(cards: Mapping[str, ModelCard]) -> None:
    """Aliases name one card each, and a replacement names a card the catalog has."""
    owner: dict[str, str] = {}
    for card in cards.values():
        for name in card.names():
            if owner.setdefault(_norm(name), card.id) != card.id:
                raise CatalogError(f"'{name}' names both {owner[_norm(name)]} and {card.id}")
        replacement = card.lifecycle.replacement
        if replacement is not None and replacement not in cards:
            raise CatalogError(f"card '{card.id}': replacement '{replacement}' has no card")


def _index(items: Iterable[_M], kind: str) -> dict[str, _M]:
    out: dict[str, _M] = {}
    for item in items:
        if item.id in out:
            raise CatalogError(f"duplicate {kind} id '{item.id}'")
        out[item.id] = item
    return out


@functools.cache
def default_catalog() -> Catalog:
    """The packaged catalog, loaded once per process (the data is immutable)."""
    return Catalog.load()
