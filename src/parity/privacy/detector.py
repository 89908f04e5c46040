"""The privacy signal: which sensitive data classes a request carries.

Built once at start (``PrivacyDetector(settings)`` compiles every pattern and loads every
plugin); ``scan()`` then costs well under a millisecond for most prompts. How it stays fast:

1. One multi-literal pass (Aho-Corasick) over the lower-cased text finds every trigger literal
   of every stage at once: ``@``, vendor key prefixes, credential keywords, medical cues and
   terms, deny-list terms. A translate-and-search pass finds the runs of digits.
2. Each stage runs its typed patterns and validators (Luhn, mod-97, SSN and NINO rules,
   phonenumbers, detect-secrets plugins) only on short windows at those spots.
3. Candidates the fast validators cannot settle go to Presidio's recognizers for their type,
   on a window around the candidate (``confirm_with_presidio``).

If anything goes wrong the findings say ``failed`` with the reason, and count as sensitive.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from parity.config.privacy import DenyList, PrivacySettings, RegexRule
from parity.errors import ConfigError
from parity.privacy.address import AddressScanner
from parity.privacy.chat import ChatText, chat_texts
from parity.privacy.context import ContextScanner
from parity.privacy.cued import CuedNumberScanner
from parity.privacy.custom import DenyListScanner, RegexScanner
from parity.privacy.dates import DateScanner
from parity.privacy.ner import load_person_scanner
from parity.privacy.phi import PhiScanner
from parity.privacy.pii import PiiScanner
from parity.privacy.presidio import PresidioChecker, presidio_entities
from parity.privacy.secrets import SecretScanner, load_plugins
from parity.privacy.types import (
    ENTITY_CLASSES,
    UNKNOWN_CLASS,
    Candidate,
    Entity,
    Scanner,
    ScanText,
)
from parity.privacy.units import UnitScanner

__all__ = [
    "Candidate",
    "ChatText",
    "DenyList",
    "Entity",
    "PrivacyDetector",
    "PrivacyFindings",
    "PrivacySettings",
    "RegexRule",
    "ScanText",
    "Scanner",
    "chat_texts",
]

_WARM_UP = (
    "mail a@example.com or x@y.q; call 020 7946 0958, (212) 555-0142 or 0800 000 0000; card "
    "4111 1111 1111 1111; IBAN GB82 WEST 1234 5698 7654 32; SSN 536-22-1234 or 536221234; "
    "NINO AB 12 34 56 C; ip 10.0.0.1, fe80::1:2:3; 1600 Pennsylvania Avenue; password=hunter22; "
    "the patient was diagnosed with asthma, MRN 1234567; token ghp_0123456789abcdefghijABCDEFGHIJ"
    "abcdef; 943 476 5919\n-----BEGIN RSA PRIVATE KEY-----\nabc\n-----END RSA PRIVATE KEY-----"
)

# Entities with a fast path of their own; other Presidio entities are probed around numbers.
_FAST_ENTITIES = frozenset(ENTITY_CLASSES)


@dataclass(slots=True, frozen=True)
class PrivacyFindings:
    """What a scan found. ``entities`` index into the texts given to ``scan()``."""

    data_classes: frozenset[str]
    entities: tuple[Entity, ...] = ()
    failed: bool = False
    reason: str = ""
    micros: int = 0

    @property
    def sensitive(self) -> bool:
        """True when any data class was found, or when the scan could not be done."""
        return self.failed or bool(self.data_classes)

    def trace(self) -> dict[str, Any]:
        """A summary for the decision trace and the ledger: classes and counts, no values."""
        counts: dict[str, int] = {}
        for entity in self.entities:
            counts[entity.type] = counts.get(entity.type, 0) + 1
        return {
            "data_classes": sorted(self.data_classes),
            "entities": counts,
            "failed": self.failed,
            "reason": self.reason,
            "micros": self.micros,
        }


class PrivacyDetector:
    """Finds PII, PHI and secrets in request texts; built once, then shared by all requests."""

    def __init__(self, settings: PrivacySettings, *, scanners: Sequence[Scanner] = ()):
        """Build every stage from ``settings``; ``scanners`` adds stages of your own (they
        register exactly like the built-in ones: a name, trigger literals, ``scan()``)."""
        self.settings = settings
        extra = list(scanners)
        entities = frozenset(settings.entities)
        known_presidio = presidio_entities()
        unknown = sorted(entities - _FAST_ENTITIES - known_presidio)
        if unknown:
            raise ConfigError(f"privacy.entities: unknown entity types {', '.join(unknown)}")
        try:
            plugins = load_plugins(settings.secret_plugins)
        except ValueError as exc:
            raise ConfigError(f"privacy.secret_plugins: {exc}") from exc
        probes = sorted(entities - _FAST_ENTITIES)
        stages: list[Scanner] = [
            PiiScanner(entities, phone_regions=settings.phone_regions, probe_entities=probes),
            SecretScanner(plugins, entities),
            PhiScanner(entities, context_chars=settings.phi_context_chars),
            ContextScanner(entities),
            CuedNumberScanner(entities),
            AddressScanner(entities),
            UnitScanner(entities),
            DateScanner(entities),
        ]
        if settings.regexes:
            stages.append(RegexScanner(settings.regexes))
        if settings.deny_lists:
            stages.append(DenyListScanner(settings.deny_lists))
        stages.extend(extra)
        notes: list[str] = []
        limits: list[str] = []
        if "PERSON" in entities:
            person, note = load_person_scanner(settings.ner_model)
            if person is not None:
                stages.append(person)
                notes.append(note)
            else:
                limits.append(note)
        if probes and not settings.confirm_with_presidio:
            limits.append(
                f"{', '.join(probes)} are not detected: Presidio-only entities need "
                "privacy.confirm_with_presidio"
            )
        self._scanners = tuple(stages)
        self._presidio = (
            PresidioChecker(entities & known_presidio, phone_regions=settings.phone_regions)
            if settings.confirm_with_presidio
            else None
        )
        self._triggers = _TriggerFinder(sorted({t for s in stages for t in s.triggers}))
        if not self._triggers.fast:
            limits.append(
                "trigger literals are found one by one (slow): install ahocorasick-rs "
                "(pip install 'parity[privacy]')"
            )
        self._allow = frozenset(settings.allow_list)
        # Libraries compile and load lazily (phonenumbers' region metadata, Presidio's
        # patterns): one scan of every kind of entity now keeps that off the first requests,
        # and a detector that cannot scan is better refused at start than failing every request.
        try:
            self._entities([_WARM_UP])
        except Exception as exc:
            raise ConfigError(
                f"privacy: the detector failed its start-up scan: {type(exc).__name__}: {exc}"
            ) from exc
        self.limitations: tuple[str, ...] = tuple(limits)
        """What this detector cannot see or do fast, in sentences (for logs and `config check`)."""
        self.notes: tuple[str, ...] = (*notes, *limits)
        """Everything worth telling an operator about this detector, limitations included."""

    def scan(self, texts: Sequence[str]) -> PrivacyFindings:
        """Scan ``texts``; never raises: a failure is reported, and counts as sensitive."""
        began = time.perf_counter_ns()
        try:
            total = sum(len(text) for text in texts)
            if total > self.settings.max_chars:
                return _failed(
                    f"{total} characters is more than privacy.max_chars "
                    f"({self.settings.max_chars}); not scanned",
                    began,
                )
            found = self._entities(texts)
        except Exception as exc:  # fail closed, whatever broke
            return _failed(f"privacy scan failed: {type(exc).__name__}: {exc}", began)
        return PrivacyFindings(
            data_classes=frozenset(e.data_class for e in found),
            entities=tuple(found),
            micros=(time.perf_counter_ns() - began) // 1000,
        )

    def scan_chat(self, body: Mapping[str, Any]) -> PrivacyFindings:
        """Scan the texts of an OpenAI chat body; entity indexes follow ``chat_texts(body)``."""
        try:
            texts = [piece.text for piece in chat_texts(body)]
        except Exception as exc:  # a body shape nobody foresaw: fail closed
            return _failed(f"could not read the request body: {exc}", time.perf_counter_ns())
        return self.scan(texts)

    def _entities(self, texts: Sequence[str]) -> list[Entity]:
        found: list[Entity] = []
        for index, text in enumerate(texts):
            if text:
                found.extend(self._scan_one(ScanText(text, index)))
        return found

    def _scan_one(self, doc: ScanText) -> list[Entity]:
        doc.triggers = self._triggers.find(doc.lower)
        candidates: list[Candidate] = []
        for scanner in self._scanners:
            scanner.scan(doc, candidates)
        return self._decide(doc, candidates)

    def _decide(self, doc: ScanText, candidates: list[Candidate]) -> list[Entity]:
        """Apply thresholds, the allow-list and Presidio's second look; drop duplicates."""
        kept: dict[tuple[str, int, int], Entity] = {}
        for candidate in candidates:
            judged = [candidate]
            settled = candidate.score >= self.settings.threshold(candidate.type)
            if not settled and candidate.confirm and self._presidio is not None:
                judged = self._presidio.confirm(doc.text, candidate, self.settings.presidio_window)
            for item in judged:
                if item.score < self.settings.threshold(item.type):
                    continue
                if doc.text[item.start : item.end] in self._allow:
                    continue
                key = (item.type, item.start, item.end)
                previous = kept.get(key)
                if previous is None or previous.score < item.score:
                    kept[key] = Entity(
                        type=item.type,
                        data_class=item.data_class,
                        start=item.start,
                        end=item.end,
                        index=doc.index,
                        score=item.score,
                        source=item.source,
                    )
        return sorted(kept.values(), key=lambda e: (e.start, -e.end))


