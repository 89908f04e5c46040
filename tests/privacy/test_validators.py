"""The checksums and rules that separate an entity from a look-alike number."""

from __future__ import annotations

import pytest

from parity.privacy.validators import (
    iban_valid,
    ip_valid,
    jwt_valid,
    luhn_valid,
    nino_valid,
    shannon_entropy,
    ssn_valid,
)


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111 1111 1111 1111", True),
        ("5500-0000-0000-0004", True),
        ("378282246310005", True),
        ("4111 1111 1111 1112", False),
        ("1234", False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("GB82 WEST 1234 5698 7654 32", True),
        ("DE89370400440532013000", True),
        ("fr14 2004 1010 0505 0001 3m02 606", True),
        ("GB82 WEST 1234 5698 7654 33", False),  # check digits do not match
        ("GB82 WEST 1234 5698 7654", False),  # wrong length for GB
        ("ZZ82 WEST 1234 5698 7654 32", False),  # no such country
    ],
)
def test_iban(iban: str, valid: bool) -> None:
    assert iban_valid(iban) is valid


@pytest.mark.parametrize(
    ("ssn", "valid"),
    [
        ("536-22-1234", True),
        ("536221234", True),
        ("000-12-3456", False),
        ("666-12-3456", False),
        ("912-12-3456", False),  # 9xx is an ITIN, never an SSN
        ("536-00-1234", False),
        ("536-22-0000", False),
        ("078-05-1120", False),  # the wallet-card sample number
        ("111-11-1111", False),
    ],
)
def test_ssn(ssn: str, valid: bool) -> None:
    assert ssn_valid(ssn) is valid


@pytest.mark.parametrize(
    ("nino", "valid"),
    [("AB 12 34 56 C", True), ("ab123456d", True), ("GB 12 34 56 A", False), ("DA123456A", False)],
)
def test_nino(nino: str, valid: bool) -> None:
    assert nino_valid(nino) is valid


def test_ip_addresses() -> None:
    assert ip_valid("192.168.1.20")
    assert ip_valid("2001:db8::1")
    assert not ip_valid("256.1.1.1")
    assert not ip_valid("0.0.0.0")


def test_jwt_needs_json_header_and_claims() -> None:
    token = (
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
        "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
    )
    assert jwt_valid(token)
    assert not jwt_valid("eyJub3QganNvbg.eyJhIjoxfQ")


def test_entropy_tells_keys_from_words() -> None:
    assert shannon_entropy("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY") > 4.0
    assert shannon_entropy("passwordpassword") < 3.5
