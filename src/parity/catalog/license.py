"""Licence terms and the one check routing calls: may this organisation use this model?

``check_license(card, profile)`` is pure: no I/O, no globals, a handful of comparisons and one
formatted reason (10-20 us on one slow core; ``bench/economics_speed.py``). The answer depends
only on the card and the profile, so a router computes it once per deployment when the config
loads (``Catalog.verdicts(profile)``) rather than once per request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "EU_MEMBERS",
    "LicenseTerms",
    "LicenseVerdict",
    "Licensed",
    "OrgProfile",
    "check_license",
    "check_terms",
    "expand_regions",
]

# The 27 member states (ISO 3166-1 alpha-2, since 2020-02-01), so that an organisation in "DE"
# matches a licence clause about "EU". The EEA adds IS, LI and NO; Switzerland is in neither.
EU_MEMBERS = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
    }
)  # fmt: skip
_EEA_EXTRA = frozenset({"IS", "LI", "NO"})


def expand_regions(regions: tuple[str, ...] | list[str]) -> frozenset[str]:
    """Upper-cased region codes plus the groups they belong to ('DE' adds 'EU' and 'EEA')."""
    out: set[str] = set()
    for raw in regions:
        code = raw.strip().upper()
        if not code:
            continue
        out.add(code)
        if code in EU_MEMBERS:
            out.update({"EU", "EEA"})
        elif code in _EEA_EXTRA or code == "EU":
            out.add("EEA")
    return frozenset(out)


class LicenseTerms(BaseModel):
    """What a licence allows, reduced to the facts a check needs, with where they come from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Catalog id, e.g. 'apache-2.0' or 'llama-3.1-community'.")
    name: str = Field(description="The licence's own title.")
    spdx: str | None = Field(None, description="SPDX identifier where one exists.")
    url: str | None = Field(None, description="Where the text lives.")
    weights_available: bool = Field(description="False for closed APIs: nothing is licensed.")
    osi_approved: bool = Field(description="Whether the OSI lists the licence as open source.")
    commercial_use: bool = Field(description="Whether commercial use is permitted at all.")
    mau_limit: int | None = Field(
        None,
        ge=0,
        description="Monthly active users above which a separate licence is needed (Llama: 700M).",
    )
    mau_clause: str | None = Field(None, description="The MAU clause, paraphrased.")
    excluded_regions: tuple[str, ...] = Field(
        (), description="Where the licensee may not be based (e.g. 'EU' for Llama 4)."
    )
    region_clause: str | None = Field(None, description="The regional clause, paraphrased.")
    obligations: tuple[str, ...] = Field(
        (), description="Duties that do not block use: attribution, naming, acceptable use."
    )
    source: str = Field(min_length=1, description="Where these facts were read, with a date.")
    notes: tuple[str, ...] = ()

    @field_validator("excluded_regions")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().upper() for v in value if v.strip())

    @property
    def label(self) -> str:
        """SPDX id when there is one, else the catalog id."""
        return self.spdx or self.id


class OrgProfile(BaseModel):
    """The organisation whose use is being checked."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    monthly_active_users: int = Field(
        0, ge=0, description="MAU of the organisation's products and affiliates, as licences count."
    )
    commercial_use: bool = Field(True, description="Whether the use is commercial.")
    osi_approved_only: bool = Field(
        False, description="Accept only models whose weights carry an OSI-approved licence."
    )
    regions: tuple[str, ...] = Field(
        (), description="ISO 3166 codes (or 'EU') where the organisation is domiciled or based."
    )

    @field_validator("regions")
    @classmethod
    def _upper(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(v.strip().upper() for v in value if v.strip())


@dataclass(frozen=True, slots=True)
class LicenseVerdict:
    """Allowed or not, the one-line reason, and obligations that still apply."""

    allowed: bool
    reason: str
    license_id: str
    obligations: tuple[str, ...] = field(default=())

    def __bool__(self) -> bool:
        return self.allowed


class Licensed(Protocol):
    """Anything that names a model and carries its licence terms (a ModelCard does)."""

    @property
    def id(self) -> str: ...

    @property
    def license(self) -> LicenseTerms: ...


def check_terms(
    terms: LicenseTerms, profile: OrgProfile, model: str = "this model"
) -> LicenseVerdict:
    """Whether ``profile`` may use a model under ``terms``; the first blocking clause wins."""
    denied = _blocking_clause(terms, profile, model)
    if denied is not None:
        return LicenseVerdict(False, denied, terms.id, terms.obligations)
    if terms.weights_available:
        reason = f"{model}: the {terms.name} permits this use"
    else:
        reason = f"{model}: a closed API, used under the vendor's terms ({terms.name})"
    if terms.mau_limit is not None:
        reason += (
            f"; {profile.monthly_active_users:,} MAU is within its {terms.mau_limit:,} MAU limit"
        )
    return LicenseVerdict(True, reason, terms.id, terms.obligations)


def check_license(card: Licensed, profile: OrgProfile) -> LicenseVerdict:
    """The routing layer's licence signal: may ``profile`` use ``card``'s model, and why."""
    return check_terms(card.license, profile, card.id)


def _blocking_clause(terms: LicenseTerms, profile: OrgProfile, model: str) -> str | None:
    if profile.osi_approved_only and not terms.osi_approved:
        if not terms.weights_available:
            return (
                f"{model}: a closed API has no open licence, and only OSI-approved licences "
                "are accepted"
            )
        return (
            f"{model}: the {terms.name} is not OSI-approved, and only OSI-approved licences "
            "are accepted"
        )
    if profile.commercial_use and not terms.commercial_use:
        return f"{model}: the {terms.name} does not permit commercial use"
    if terms.mau_limit is not None and profile.monthly_active_users > terms.mau_limit:
        clause = terms.mau_clause or "a separate licence is needed above it"
        return (
            f"{model}: {profile.monthly_active_users:,} monthly active users exceeds the "
            f"{terms.mau_limit:,} limit of the {terms.name}; {clause}"
        )
    if terms.excluded_regions:
        excluded = set(terms.excluded_regions)
        hits = [
            f"{region} ({', '.join(sorted(groups))})" if groups != {region} else region
            for region in profile.regions
            if (groups := expand_regions((region,)) & excluded)
        ]
        if hits:
            clause = terms.region_clause or "the licence is not granted there"
            return f"{model}: the organisation is based in {', '.join(hits)}; {clause}"
    return None
