"""Checksums and structural rules that turn a pattern match into evidence.

A bare 16-digit number is weak evidence of a card; one that passes Luhn is strong. Each validator
takes the matched text and answers True/False; none of them allocate much or do I/O, because they
run on the request path.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
import string
from collections import Counter

import orjson

__all__ = [
    "digits_of",
    "iban_valid",
    "ip_valid",
    "jwt_valid",
    "luhn_valid",
    "maestro_range",
    "nino_valid",
    "shannon_entropy",
    "ssn_valid",
]

# Lengths of IBANs by country (ISO 13616 registry); a wrong length is a cheap early reject.
_IBAN_LENGTHS: dict[str, int] = {
    "AD": 24, "AE": 23, "AL": 28, "AT": 20, "AZ": 28, "BA": 20, "BE": 16, "BG": 22, "BH": 22,
    "BR": 29, "BY": 28, "CH": 21, "CR": 22, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "DO": 28,
    "EE": 20, "EG": 29, "ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GE": 22, "GI": 23,
    "GL": 18, "GR": 27, "GT": 28, "HR": 21, "HU": 28, "IE": 22, "IL": 23, "IQ": 23, "IS": 26,
    "IT": 27, "JO": 30, "KW": 30, "KZ": 20, "LB": 28, "LC": 32, "LI": 21, "LT": 20, "LU": 20,
    "LV": 21, "MC": 27, "MD": 24, "ME": 22, "MK": 19, "MR": 27, "MT": 31, "MU": 30, "NL": 18,
    "NO": 15, "PK": 24, "PL": 28, "PS": 29, "PT": 25, "QA": 29, "RO": 24, "RS": 22, "SA": 24,
    "SC": 31, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "ST": 25, "SV": 28, "TL": 23, "TN": 24,
    "TR": 26, "UA": 29, "VA": 22, "VG": 24, "XK": 20,
}  # fmt: skip

# UK NINO: these prefixes were never issued, and the second letter is never O.
_NINO_BAD_PREFIXES = frozenset({"BG", "GB", "KN", "NK", "NT", "TN", "ZZ"})
_NINO_BAD_FIRST = frozenset("DFIQUV")
_NINO_BAD_SECOND = frozenset("DFIQUVO")

_DIGITS = frozenset(string.digits)


def digits_of(text: str) -> str:
    """The ASCII digits of ``text``, in order."""
    return "".join(ch for ch in text if ch in _DIGITS)


def luhn_valid(number: str) -> bool:
    """True when the digits of ``number`` pass the Luhn check (card numbers)."""
    digits = digits_of(number)
    if len(digits) < 12:
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2 == 1:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def maestro_range(digits: str) -> bool:
    """True for the issuer ranges of Maestro, the one scheme with 12-digit cards (50, 56-69)."""
    return digits[:2] == "50" or "56" <= digits[:2] <= "69"


def iban_valid(candidate: str) -> bool:
    """True for an IBAN with a known country, the right length and a valid mod-97 check."""
    compact = "".join(candidate.split()).replace("-", "").upper()
    expected = _IBAN_LENGTHS.get(compact[:2])
    if expected is None or len(compact) != expected or not compact.isalnum():
        return False
    rearranged = compact[4:] + compact[:4]
    # Letters count as 10..35, so "GB" becomes "1611"; int() handles the long number natively.
    numeric = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(numeric) % 97 == 1


SAMPLE_SSNS = frozenset({"078051120", "123456789", "987654320"})
"""SSNs printed on wallet cards and in documentation (078-05-1120 was issued, then voided)."""


def ssn_valid(candidate: str) -> bool:
    """True for a US SSN the SSA could have issued: no 000/666/9xx area, no 00 group, no 0000."""
    digits = digits_of(candidate)
    if len(digits) != 9 or len(set(digits)) == 1:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    if area in {"000", "666"} or area[0] == "9":
        return False
    if group == "00" or serial == "0000":
        return False
    # Sample numbers printed in advertising and documentation, never a real person's.
    return digits not in SAMPLE_SSNS


def nino_valid(candidate: str) -> bool:
    """True for a well-formed UK National Insurance number (two letters, six digits, A-D)."""
    compact = "".join(candidate.split()).upper()
    if len(compact) not in (8, 9):
        return False
    prefix, digits = compact[:2], compact[2:8]
    if not (prefix.isalpha() and digits.isdigit()):
        return False
    if len(compact) == 9 and compact[8] not in "ABCD":
        return False
    if prefix in _NINO_BAD_PREFIXES:
        return False
    return prefix[0] not in _NINO_BAD_FIRST and prefix[1] not in _NINO_BAD_SECOND


def ip_valid(candidate: str) -> bool:
    """True for a syntactically valid IPv4 or IPv6 address (not 0.0.0.0 or ::)."""
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        return False
    return not address.is_unspecified


def jwt_valid(token: str) -> bool:
    """True when the first two dot-separated parts decode to JSON objects (header, claims)."""
    parts = token.split(".")
    if len(parts) < 2:
        return False
    for part in parts[:2]:
        padded = part + "=" * (-len(part) % 4)
        try:
            decoded = base64.urlsafe_b64decode(padded.encode("ascii"))
            if not isinstance(orjson.loads(decoded), dict):
                return False
        except (ValueError, binascii.Error, orjson.JSONDecodeError):
            return False
    return True


def shannon_entropy(text: str) -> float:
    """Bits per character; random base64 keys score above 4, English words below 3.5."""
    if not text:
        return 0.0
    length = len(text)
    return -sum(n / length * math.log2(n / length) for n in Counter(text).values())
