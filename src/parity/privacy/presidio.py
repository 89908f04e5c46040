"""Presidio's pattern recognizers, offline: no NLP model and no network.

Two uses: ``confirm`` runs the recognizers for one entity type on a short window around a
fast-path candidate (tens of microseconds), and ``analyze`` runs the whole AnalyzerEngine over
a text, which is the "Presidio alone" reference the recall study and the benchmark compare with.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Iterable
from typing import Any

from parity.privacy.types import Candidate

__all__ = ["PresidioChecker", "presidio_entities"]

# Entities the phone recognizer handles; it is not a PatternRecognizer (it wraps phonenumbers)
# and costs milliseconds per call, so only the reference engine uses it.
_PHONE = "PHONE_NUMBER"


def _import_presidio() -> None:
    """Import presidio_analyzer without its transformers NER engine.

    The package imports its transformers engine (and through thinc, torch) at import time:
    12-25 s here when torch is installed. Parity uses pattern recognizers only, so both are
    hidden while presidio loads; later imports of torch or transformers work as usual.
    """
    if "presidio_analyzer" in sys.modules:
        return
    hidden = [name for name in ("transformers", "torch") if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]  # makes `import name` fail
    try:
        import presidio_analyzer  # noqa: F401
    finally:
        for name in hidden:
            del sys.modules[name]


def _pattern_recognizers() -> dict[str, list[Any]]:
    """Every predefined Presidio pattern recognizer, keyed by the entity it finds."""
    _import_presidio()
    import presidio_analyzer.predefined_recognizers as predefined
    from presidio_analyzer import PatternRecognizer

    found: dict[str, list[Any]] = {}
    for name in dir(predefined):
        cls = getattr(predefined, name)
        if not (inspect.isclass(cls) and issubclass(cls, PatternRecognizer)):
            continue
        if cls is PatternRecognizer or name == "EmailRecognizer":
            continue
        factory: Any = cls
        recognizer = factory(supported_language="en")
        for entity in recognizer.supported_entities:
            found.setdefault(entity, []).append(recognizer)
    found["EMAIL_ADDRESS"] = [_offline_email_recognizer()]
    return found


def _offline_email_recognizer() -> Any:
    """Presidio's e-mail recognizer, checking domains against tldextract's bundled list.

    The stock one calls ``tldextract.extract``, whose first use fetches the public suffix list
    from the internet (and logs a traceback when it cannot).
    """
    import tldextract

    _import_presidio()
    from presidio_analyzer.predefined_recognizers import EmailRecognizer

    class OfflineEmailRecognizer(EmailRecognizer):
        def __init__(self) -> None:
            super().__init__(supported_language="en")
            self._extract = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

        def validate_result(self, pattern_text: str) -> bool:
            return bool(self._extract(pattern_text).fqdn)

    return OfflineEmailRecognizer()


def presidio_entities() -> frozenset[str]:
    """Entity types Presidio can find by pattern alone (plus phone numbers)."""
    return frozenset(_pattern_recognizers()) | {_PHONE}


class PresidioChecker:
    """Presidio recognizers for a set of entity types, built once."""

    def __init__(self, entities: Iterable[str], *, phone_regions: Iterable[str] = ()):
        _import_presidio()
        from presidio_analyzer.nlp_engine import NoOpNlpEngine

        wanted = frozenset(entities)
        every = _pattern_recognizers()
        self._by_entity = {e: every[e] for e in wanted if e in every}
        self._regions = tuple(phone_regions)
        self._nlp = NoOpNlpEngine(models=[{"lang_code": "en", "model_name": "no_op"}])
        self._nlp.load()
        # Pattern recognizers ignore NLP artifacts; one empty set serves every call.
        self._artifacts = self._nlp.process_text("", "en")
        self._wanted = wanted
        self._engine: Any = None

    @property
    def entities(self) -> frozenset[str]:
        """The entity types this checker can confirm."""
        return frozenset(self._by_entity)

    def confirm(self, text: str, candidate: Candidate, reach: int) -> list[Candidate]:
        """Presidio's findings for ``candidate.confirm`` types within ``reach`` of it."""
        lo = max(0, candidate.start - reach)
        hi = min(len(text), candidate.end + reach)
        window = text[lo:hi]
        found: list[Candidate] = []
        for entity in candidate.confirm:
            for recognizer in self._by_entity.get(entity, ()):
                for result in recognizer.analyze(window, [entity], self._artifacts) or ():
                    found.append(
                        Candidate(
                            result.entity_type,
                            lo + result.start,
                            lo + result.end,
                            float(result.score),
                            "presidio",
                        )
                    )
        return found

    def analyze(self, text: str) -> list[Candidate]:
        """Presidio's AnalyzerEngine alone over the whole text (the reference path)."""
        engine = self._engine or self._build_engine()
        return [
            Candidate(r.entity_type, r.start, r.end, float(r.score), "presidio")
            for r in engine.analyze(text, language="en")
        ]

    def _build_engine(self) -> Any:
        _import_presidio()
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.predefined_recognizers import PhoneRecognizer

        registry = RecognizerRegistry(supported_languages=["en"])
        for recognizers in self._by_entity.values():
            for recognizer in recognizers:
                registry.add_recognizer(recognizer)
        if _PHONE in self._wanted:
            regions = self._regions or PhoneRecognizer.DEFAULT_SUPPORTED_REGIONS
            registry.add_recognizer(PhoneRecognizer(supported_regions=regions))
        self._engine = AnalyzerEngine(
            registry=registry, nlp_engine=self._nlp, supported_languages=["en"]
        )
        return self._engine
