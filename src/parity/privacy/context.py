"""Entities that only their cue words give away: passport, driving-licence and national id
numbers, and street addresses in any country's format after an address cue.

"T647052" is a code; after
"driver's license number is" it identifies a person. Each cue is a trigger literal (found in
the detector's one multi-literal pass), and each pattern runs only on a short window after it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from parity.privacy.types import Candidate, ScanText

__all__ = ["ContextScanner"]

_PASSPORT_CUES = ("passport", "reisepass", "passeport", "pasaporte", "paspoort")
_LICENCE_CUES = ("driver's licen", "drivers licen", "driver licen", "driving licen",
                 "licence number", "license number", "licence no", "license no", "dl#",
                 "führerschein", "permis de conduire")  # fmt: skip
_ID_CUES = ("ssn", "social security", "national insurance", "national id", "identity number",
            "id number", "id card", "tax id", "personal number", "pesel", "codice fiscale",
            "insee", "ahv", "bsn", "dni", "nie ")  # fmt: skip
_ADDRESS_CUES = ("address", "live at", "live in", "lived in", "living at", "moved to",
                 "move to", "send it to", "sent to", "send a new one to", "return to",
                 "corner of", "ship to", "shipped to", "deliver to", "delivered to",
                 "located at", "meet me at", "meet you at", "taxi to", "come to", "visit me at",
                 "reside at", "lives at", "office is at", "based at",
                 "adresse", "anschrift", "indirizzo", "dirección", "adres")  # fmt: skip

# A document number: 5-20 letters and digits (dashes allowed), with at least one digit.
_CODE = re.compile(r"(?<![\w-])(?=[\w-]*\d)[A-Za-z0-9][A-Za-z0-9-]{3,19}[A-Za-z0-9](?![\w-])")
_ID_NUMBER = re.compile(
    r"(?<![\w.-])(?=[\w .-]*\d)[A-Za-z0-9]"
    r"(?:[A-Za-z0-9]|[.-](?=[A-Za-z0-9])| (?=\d|[A-Za-z](?!\w))){6,24}(?![\w])"
)
# An address after its cue: a house number and words, or words and a house number, running on
# over commas and line breaks (to the city and post code) until the sentence ends.
_ADDRESS = re.compile(
    r"(?:\d{1,6}[A-Za-z]?,?\s+|(?:PSC|Unit|Box)\s+\d{1,6},?\s+)?"
    r"[^\W\d_][\w'.-]*(?:[ \t]+[^\W_][\w'.-]*){0,6}?[ \t,]+\d{1,6}[A-Za-z]?\b"
    r"(?:[ \t]*(?:,|\\n|\n)?[ \t]*(?:Apt\.?|Suite|Unit|Box|Flat|#)\s*[\w-]+)?"
    r"(?:[ \t]*(?:,|\\n|\n)[ \t]*,?[ \t]*[^\W_][\w'.-]*(?:[ \t]+[^\W_][\w'.-]*){0,4}){0,4}"
)
_ADDRESS_NUMBER_FIRST = re.compile(
    r"\d{1,6}[A-Za-z]?,?\s+[^\W\d_][\w'.-]*(?:[ \t]+[^\W_][\w'.-]*){0,6}"
    r"(?:[ \t]*(?:,|\\n|\n)[ \t]*,?[ \t]*[^\W_][\w'.-]*(?:[ \t]+[^\W_][\w'.-]*){0,4}){0,4}"
)
_SKIP = re.compile(
    r"(?:\s|[:#=,]|\bis\b|\bnumber\b|\bno\b\.?|\bnr\b\.?|\bnum\b|\bmy\b|\bthe\b|\bid\b|\bit's\b)*",
    re.IGNORECASE,
)
_STOP_WORDS = frozenset({"number", "please", "expires", "and", "is", "was", "the"})

_SCORE_DOCUMENT = 0.85
_SCORE_ADDRESS = 0.75


class ContextScanner:
    """Passport, driving-licence and id numbers, and addresses after a cue."""

    name = "context"
    triggers: tuple[str, ...] = (*_PASSPORT_CUES, *_LICENCE_CUES, *_ID_CUES,
                                 *_ADDRESS_CUES)  # fmt: skip

    def __init__(self, entities: Iterable[str]):
        self._on = frozenset(entities)

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        """Append a candidate for each cued entity in ``doc``."""
        for cues, entity in ((_PASSPORT_CUES, "PASSPORT"), (_LICENCE_CUES, "DRIVER_LICENSE")):
            if entity in self._on:
                for at in _after(doc, cues):
                    self._document(doc, at, entity, _CODE, out)
        if "ID_NUMBER" in self._on:
            for at in _after(doc, _ID_CUES):
                self._document(doc, at, "ID_NUMBER", _ID_NUMBER, out)
        if "STREET_ADDRESS" in self._on:
            for at in _after(doc, _ADDRESS_CUES):
                self._address(doc, at, out)

    @staticmethod
    def _document(
        doc: ScanText, at: int, entity: str, pattern: re.Pattern[str], out: list[Candidate]
    ) -> None:
        text = doc.text
        # Past the rest of the cue's word and the filler ("'s license number is: ").
        word = _CUE_WORD.match(text, at)
        at = word.end() if word else at
        skip = _SKIP.match(text, at)
        start = skip.end() if skip else at
        match = pattern.match(text, start, min(len(text), start + 40))
        if (
            match
            and match.group().lower() not in _STOP_WORDS
            and not _SSN_SHAPE.fullmatch(match.group())
        ):
            out.append(Candidate(entity, *match.span(), _SCORE_DOCUMENT, "context"))

    @staticmethod
    def _address(doc: ScanText, at: int, out: list[Candidate]) -> None:
        text = doc.text
        hi = min(len(text), at + 160)
        if not _DIGIT.search(text, at, hi):
            return  # most cues in prose ("sent to the store") have no number after them
        for pattern in (_ADDRESS_NUMBER_FIRST, _ADDRESS):
            match = pattern.search(text, at, hi)
            if (
                match
                and match.start() - at <= 48
                and "\n" not in text[at : match.start()].lstrip(": \t\n")
                and any(c.isdigit() for c in match.group())
                and _looks_like_address(text, match.start(), match.group())
            ):
                end = match.end()
                while end > match.start() and not text[end - 1].isalnum():
                    end -= 1
                span = (match.start(), end)
                out.append(Candidate("STREET_ADDRESS", *span, _SCORE_ADDRESS, "context"))
                return


# An SSN after its cue is a US_SSN (pii.py, cued.py), valid or not: not a second entity here.
_SSN_SHAPE = re.compile(r"\d{3}([- ]?)\d{2}\1\d{4}")

_NOT_STREET = frozenset({"am", "pm", "a.m.", "p.m.", "o'clock", "h", "hours", "minutes", "days",
                         "weeks", "months", "years", "people", "percent", "times", "of", "and",
                         "or", "to", "in", "on", "at", "by", "from", "since", "until"})  # fmt: skip
_CUE_WORD = re.compile(r"[\w'’]*")
_PART_END = re.compile(r",|\\n|\n")
_NAME_WORD = re.compile(r"[^\W\d_][\w'.-]*")
_DIGIT = re.compile(r"\d")
_SENTENCE_END = re.compile(r"[.!?]\s+[A-Z]")
_ARTICLES = frozenset({"the", "a", "an", "my", "your", "our", "his", "her", "their", "its"})
_NUMBER_AND_WORD = re.compile(r"\d+[A-Za-z]?,?\s+([^\s,]+)")
_WORD_BEFORE_NUMBER = re.compile(r"([^\s,]+)[ \t,]+\d{1,6}[A-Za-z]?\b")


def _looks_like_address(text: str, start: int, found: str) -> bool:
    """Not a time ("15 at 3 pm"), a year ("Paris in 1999") or the tail of a date."""
    if start and text[start - 1] in "-/.:0123456789":
        return False
    first = _NUMBER_AND_WORD.match(found)
    if first and first.group(1).lower() in _NOT_STREET:
        return False
    before = _WORD_BEFORE_NUMBER.search(found)
    if first is None and before and before.group(1).lower() in _NOT_STREET:
        return False
    # A street has a name: "sent to the hive in the last 6" and "buy 4 watermelons" have none,
    # nor does a street run on past the end of a sentence.
    line = _PART_END.split(found, maxsplit=1)[0]
    if _SENTENCE_END.search(line):
        return False
    words = _NAME_WORD.findall(line)
    window = text[max(0, start - 80) : start + 80]
    named = any(w[0].isupper() for w in words) or window == window.lower()
    return bool(words) and words[0].lower() not in _ARTICLES and named


def _after(doc: ScanText, cues: tuple[str, ...]) -> list[int]:
    """The offsets just past each occurrence of ``cues`` (registered triggers) that starts a
    word: "nie " in "Melanie has" is no Spanish id cue."""
    lower = doc.lower
    return sorted(
        at + len(cue)
        for cue in cues
        for at in doc.hits(cue)
        if at == 0 or not lower[at - 1].isalnum()
    )
