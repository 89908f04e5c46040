"""The vocabulary of the privacy signal: entities, data classes, and the scanner seam."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol, TypeVar

__all__ = [
    "DATA_CLASSES",
    "ENTITY_CLASSES",
    "ENTITY_LABELS",
    "UNKNOWN_CLASS",
    "Candidate",
    "Entity",
    "ScanText",
    "Scanner",
    "data_class_of",
    "label_of",
    "windows",
]

# Entity type -> data class. Entity names follow Presidio's where Presidio has one, so results
# from both paths compare directly; the data class is what routing rules and the ledger see.
ENTITY_CLASSES: dict[str, str] = {
    "EMAIL_ADDRESS": "pii.email",
    "PHONE_NUMBER": "pii.phone",
    "CREDIT_CARD": "pii.credit_card",
    "IBAN_CODE": "pii.iban",
    "US_SSN": "pii.national_id",
    "UK_NINO": "pii.national_id",
    "IP_ADDRESS": "pii.ip_address",
    "STREET_ADDRESS": "pii.street_address",
    "DATE_OF_BIRTH": "pii.date_of_birth",
    "PASSPORT": "pii.national_id",
    "DRIVER_LICENSE": "pii.national_id",
    "ID_NUMBER": "pii.national_id",
    "PERSON": "pii.person",
    "MEDICAL_TERM": "phi",
    "MEDICAL_RECORD_NUMBER": "phi",
    "API_KEY": "secret.api_key",
    "ACCESS_TOKEN": "secret.token",
    "PRIVATE_KEY": "secret.private_key",
    "PASSWORD": "secret.password",
}

# Short names for redaction placeholders (<EMAIL_1>); unlisted entities use their own name.
ENTITY_LABELS: dict[str, str] = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "SSN",
    "UK_NINO": "NINO",
    "IP_ADDRESS": "IP",
    "STREET_ADDRESS": "ADDRESS",
    "DATE_OF_BIRTH": "DOB",
    "DRIVER_LICENSE": "LICENCE",
    "MEDICAL_TERM": "MEDICAL",
    "MEDICAL_RECORD_NUMBER": "MRN",
    "ACCESS_TOKEN": "TOKEN",
}

# Digits become "0" in the UTF-8 bytes, so a pattern that starts with the literal "0" finds
# numbers with the regex engine's fast literal search; a class such as [0-9] at the start of a
# pattern is tested at every character, which costs a millisecond over a 4k-token prompt.
_DIGITS_TO_ZERO = bytes.maketrans(b"123456789", b"000000000")
_DIGIT_RUN = re.compile(rb"0(?:[ \-./:()]{0,2}0){3,}")
_ASCII = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")

_V = TypeVar("_V")

# What a failed scan reports, so that "any data class" rules treat it as sensitive.
UNKNOWN_CLASS = "unknown"

DATA_CLASSES: frozenset[str] = frozenset(ENTITY_CLASSES.values())


def data_class_of(entity: str) -> str:
    """The data class of a built-in entity type; other national ids from Presidio are ids."""
    return ENTITY_CLASSES.get(entity, "pii.national_id")


def label_of(entity: str) -> str:
    """The placeholder label for an entity type."""
    return ENTITY_LABELS.get(entity, entity)


@dataclass(slots=True, frozen=True)
class Entity:
    """One finding: where it is (text ``index``, ``start``..``end``), what, how sure, and who."""

    type: str
    data_class: str
    start: int
    end: int
    index: int
    score: float
    source: str


@dataclass(slots=True)
class Candidate:
    """A fast-path match before thresholds and optional Presidio confirmation.

    ``confirm`` names the Presidio entity types that may confirm (or replace) it; ``score`` is
    the fast path's own evidence, 0 when its validator rejected the match.
    """

    type: str
    start: int
    end: int
    score: float
    source: str
    data_class: str = ""
    confirm: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.data_class:
            self.data_class = data_class_of(self.type)


@dataclass(slots=True)
class ScanText:
    """One text being scanned, with views that several scanners share (computed once).

    ``triggers`` maps each trigger literal (lower case) to the offsets where it occurs; the
    detector fills it from one multi-literal pass before any scanner runs.
    """

    text: str
    index: int
    triggers: dict[str, list[int]] = field(default_factory=dict)
    _lower: str | None = field(default=None, repr=False)
    _marked: bytes | None = field(default=None, repr=False)
    _digit_runs: list[tuple[int, int, int]] | None = field(default=None, repr=False)

    def hits(self, literal: str) -> list[int]:
        """Offsets of ``literal`` (a registered trigger) in the lower-cased text."""
        return self.triggers.get(literal, [])

    def present(self, literals: Mapping[str, _V]) -> list[tuple[str, _V]]:
        """The entries of ``literals`` (registered triggers) whose literal occurs in the text.

        A stage with hundreds of literals (street words of many languages) looks up the few
        the text holds instead of every literal in turn.
        """
        triggers = self.triggers
        if len(triggers) < len(literals):
            return [(key, literals[key]) for key in triggers if key in literals]
        return [(key, value) for key, value in literals.items() if key in triggers]

    def spans(self, pattern: re.Pattern[bytes]) -> list[tuple[int, int]]:
        """Character spans of ``pattern``'s matches in the digit-marked UTF-8 bytes."""
        return self._to_chars([m.span() for m in pattern.finditer(self._marked_bytes())])

    @property
    def digit_runs(self) -> list[tuple[int, int, int]]:
        """(start, end, digits) of each run of at least four digits and light separators."""
        if self._digit_runs is None:
            marked = self._marked_bytes()
            matches = list(_DIGIT_RUN.finditer(marked))
            spans = self._to_chars([m.span() for m in matches])
            counts = [marked.count(b"0", m.start(), m.end()) for m in matches]
            self._digit_runs = [(a, b, n) for (a, b), n in zip(spans, counts, strict=True)]
        return self._digit_runs

    def _marked_bytes(self) -> bytes:
        if self._marked is None:
            self._marked = self.text.encode("utf-8").translate(_DIGITS_TO_ZERO)
        return self._marked

    def _to_chars(self, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
        marked = self._marked_bytes()
        if not spans or len(marked) == len(self.text):
            return spans
        return _char_spans(marked, spans)

    @property
    def lower(self) -> str:
        """The text lower-cased, always the same length as ``text`` so offsets carry over."""
        if self._lower is None:
            lowered = self.text.lower()
            # A few characters (Turkish dotted I) grow when lower-cased; fall back to ASCII only.
            self._lower = lowered if len(lowered) == len(self.text) else self.text.translate(_ASCII)
        return self._lower


def windows(positions: list[int], before: int, after: int, limit: int) -> list[tuple[int, int]]:
    """[p - before, p + after) around sorted ``positions``, merged where they overlap and kept
    within 0..limit, so that a thousand hits close together cost one pass, not a thousand."""
    merged: list[tuple[int, int]] = []
    for position in positions:
        lo, hi = max(0, position - before), min(limit, position + after)
        if merged and lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], hi))
        else:
            merged.append((lo, hi))
    return merged


def _char_spans(data: bytes, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Byte spans of UTF-8 ``data`` as character spans (``spans`` sorted by start)."""
    out: list[tuple[int, int]] = []
    byte_at = chars = 0
    for start, end in spans:
        chars += len(data[byte_at:start].decode("utf-8", "replace"))
        width = len(data[start:end].decode("utf-8", "replace"))
        out.append((chars, chars + width))
        byte_at = start
    return out


class Scanner(Protocol):
    """One fast-path detector stage: appends the candidates it finds in ``doc`` to ``out``.

    ``triggers`` are lower-case literals the stage needs located; the detector finds all
    stages' triggers in one pass and the stage reads them with ``doc.hits()``.
    """

    name: str
    triggers: tuple[str, ...]

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        """Find candidates in ``doc.text``."""
        ...
