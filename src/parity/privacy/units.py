"""Address blocks around a unit word (Suite 192, Apt. 4B, Flat 3), whatever their line layout.

A unit word and its number point at a flat or an office once a street line stands next to
it: a house number beside a name, before the unit ("1122 Erick Hollow\\n Suite 192",
"Victor Hugo u. 36. Suite 004") or after it ("Apt 5, 221 Oak Lane"). Between them only
separators (spaces, line breaks, commas, full stops) may stand, so the layout, one line or
five, changes nothing. "Unit" and "Flat" are common words ("Lesson 5, Unit 3"), so after them
a street line needs two name words or the house number first. Military post (USNS Souza\\n FPO
AE 80194) is found from its post-office line.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from parity.privacy.address import PARTICLES
from parity.privacy.types import Candidate, ScanText

__all__ = ["UnitScanner"]

_STRONG = frozenset(("suite", "ste.", "apt", "apt.", "apartment", "appartement", "appt",
                    "appt.", "wohnung", "whg."))  # fmt: skip
_WEAK = frozenset(("unit", "flat"))
_POSTS = frozenset(("fpo ", "apo ", "dpo "))
# Literal -> a strong unit word (True), a weak one (False) or a military post office (None).
_KINDS: dict[str, bool | None] = {
    **dict.fromkeys(_STRONG, True),
    **dict.fromkeys(_WEAK, False),
    **dict.fromkeys(_POSTS, None),
}

_SEPARATORS = r"(?:[\s,.;]|\\n)*"
_WORD = r"[^\W\d_][\w'’.-]*"
_HOUSE = r"\d{1,6}[A-Za-z]?(?:[-/]\d{1,4}[A-Za-z]?)?"
# The unit word at a trigger, and its number or letter: "Suite 192", "Apt. 4B", "Flat C".
_UNIT = re.compile(
    r"[^\W\d_]+\.?[ \t]*(?:#|no\.?|nr\.?)?[ \t]*(\d{1,5}[A-Za-z]?|[A-Za-z])(?![\w-])", re.IGNORECASE
)
# A street line that ends right before the unit: "1122 Erick Hollow", "Victor Hugo u. 36.".
_LINE_BEFORE = re.compile(
    rf"(?:(?<![\w.,/-])({_HOUSE})[ \t]+((?:{_WORD}[ \t]+){{0,5}}{_WORD})"
    rf"|(?<![\w'’.-])((?:{_WORD}[ \t]+){{0,5}}{_WORD}),?[ \t]+({_HOUSE})(?![\w])){_SEPARATORS}$"
)
# A street line right after the unit: "Apt 5, 221 Oak Lane", "Flat 2\\nKastanienallee 12".
_LINE_AFTER = re.compile(
    rf"{_SEPARATORS}(?:({_HOUSE})[ \t]+((?:{_WORD}[ \t]+){{0,5}}{_WORD})"
    rf"|((?:{_WORD}[ \t]+){{0,5}}{_WORD}),?[ \t]+({_HOUSE})(?![\w]))"
)
# A part of the lines after the unit (the city, the country), to end the span there.
_PART = re.compile(rf"[ \t]*(?:,|\\n|\n)?[ \t]*,?[ \t]*({_WORD}(?:[ \t]+{_WORD}){{0,3}})")
_MILITARY_BEFORE = re.compile(
    rf"(?:(?:USNS|USNV|USS|USCGC)[ \t]+{_WORD}(?:[ \t]+{_WORD}){{0,2}}"
    r"|PSC[ \t]+\d{3,5},?[ \t]+Box[ \t]+\d{3,5}|Unit[ \t]+\d{3,5}[ \t]+Box[ \t]+\d{3,5})"
    rf"{_SEPARATORS}$",
    re.IGNORECASE,
)
_POST_LINE = re.compile(r"[ADF]PO[ \t]+A[AEP][ \t]+\d{5}\b", re.IGNORECASE)
# Words that a unit's neighbours in prose begin with ("Chapter 2, Unit 3", "Lesson 5 Unit 1").
_NOT_NAMES = frozenset({"chapter", "lesson", "grade", "module", "section", "part", "page",
                        "week", "day", "year", "level", "book", "volume", "vol.", "exercise",
                        "question", "step", "term", "class", "room", "table", "figure",
                        "version", "windows", "office", "the", "a", "an", "and", "or", "of",
                        "in", "on", "at", "to", "for", "with", "by", "from", "is", "was",
                        "are", "per", "each", "every", "only", "all", "about"})  # fmt: skip
_NAME = re.compile(_WORD)
_CODE = re.compile(r"[ \t]+\d{4,6}(?![\w])")
_REACH = 100
_REACH_BEFORE = 64  # six name words and a house number
_DIGIT = re.compile(r"\d")
_SCORE = 0.75


class UnitScanner:
    """Street-and-unit blocks and military post addresses."""

    name = "units"
    triggers: tuple[str, ...] = tuple(sorted(_STRONG | _WEAK | _POSTS))

    def __init__(self, entities: Iterable[str]):
        self._on = "STREET_ADDRESS" in frozenset(entities)

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        """Append a STREET_ADDRESS candidate for each unit beside a street line."""
        if not self._on:
            return
        for cue, strong in doc.present(_KINDS):
            for at in doc.hits(cue):
                if strong is None:
                    span = _military(doc.text, at)
                else:
                    span = _unit_block(doc, at, len(cue), strong)
                if span is not None:
                    out.append(Candidate("STREET_ADDRESS", *span, _SCORE, "units"))


def _unit_block(doc: ScanText, at: int, size: int, strong: bool) -> tuple[int, int] | None:
    """The span of the street line, the unit at ``at`` and the city after it, if any."""
    text, lower = doc.text, doc.lower
    end = at + size
    if (at and lower[at - 1].isalnum()) or (end < len(text) and text[end].isalpha()):
        return None  # "unit" in "units", "flat" in "flatten"
    unit = _UNIT.match(text, at, min(len(text), at + 24))
    if unit is None:
        return None
    lowercase = _lowercase(text, at)
    lo = max(0, at - _REACH_BEFORE)
    # Most unit words in prose have no number before them: one quick look spares the pattern.
    before = _LINE_BEFORE.search(text, lo, at) if _DIGIT.search(text, lo, at) else None
    start = _street(before, strong, lowercase) if before else None
    if start is not None:
        return start, _tail_end(text, unit.end(), lowercase)
    after = _LINE_AFTER.match(text, unit.end(), min(len(text), unit.end() + _REACH))
    if after is None:
        return None
    # Right after the unit, the street line comes first: no prose words before its name.
    first = after.start(1) if after.group(1) is not None else after.start(3)
    return (at, after.end()) if _street(after, strong, lowercase) == first else None


def _street(line: re.Match[str], strong: bool, lowercase: bool) -> int | None:
    """Where the street line starts: a house number beside a capitalised name (after "Unit"
    and "Flat", two name words or the number first); None when it is no street.

    A name before its number may have prose in front of it ("my new place at Kastanienallee
    12"): the name is the words after the last function word.
    """
    number_first = line.group(1) is not None
    group = 2 if number_first else 3
    words = [(m.start(), m.group()) for m in _NAME.finditer(line.group(group))]
    if not number_first:
        while words and any(w.lower() in _NOT_NAMES for _, w in words):
            words.pop(0)
    if not words or any(w.lower() in _NOT_NAMES for _, w in words):
        return None
    # "der Schillingbrücke 10" (An der …), "van Hallstraat 3": the name's capital comes later.
    first = next((w for _, w in words if w.lower() not in PARTICLES), "")
    if not first or not (first[0].isupper() or (lowercase and (number_first or len(words) > 1))):
        return None
    if not (strong or number_first or len(words) >= 2):
        return None
    return line.start(1) if number_first else line.start(3) + words[0][0]


def _tail_end(text: str, at: int, lowercase: bool) -> int:
    """The end of the city and country lines after a unit ("\\n Aceguá\\n Uruguay 90119")."""
    end = at
    for _ in range(3):
        part = _PART.match(text, end, min(len(text), end + 60))
        if part is None:
            break
        words = part.group(1).split()
        if not (words[0][0].isupper() or lowercase) or any(w.lower() in _NOT_NAMES for w in words):
            break
        end = part.end()
    # A post code on the last line: "Uruguay 90119".
    code = _CODE.match(text, end, min(len(text), end + 12))
    return code.end() if code else end


def _lowercase(text: str, at: int) -> bool:
    """True when the text around ``at`` has no capital letters (a lower-cased message)."""
    window = text[max(0, at - 80) : at + 80]
    return window == window.lower()


def _military(text: str, at: int) -> tuple[int, int] | None:
    """'USCGC O'Brian\\n FPO AP 26763', 'PSC 4115, Box 7815\\nAPO AA 41945'."""
    post = _POST_LINE.match(text, at, min(len(text), at + 16))
    if post is None:
        return None
    unit = _MILITARY_BEFORE.search(text, max(0, at - 60), at)
    return (unit.start(), post.end()) if unit else None
