"""Person names through a spaCy pipeline, only when one is installed; nothing is downloaded."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from parity.privacy.types import Candidate, ScanText

__all__ = ["PersonScanner", "load_person_scanner"]

_PERSON_LABELS = frozenset({"PERSON", "PER"})
_SCORE = 0.85


class PersonScanner:
    """Runs a spaCy pipeline over the whole text: the one slow stage, and optional."""

    name = "ner"
    triggers: tuple[str, ...] = ()

    def __init__(self, nlp: Any, model: str):
        self._nlp = nlp
        self.model = model

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        """Append a candidate for each person entity the pipeline finds."""
        for ent in self._nlp(doc.text).ents:
            if ent.label_ in _PERSON_LABELS:
                out.append(Candidate("PERSON", ent.start_char, ent.end_char, _SCORE, "ner"))


def load_person_scanner(model: str | None) -> tuple[PersonScanner | None, str]:
    """The scanner for ``model``, or None and a sentence saying why names are not detected."""
    if model is None:
        return None, (
            "person names are not detected: no spaCy NER model is configured (privacy.ner_model)"
        )
    import spacy

    if not (spacy.util.is_package(model) or Path(model).exists()):
        return None, (
            f"person names are not detected: the spaCy model '{model}' is not installed "
            "(Parity never downloads models; install its package or give a path)"
        )
    try:
        nlp = spacy.load(model)
    except (OSError, ValueError) as exc:
        return None, f"person names are not detected: spaCy could not load '{model}': {exc}"
    if not {"ner", "entity_ruler", "span_ruler"} & set(nlp.pipe_names):
        return None, f"person names are not detected: '{model}' has no entity recognizer"
    return PersonScanner(nlp, model), f"person names: spaCy model '{model}'"