class _TriggerFinder:
    """Every occurrence of every trigger literal, in one Aho-Corasick pass when available."""

    def __init__(self, literals: list[str]):
        self._literals = literals
        self._automaton: Any = None
        try:
            import ahocorasick_rs
        except ImportError:
            return
        if literals:
            self._automaton = ahocorasick_rs.AhoCorasick(
                literals, implementation=ahocorasick_rs.Implementation.DFA
            )

    @property
    def fast(self) -> bool:
        """False when ahocorasick-rs is missing and each literal is searched for in turn."""
        return self._automaton is not None or not self._literals

    def find(self, lower: str) -> dict[str, list[int]]:
        """Literal -> the offsets where it occurs in ``lower`` (overlaps included)."""
        hits: dict[str, list[int]] = {}
        if self._automaton is not None:
            literals = self._literals
            for pattern, start, _ in self._automaton.find_matches_as_indexes(
                lower, overlapping=True
            ):
                hits.setdefault(literals[pattern], []).append(start)
            return hits
        for literal in self._literals:
            at = lower.find(literal)
            while at != -1:
                hits.setdefault(literal, []).append(at)
                at = lower.find(literal, at + 1)
        return hits


def _failed(reason: str, began: int) -> PrivacyFindings:
    return PrivacyFindings(
        data_classes=frozenset({UNKNOWN_CLASS}),
        failed=True,
        reason=reason,
        micros=(time.perf_counter_ns() - began) // 1000,
    )
