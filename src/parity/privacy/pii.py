"""Fast-path PII: number-shaped entities found around digit runs, and e-mail addresses.

Python's regex engines test a character class at every position, which costs about a
millisecond over a 4k-token prompt per pattern. So no pattern here scans the whole text: the
shared digit runs (found with one literal search) and the ``@`` trigger say where to look, and
each typed pattern only runs on a short window there.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import phonenumbers
from phonenumbers import enable_pattern_cache

from parity.privacy.types import Candidate, ScanText, windows
from parity.privacy.validators import (
    SAMPLE_SSNS,
    digits_of,
    iban_valid,
    ip_valid,
    luhn_valid,
    maestro_range,
    nino_valid,
    ssn_valid,
)

__all__ = ["PiiScanner"]

# Card-shaped: groups of four (Amex 4-6-5), or 12-19 digits in one block; not an ISBN.
_CARD = re.compile(
    r"(?<![\w-])(?:(?:\d{4}[ -]){2,4}\d{1,4}|\d{4}[ -]\d{6}[ -]\d{4,5}|\d{12,19})(?![\w-])"
)
_SSN = re.compile(r"(?<![\w-])\d{3}([- .]?)\d{2}\1\d{4}(?![\w-])")
# Phone-shaped: an optional +country and (area), then groups split by one separator each, or
# one unbroken block of 10-15 digits. "30000-3000" (a sum) and "3.11.2" are not.
_PHONE = re.compile(
    r"(?:(?<![\w+.:-])|(?<=\\n))"
    r"(?:(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,5}\)[ .-]?)?\d{1,5}(?:[ .-]\d{1,8}){1,5}"
    r"|(?:\+\d{1,3}[ .-]?)?\(\d{1,5}\)[ .-]?\d{3,8}|\+?\d{10,15})"
    r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?![\w]|[.-]\d)"
)
# Words that say a number is a phone number, looked for just before it or just after it
# ("call me on 617 4281", "06-27508482-Office").
PHONE_CUES = ("call", "phone", "mobile", "tel", "fax", "office", "whatsapp", "cell", "mob",
              "landline", "contact", "reach me", "ring", "sms", "text me", "desk", "home:",
              "work:", "number", "message")  # fmt: skip
CARD_CUES = ("card", "cc ", "cc:", "visa", "mastercard", "maestro", "amex", "debit", "credit")
_ARITHMETIC = frozenset("=+*×÷<>")
_THOUSANDS = re.compile(r"\d{1,3}(?:([ ,.])\d{3})(?:\1\d{3})*")
_MONEY_NEAR = re.compile(r"[$€£¥]|\b(?:eur|usd|gbp|chf|dollars?|euros?|pounds?|francs?)\b")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ -]?[A-Za-z0-9]{4}){2,7}(?:[ -]?[A-Za-z0-9]{1,3})?"
)
_NINO = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d](?![A-Za-z0-9])")
_STREET_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Boulevard|Blvd|Lane|Ln|Drive|Dr|Court|Ct|Way|Place|Pl|"
    "Terrace|Parkway|Pkwy|Square|Sq|Highway|Hwy|Circle|Cir|Trail|Close|Crescent|Gardens|Mews|Row"
)
_STREET_TRIGGERS = tuple(" " + word.lower() for word in _STREET_TYPES.split("|"))
_ADDRESS = re.compile(
    r"(?<![\w./-])\d{1,6}[A-Za-z]?,?\s+(?:\d{1,3}(?:st|nd|rd|th)\s+(?:[A-Z][A-Za-z'.-]*\s+){0,3}?"
    r"|(?:[A-Z][A-Za-z'.-]*\s+){1,4}?)"
    rf"(?:{_STREET_TYPES})\b\.?"
    r"(?:,?\s+(?:Apt|Suite|Unit|Flat|#)\.?\s*[\w-]+)?"
    r"(?:,\s*[A-Z][A-Za-z]+(?:\s[A-Z][A-Za-z]+){0,2}(?:,?\s+[A-Z]{2})?(?:\s+\d{5}(?:-\d{4})?)?)?"
)
_EMAIL = re.compile(r"(?<![\w.+%-])[\w.+%-]{1,64}@[\w-]+(?:\.[\w-]+)+")
_DATE = re.compile(r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}")
_EXTENSION = re.compile("x|ext")
_GROUP = re.compile(r"\d+")
_DIGIT = re.compile(r"\d")
_TOKEN_END = re.compile(r"[^\s,;\"'<>)\]}]{0,64}")
_EMAIL_ONLY = ("EMAIL_ADDRESS",)
_SSN_CUES = ("ssn", "social security", "social-security")

# Presidio's scores where Presidio has the entity, so thresholds mean the same on both paths.
_SCORE_CARD = 1.0
_SCORE_IBAN = 1.0
_SCORE_EMAIL = 1.0
_SCORE_IP = 0.6
_SCORE_PHONE = 0.5
_SCORE_PHONE_CUED = 0.85
_SCORE_NINO = 0.5
_SCORE_SSN = 0.5
_SCORE_SSN_CUED = 0.85
_SCORE_ADDRESS = 0.7

Emit = Callable[[Candidate], None]


class PiiScanner:
    """Cards, SSNs, NINOs, IBANs, phones, IPs, street addresses and e-mail addresses."""

    name = "pii"
    triggers: tuple[str, ...] = ("@", *_STREET_TRIGGERS, *PHONE_CUES, *CARD_CUES)

    def __init__(
        self,
        entities: Iterable[str],
        *,
        phone_regions: Iterable[str],
        probe_entities: Iterable[str] = (),
    ):
        self._on = frozenset(entities)
        self._allowed = self._on | {"NATIONAL_ID"}
        # phonenumbers compiles its metadata patterns through re's 512-entry cache, which eight
        # regions overflow, so every request recompiled some; its own switch keeps them all.
        enable_pattern_cache()
        self._regions = tuple(phone_regions)
        # Presidio entities without a fast pattern of their own: every longer digit run is
        # offered to Presidio for them.
        self._probe = tuple(probe_entities)

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        """Append PII candidates found in ``doc``."""
        seen: set[tuple[str, int, int]] = set()

        def emit(candidate: Candidate) -> None:
            key = (candidate.type, candidate.start, candidate.end)
            if key not in seen and candidate.type in self._allowed:
                seen.add(key)
                out.append(candidate)

        if "EMAIL_ADDRESS" in self._on:
            self._emails(doc, emit)
        for start, end, digits in doc.digit_runs:
            self._around_digits(doc, start, end, digits, emit)
        if "STREET_ADDRESS" in self._on:
            self._addresses(doc, emit)

    def _emails(self, doc: ScanText, emit: Emit) -> None:
        text = doc.text
        for lo, hi in windows(doc.hits("@"), 65, 256, len(text)):
            for match in _EMAIL.finditer(text, lo, hi):
                tld = match.group().rsplit(".", 1)[-1]
                good = tld.isalpha() and len(tld) >= 2
                score = _SCORE_EMAIL if good else 0.0
                emit(Candidate("EMAIL_ADDRESS", *match.span(), score, "fast", confirm=_EMAIL_ONLY))

    def _around_digits(self, doc: ScanText, start: int, end: int, digits: int, emit: Emit) -> None:
        text = doc.text
        if self._probe:
            emit(Candidate("NATIONAL_ID", start, end, 0.0, "fast", confirm=self._probe))
        run = text[start:end]
        # Most runs in prose and sums ("2024", "1,500") can be none of the entities below.
        if digits < 6 and "." not in run and ":" not in run and text[end : end + 1] != ":":
            return
        lo = max(0, start - 4)
        token = _TOKEN_END.match(text, end)
        hi = token.end() if token else end
        if digits >= 6:
            # Letters may lead the number by a word or two: "GB82 WEST 1234…", "AB 12 34 56 C".
            ibans = self._lettered(text, max(0, start - 14), hi, emit)
            self._long_numbers(doc, lo, hi, emit, ibans)
        if "." in run:
            self._ips(text, _IPV4, lo, hi, emit)
        if ":" in text[start:hi]:
            self._ips(text, _IPV6, max(0, start - 40), hi, emit)

    def _long_numbers(
        self, doc: ScanText, lo: int, hi: int, emit: Emit, taken: list[tuple[int, int]]
    ) -> None:
        """Cards, SSNs and phones in text[lo:hi], except inside ``taken`` spans (IBANs)."""
        text = doc.text
        for match in _CARD.finditer(text, lo, hi):
            if _inside(match.span(), taken):
                continue
            # Presidio's card check is the same Luhn test, so only passing numbers are kept.
            if self._card(doc, match.start(), match.group()):
                taken.append(match.span())
                emit(Candidate("CREDIT_CARD", *match.span(), _SCORE_CARD, "fast"))
        for match in _SSN.finditer(text, lo, hi):
            sample = digits_of(match.group()) in SAMPLE_SSNS
            if _inside(match.span(), taken) or not (sample or ssn_valid(match.group())):
                continue
            taken.append(match.span())  # an SSN's shape is never also read as a phone
            before = doc.lower[max(0, match.start() - 40) : match.start()]
            cued = any(cue in before for cue in _SSN_CUES)
            # A published sample is no one's number, unless the text calls it an SSN: then it
            # is what the user meant (and Presidio, which rejects samples, is not asked).
            if sample and not cued:
                continue
            # Nine bare digits are as often an order number as an SSN.
            uncued = _SCORE_SSN if match.group(1) else 0.3
            score = _SCORE_SSN_CUED if cued else uncued
            emit(Candidate("US_SSN", *match.span(), score, "fast", confirm=("US_SSN",)))
        for match in _PHONE.finditer(text, lo, hi):
            if _inside(match.span(), taken):
                continue
            score = self._phone_score(doc, match.start(), match.end(), match.group())
            if score:
                emit(Candidate("PHONE_NUMBER", *match.span(), score, "fast"))

    def _card(self, doc: ScanText, start: int, candidate: str) -> bool:
        """Luhn over 13-19 digits; 12 digits only in Maestro's ranges or after a card word."""
        digits = digits_of(candidate)
        if not 12 <= len(digits) <= 19 or not luhn_valid(digits):
            return False
        if len(digits) >= 13:
            return True
        return maestro_range(digits) or _near(doc, CARD_CUES, (start, start), (40, 0))

    def _phone_score(self, doc: ScanText, start: int, end: int, candidate: str) -> float:
        """How sure the number is a phone number, 0 when it is not one.

        Any country's numbers count: the shape (7-15 digits in dialling groups, a +country
        code, a trunk 0 or an area in brackets) and a cue word around it decide. Validity in a
        numbering plan only raises the score: generated, old and mistyped numbers are still
        someone's phone number.
        """
        count = len(digits_of(_EXTENSION.split(candidate)[0]))
        if not 6 <= count <= 15 or _not_a_phone(doc, start, end, candidate):
            return 0.0
        if _near(doc, PHONE_CUES, (start, end), (40, 14)):
            return _SCORE_PHONE_CUED
        if count < 7:
            return 0.0
        if candidate.startswith(("+", "00")):
            international = "+" + candidate.lstrip("+0") if candidate[0] == "0" else candidate
            try:
                possible = phonenumbers.is_possible_number(phonenumbers.parse(international))
            except phonenumbers.NumberParseException:
                possible = False
            return _SCORE_PHONE if possible else 0.0
        # Written the way phone numbers are: a trunk 0 or an area in brackets, or three or more
        # dialling groups ("723 990 437", "42-51-49-67"); "2000-1800" and "1.500" are not,
        # unless a numbering plan of privacy.phone_regions says they are.
        groups = len(_GROUP.findall(candidate))
        if candidate[0] in "(0" or groups >= 3 or self._valid_in_regions(candidate):
            return _SCORE_PHONE
        return 0.0

    def _valid_in_regions(self, candidate: str) -> bool:
        for region in self._regions:
            try:
                number = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if phonenumbers.is_valid_number(number):
                return True
        return False

    @staticmethod
    def _ips(text: str, pattern: re.Pattern[str], lo: int, hi: int, emit: Emit) -> None:
        for match in pattern.finditer(text, lo, hi):
            if ip_valid(match.group()):
                emit(Candidate("IP_ADDRESS", *match.span(), _SCORE_IP, "fast"))

    def _lettered(self, text: str, lo: int, hi: int, emit: Emit) -> list[tuple[int, int]]:
        """IBANs and NINOs starting near text[lo:hi]; returns the IBANs' spans."""
        ibans: list[tuple[int, int]] = []
        # An IBAN runs on past this digit run ("GB82 WEST 1234…"): look up to its longest form.
        for match in _IBAN.finditer(text, lo, min(len(text), lo + 50)):
            span = _longest_valid_iban(text, match.start(), match.end())
            # Presidio applies the same length and mod-97 test, so a failure needs no second look.
            if span is not None:
                ibans.append(span)
                emit(Candidate("IBAN_CODE", *span, _SCORE_IBAN, "fast"))
        for match in _NINO.finditer(text, lo, min(len(text), hi + 3)):
            if nino_valid(match.group()):
                emit(Candidate("UK_NINO", *match.span(), _SCORE_NINO, "fast"))
        return ibans

    @staticmethod
    def _addresses(doc: ScanText, emit: Emit) -> None:
        """Street addresses, found from the street word back to the house number."""
        text, lower = doc.text, doc.lower
        for word in _STREET_TRIGGERS:
            for at in doc.hits(word):
                end = at + len(word)
                if end < len(lower) and lower[end].isalpha():
                    continue  # " dr" in " dream"
                lo = max(0, at - 72)
                if not _DIGIT.search(text, lo, at):
                    continue  # "the way out": no house number before the street word
                for match in _ADDRESS.finditer(text, lo, min(len(text), end + 72)):
                    if match.start() <= at < match.end():
                        emit(Candidate("STREET_ADDRESS", *match.span(), _SCORE_ADDRESS, "fast"))


