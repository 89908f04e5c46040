"""Numbers that a cue word right before them names: sensitive even when no validator accepts them.

The strict checks elsewhere (SSN area rules, dialling-group shapes) keep look-alikes out of
prose. Next to a cue they decide nothing: "SSN: 959-50-6255" is not a number the SSA could
issue, and "call me at 039742 34 87" is grouped like no numbering plan, yet in both the user
says what the number is. So a cue word, a few words of filler ("me at", "number is:") and a
run of digits shaped like an identifier (no date, time, decimal or sum) is that entity: the
detector fails closed near a cue. Numbers without a cue, as in a maths answer, are left to the
strict checks. Cues are whole words and trigger literals (one multi-literal pass); the digit
runs are the shared ones.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable

from parity.privacy.types import Candidate, ScanText

__all__ = ["CuedNumberScanner"]

# Words that say the next number is a phone number, in the benchmark's languages. "number"
# alone is not one ("the number 1234567 is prime").
_PHONE = ("call", "calling", "phone", "telephone", "cellphone", "tel",
          "tel.", "tél", "tél.", "mobile", "mob", "mob.", "cell", "fax", "whatsapp", "sms",
          "text me", "reach me", "ring me", "landline", "hotline", "telefon", "téléphone",
          "portable", "handy", "natel", "telefono", "cellulare", "teléfono", "móvil", "movil",
          "telefoon", "mobiel", "komórka", "tel.:", "ph.", "ph:")  # fmt: skip
_SSN = ("ssn", "social security", "social-security", "ssn#")
_PASSPORT = ("passport", "reisepass", "passeport", "pasaporte", "paspoort", "passaporto")
_LICENCE = ("driver's licence", "driver's license", "drivers licence", "drivers license",
            "driver licence", "driver license", "driving licence", "driving license",
            "licence", "license", "führerschein", "permis de conduire", "dl#")  # fmt: skip
_ID = ("national insurance", "national id", "identity number", "identity card", "id number",
       "id card", "id no", "tax id", "personal number", "personnummer", "pesel", "insee",
       "ahv", "bsn", "dni", "nie", "nif", "codice fiscale", "steuer-id", "steuernummer",
       "personalausweis", "sofinummer", "identiteitskaart")  # fmt: skip

# (cue words, entity, fewest digits, most digits) in the order they are tried.
_FAMILIES: tuple[tuple[tuple[str, ...], str, int, int], ...] = (
    (_SSN, "US_SSN", 9, 9),
    (_PHONE, "PHONE_NUMBER", 7, 15),
    (_PASSPORT, "PASSPORT", 5, 20),
    (_LICENCE, "DRIVER_LICENSE", 5, 20),
    (_ID, "ID_NUMBER", 5, 20),
)

# Between the cue and the number: punctuation and a few short words ("me at", "is:", "no.").
_FILLER = re.compile(
    r"(?:[\s:#=(\-–,.]|\\n|(?:me|us|him|her|at|on|is|was|my|our|his|the|number|no|nr|num|n°"
    r"|nº|#|to|via|under|it's|its|au|am|al|unter|op|pod|numer|nummer|numéro|número|numero"
    r"|of|card|cards|isn't|id|is:)(?![\w']))*",
    re.IGNORECASE,
)
_REACH = 32  # characters of filler, at most
# A date ("2024-01-15") or a decimal ("0.001136") is no identifier; "06.12.34.56.78" is one.
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.](?:\d{4}|\d{2})")
_DECIMAL = re.compile(r"\d+[.,]\d+")
# Years and spans of years: "licence 2019/2020", "national insurance 2023-24".
# A round amount ("1000000"), not anyone's number.
_ROUND = re.compile(r"[1-9]0{4,}")
_YEARS = re.compile(r"(?:19|20)\d\d(?:[ ]?[-/–][ ]?(?:(?:19|20)\d\d|\d\d))+")
_ARITHMETIC = frozenset("=+*×÷<>/%$€£")

_SCORE = 0.85


class CuedNumberScanner:
    """An identifier-shaped run of digits right after its cue word, whatever validators say."""

    name = "cued"

    def __init__(self, entities: Iterable[str]):
        on = frozenset(entities)
        # Cue -> the (entity, fewest digits, most digits) it may name ("id card" two of them).
        self._cues: dict[str, tuple[tuple[str, int, int], ...]] = {}
        for cues, entity, fewest, most in _FAMILIES:
            if entity in on:
                for cue in cues:
                    self._cues[cue] = (*self._cues.get(cue, ()), (entity, fewest, most))
        self.triggers: tuple[str, ...] = tuple(sorted(self._cues))

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        """Append a candidate for each cued number in ``doc``."""
        runs = doc.digit_runs
        if not runs:
            return
        starts = [start for start, _, _ in runs]
        for cue, families in doc.present(self._cues):
            for at in _cue_ends(doc, cue):
                run = _run_after(doc, at, runs, starts)
                if run is None or not _identifier(doc, run):
                    continue
                for entity, fewest, most in families:
                    if fewest <= run[2] <= most:
                        out.append(Candidate(entity, run[0], run[1], _SCORE, "cued"))


def _cue_ends(doc: ScanText, cue: str) -> list[int]:
    """The offsets just past each ``cue`` that is a whole word ("tel" in "hotel" is none)."""
    lower = doc.lower
    ends: list[int] = []
    for at in doc.hits(cue):
        end = at + len(cue)
        if (at == 0 or not lower[at - 1].isalnum()) and (
            end == len(lower) or not lower[end].isalnum() or not cue[-1].isalnum()
        ):
            ends.append(end)
    return ends


def _run_after(
    doc: ScanText, at: int, runs: list[tuple[int, int, int]], starts: list[int]
) -> tuple[int, int, int] | None:
    """The digit run that begins right after the filler at ``at`` (a "+" may lead it)."""
    index = bisect.bisect_left(starts, at)
    if index == len(runs) or runs[index][0] > at + _REACH + 2:
        return None  # most cue words in prose have no number after them: no pattern is run
    filler = _FILLER.match(doc.text, at, min(len(doc.text), at + _REACH))
    begin = filler.end() if filler else at
    if doc.text[begin : begin + 1] == "+":
        begin += 1
    # The filler may have eaten a "(" or "-" that belongs to the number: allow a step back.
    index = bisect.bisect_left(starts, begin - 1)
    if index < len(runs) and runs[index][0] <= begin + 1 and runs[index][1] > begin:
        return runs[index]
    return None


def _identifier(doc: ScanText, run: tuple[int, int, int]) -> bool:
    """Not a date, a time, a decimal, money or a term of a sum."""
    text = doc.text
    start, end, _ = run
    value = text[start:end]
    if ":" in value or any(p.fullmatch(value) for p in (_DATE, _DECIMAL, _YEARS, _ROUND)):
        return False
    before, after = text[max(0, start - 1) : start], text[end : end + 1]
    # "= 1234567 + 7654321" is a sum; "phone=0612345678" is a label and its value.
    operator = text[end : end + 3].lstrip(" ")[:1]
    return before not in _ARITHMETIC and operator not in _ARITHMETIC and not after.isalpha()
