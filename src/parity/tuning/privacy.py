"""Privacy by policy: what sensitive data may enter a training set.

Every example is scanned, prompt and answer, with the gateway's privacy detector:

- a secret (``secret.*``: keys, tokens, passwords, private keys) never enters: the example is
  left out, whatever the policy;
- PII and PHI enter as they are only when ``tune.on_premises`` is true; otherwise the example
  is redacted with the ledger's redaction (``<EMAIL_1>`` placeholders) or left out, as
  ``tune.sensitive`` says;
- an example the detector could not scan is left out (fail closed).

The ledger's own data classes count too: a row the gateway found sensitive when it was served
is sensitive here, and is kept without redaction only on premises; off premises it is kept only
when the ledger stored it redacted (``ledger.prompts: redacted``), else it is left out.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from parity.config import Settings
from parity.tuning.examples import Example

__all__ = ["PrivacyPolicy", "PrivacyTally", "is_secret"]


def is_secret(data_class: str) -> bool:
    """True for the data classes that never enter a dataset."""
    return data_class.startswith("secret")


@dataclass(slots=True)
class PrivacyTally:
    """What the policy did: examples redacted, kept on premises, entities masked."""

    redacted: int = 0
    kept_on_premises: int = 0
    entities_masked: int = 0
    classes_seen: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """For the manifest."""
        return {
            "redacted": self.redacted,
            "kept_on_premises": self.kept_on_premises,
            "entities_masked": self.entities_masked,
            "data_classes_seen": dict(sorted(self.classes_seen.items())),
        }


def _detector(settings: Settings) -> Any:
    from parity.privacy import build_detector

    return build_detector(settings.privacy, "parity tune dataset (it scans every example)")


class PrivacyPolicy:
    """Applies ``tune.on_premises`` and ``tune.sensitive`` to examples; counts what it did."""

    def __init__(self, settings: Settings, *, detector: Any = None, stored_redacted: bool = False):
        """``stored_redacted``: the texts come from a ledger that keeps redacted copies, so
        an example the ledger marked sensitive was masked when it was stored."""
        self.stored_redacted = stored_redacted
        self.on_premises = settings.tune.on_premises
        self.sensitive = settings.tune.sensitive
        self.detector = detector if detector is not None else _detector(settings)
        self.tally = PrivacyTally()

    def describe(self) -> dict[str, Any]:
        """The policy, for the manifest."""
        return {
            "secrets": "dropped",
            "pii_phi": "kept (on premises)" if self.on_premises else self.sensitive,
        }

    def apply(self, examples: Sequence[Example], why: Counter[str]) -> list[Example]:
        """The examples that may enter, redacted where the policy says; exclusions in ``why``."""
        kept: list[Example] = []
        for example in examples:
            out = self._one(example, why)
            if out is not None:
                kept.append(out)
        return kept

    def _excluded(self, found: Any, classes: set[str]) -> str | None:
        """Why an example with these findings may not enter, or None."""
        if found.failed:
            return "privacy scan failed"
        if any(is_secret(c) for c in classes):
            return "contains a secret"
        if not classes or self.on_premises:
            return None
        if self.sensitive == "drop":
            return "PII/PHI (tune.sensitive: drop)"
        if not found.entities and not self.stored_redacted:
            return "PII/PHI the redaction cannot find"  # sensitive by the ledger's record
        return None

    def _one(self, example: Example, why: Counter[str]) -> Example | None:
        from parity.privacy.redact import mask_texts

        texts = [m["content"] for m in example.messages]
        found = self.detector.scan(texts)
        classes = set() if found.failed else set(found.data_classes) | set(example.data_classes)
        self.tally.classes_seen.update(classes)
        reason = self._excluded(found, classes)
        if reason is not None:
            why[reason] += 1
            return None
        if not classes:
            return example
        if self.on_premises:
            self.tally.kept_on_premises += 1
            return example
        self.tally.redacted += 1
        if not found.entities:  # masked when the ledger stored it (ledger.prompts: redacted)
            return example
        masked, _ = mask_texts(texts, found)
        self.tally.entities_masked += len(found.entities)
        messages = [
            {"role": m["role"], "content": text}
            for m, text in zip(example.messages, masked, strict=True)
        ]
        return Example(
            messages,
            source=example.source,
            origin=example.origin,
            corrected=example.corrected,
            data_classes=sorted(classes),
        )