def _not_a_phone(doc: ScanText, start: int, end: int, candidate: str) -> bool:
    """Dates, times, IP addresses, money and percentages shaped like phone numbers."""
    text = doc.text
    if _DATE.fullmatch(candidate) or _IPV4.fullmatch(candidate):
        return True
    if text[end : end + 1] in (":", "%") or text[max(0, start - 1) : start] in ("$", "€", "£"):
        return True  # "2019-02-08 16:03:22", "12 345%", "$1 500 000"
    if _in_a_sum(text, start, end):
        return True
    if _SSN.fullmatch(candidate) and "-" in candidate:
        return True  # 3-2-4 with dashes is how SSNs are written (000-12-3456 is none either)
    if (
        _IBAN.search(text, max(0, start - 16), end)
        or "isbn" in doc.lower[max(0, start - 12) : start]
    ):
        return True  # the tail of an IBAN that failed its checksum, an ISBN
    around = doc.lower[max(0, start - 12) : end + 12]
    return bool(_THOUSANDS.fullmatch(candidate) and _MONEY_NEAR.search(around))


def _in_a_sum(text: str, start: int, end: int) -> bool:
    """'<<30000-6000=24000>>', '2000-1800 = 200': arithmetic, not a phone number."""
    after, before = text[end : end + 1], text[max(0, start - 1) : start]
    if after in _ARITHMETIC or before in _ARITHMETIC:
        return True
    return text[end : end + 3].lstrip(" ")[:1] == "=" or text[max(0, start - 3) : start] == " = "


def _near(
    doc: ScanText, cues: Iterable[str], span: tuple[int, int], reach: tuple[int, int]
) -> bool:
    """True when one of ``cues`` (registered triggers) occurs within ``reach`` of ``span``
    (characters before its start, characters after its end)."""
    lo, hi = span[0] - reach[0], span[1] + reach[1]
    return any(lo <= at <= hi for cue in cues for at in doc.hits(cue))


def _inside(span: tuple[int, int], spans: list[tuple[int, int]]) -> bool:
    """True when ``span`` lies within one of ``spans``."""
    return any(lo <= span[0] and span[1] <= hi for lo, hi in spans)


def _longest_valid_iban(text: str, start: int, end: int) -> tuple[int, int] | None:
    """The longest valid IBAN that starts at ``start`` and ends at a word end before ``end``.

    The pattern may take in the next number ("… 7654 32 1234"); trying shorter stops at word
    ends finds the account number itself.
    """
    for stop in range(end, start + 14, -1):
        at_word_end = text[stop - 1].isalnum() and (stop == len(text) or not text[stop].isalnum())
        if at_word_end and iban_valid(text[start:stop]):
            return start, stop
    return None
