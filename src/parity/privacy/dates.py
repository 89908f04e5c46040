"""Dates of birth, and other full dates about a person.

"12/9/1945" alone is a date. It points at a person when a birth or age word is near it ("born
on", "DOB", "geb.", "né le", "fecha de nacimiento"), when the sentence is about someone ("I've
had it since 9/10/1995", "her visit on 3 May 1988"), or when it sits in a record's line beside
a name ("Anna Berg, 12.03.1985"). HIPAA's Safe Harbor list counts every such date (a birth,
an admission, the onset of a condition) as an identifier; a timestamp, a date in a sentence
about history, or a year alone is not one.

Dates are found from the shared digit runs (a month-name date by looking back from its year),
so no pattern here scans the whole text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from parity.privacy.types import Candidate, ScanText

__all__ = ["DateScanner"]

# Words that make a nearby date a date of birth, in the nine locales the benchmark generates.
BIRTH_CUES = ("born", "birth", "dob", "d.o.b", "b. ", "bday", "b-day", "age ", "aged",
              "geboren", "geb.", "geburt", "né le", "née le", "né en", "naissance", "nacido",
              "nacida", "nacimiento", "nato il", "nata il", "nascita", "geboorte", "urodzon",
              "urodzenia", "ur. ")  # fmt: skip
_MONTHS = (
    "jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|"
    "july|august|september|october|november|december|"
    "januar|jänner|februar|märz|mai|juni|juli|oktober|dezember|"  # de
    "janvier|février|mars|avril|juin|juillet|août|septembre|octobre|novembre|décembre|"  # fr
    "januari|februari|maart|augustus|"  # nl
    "gennaio|febbraio|aprile|maggio|giugno|luglio|agosto|settembre|ottobre|dicembre|"  # it
    "enero|febrero|marzo|abril|mayo|junio|julio|septiembre|octubre|noviembre|diciembre|"  # es
    "stycznia|lutego|marca|kwietnia|maja|czerwca|lipca|sierpnia|września|października|"
    "listopada|grudnia"  # pl
)
_NUMERIC = re.compile(
    r"(?<![\d.:/-])(?:\d{1,2}[-/.]\d{1,2}[-/.](\d{4}|\d{2})|(\d{4})[-/.]\d{1,2}[-/.]\d{1,2})"
    r"(?![\d]|[-/.:]\d)"
)
# Ending at the year: "12 March 1981", "12. März 1981", "4 de julio de 1996", "March 12, 1981".
_NAMED = re.compile(
    rf"(?:\b\d{{1,2}}(?:st|nd|rd|th|er|\.)?\s+(?:de\s+|of\s+)?(?:{_MONTHS})\.?,?\s+(?:de\s+)?"
    rf"|\b(?:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+)(\d{{4}})$",
    re.IGNORECASE,
)
_TIME_AFTER = re.compile(r"[ T]\d{1,2}:\d{2}")
# The sentence is about someone: a pronoun, or "since" (the onset of something of theirs).
_PERSONAL = re.compile(
    r"\b(?:i|i'm|i've|i'd|me|my|mine|we|our|us|you|your|he|she|his|her|him|since|"
    r"ich|mein|meine|meinem|meinen|meiner|sie|ihr|ihre|seit|"
    r"je|j'|moi|mon|ma|mes|il|elle|son|sa|ses|depuis|"
    r"io|mio|mia|miei|lui|lei|suo|sua|dal|dalla|"
    r"yo|mi|mis|él|ella|su|sus|desde|"
    r"ik|mijn|hij|zij|haar|zijn|sinds|"
    r"ja|mój|moja|moje|mnie|jego|jej|od)\b",
)
# ...unless it is about history or an institution.
_PUBLIC = re.compile(
    r"\b(?:history|historic\w*|war|battle|treaty|king|queen|emperor|president|government|"
    r"parliament|empire|revolution|century|founded|independence|elected|election|signed|"
    r"invaded|happened|anniversary|company|orchestra|guerre|krieg|geschichte|guerra|storia|"
    r"historia|oorlog|wojna|regierung|gouvernement|governo|gobierno)\b"
)
# A record's line: a label such as "Name:", or a capitalised name and a separator before it.
_RECORD = re.compile(
    r"\b(?:name|nom|nombre|nome|naam|imię|nazwisko|patient|employee)\b\s*[:=]"
    r"|[A-Z][\w'’-]+[ \t]+(?:[A-Z][\w'’.-]*[ \t]+){0,2}[A-Z][\w'’-]+[ \t]*[,;|\t]"
)
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)|\n")
_FIRST_YEAR = 1900
_LAST_YEAR = 2030

_SCORE_BIRTH = 0.85
_SCORE_PERSONAL = 0.6


class DateScanner:
    """Full dates near a birth or age word, in a sentence about someone, or in a record."""

    name = "dates"
    triggers: tuple[str, ...] = BIRTH_CUES

    def __init__(self, entities: Iterable[str]):
        self._on = "DATE_OF_BIRTH" in frozenset(entities)

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        """Append a DATE_OF_BIRTH candidate for each date that points at a person."""
        if not self._on:
            return
        for start, end, year in _dates(doc):
            score = self._score(doc, start, end, year)
            if score:
                out.append(Candidate("DATE_OF_BIRTH", start, end, score, "context"))

    @staticmethod
    def _score(doc: ScanText, start: int, end: int, year: str) -> float:
        lower = doc.lower
        for cue in BIRTH_CUES:
            for at in doc.hits(cue):
                # Near the date, and at a word's start ("page 1" is no age).
                near = start - 48 <= at <= start or end <= at <= end + 8
                if near and not (at and lower[at - 1].isalpha()):
                    return _SCORE_BIRTH
        if len(year) == 2 or not _FIRST_YEAR <= int(year) <= _LAST_YEAR:
            return 0.0
        if _TIME_AFTER.match(doc.text, end):
            return 0.0  # a timestamp: when something happened, not a person's date
        lo, hi = _sentence(lower, start, end)
        sentence = lower[lo:hi]
        if _PUBLIC.search(sentence):
            return 0.0
        line_start = doc.text.rfind("\n", max(0, start - 120), start) + 1
        if _PERSONAL.search(sentence) or _RECORD.search(doc.text, line_start, start):
            return _SCORE_PERSONAL
        return 0.0


def _dates(doc: ScanText) -> list[tuple[int, int, str]]:
    """(start, end, year) of each numeric or month-name date, from the digit runs."""
    text = doc.text
    found: list[tuple[int, int, str]] = []
    for start, end, digits in doc.digit_runs:
        if digits > 8:
            continue
        run = text[start:end]
        # Most runs are plain numbers ("1200"): a date has a separator, or is a year.
        if run.count("/") + run.count("-") + run.count(".") >= 2:
            match = _NUMERIC.search(text, max(0, start - 1), min(len(text), end + 1))
            if match:
                found.append((match.start(), match.end(), match.group(1) or match.group(2)))
                continue
        year = text[end - 4 : end]
        if year.isdigit() and _FIRST_YEAR <= int(year) <= _LAST_YEAR:
            named = _NAMED.search(text, max(0, end - 32), end)
            if named:
                found.append((named.start(), named.end(), named.group(1)))
    return found


def _sentence(lower: str, start: int, end: int) -> tuple[int, int]:
    """The bounds of the sentence around lower[start:end], at most 100 characters each way."""
    lo = max(0, start - 100)
    for stop in _SENTENCE_END.finditer(lower, lo, start):
        lo = stop.end()
    after = _SENTENCE_END.search(lower, end, min(len(lower), end + 100))
    return lo, after.start() if after else min(len(lower), end + 100)
