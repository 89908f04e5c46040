"""The user's own rules from the config: regular expressions and deny-lists."""

from __future__ import annotations

import re
from collections.abc import Iterable

from parity.config.privacy import DenyList, RegexRule
from parity.privacy.types import Candidate, ScanText

__all__ = ["DenyListScanner", "RegexScanner"]


class RegexScanner:
    """User patterns. Each one reads the whole text, so each adds to every request's cost."""

    name = "regex"
    triggers: tuple[str, ...] = ()

    def __init__(self, rules: Iterable[RegexRule]):
        self._rules = [
            (re.compile(rule.pattern, re.IGNORECASE if rule.ignore_case else 0), rule)
            for rule in rules
        ]

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        """Append a candidate for every non-empty match of every rule."""
        for pattern, rule in self._rules:
            for match in pattern.finditer(doc.text):
                if match.end() > match.start():
                    out.append(
                        Candidate(
                            rule.entity,
                            *match.span(),
                            rule.score,
                            f"regex:{rule.entity}",
                            data_class=rule.data_class,
                        )
                    )


class DenyListScanner:
    """Terms that are sensitive by name, found by the detector's multi-literal pass."""

    name = "deny_list"

    def __init__(self, lists: Iterable[DenyList]):
        # term (lower-cased, as the trigger pass sees it) -> the lists that hold it
        self._terms: dict[str, list[tuple[str, DenyList]]] = {}
        for deny in lists:
            for term in deny.terms:
                self._terms.setdefault(term.lower(), []).append((term, deny))
        self.triggers: tuple[str, ...] = tuple(self._terms)

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        """Append a candidate for each whole-word occurrence of a listed term."""
        for lowered, owners in self._terms.items():
            for at in doc.hits(lowered):
                end = at + len(lowered)
                if not _bounded(doc.text, at, end):
                    continue
                for term, deny in owners:
                    if deny.case_sensitive and doc.text[at:end] != term:
                        continue
                    out.append(
                        Candidate(
                            deny.entity,
                            at,
                            end,
                            1.0,
                            f"deny_list:{deny.entity}",
                            data_class=deny.data_class,
                        )
                    )
                    break


def _bounded(text: str, start: int, end: int) -> bool:
    """True when text[start:end] is not part of a longer word."""
    before = start == 0 or not text[start - 1].isalnum()
    after = end == len(text) or not text[end].isalnum()
    return before and after
