"""Detection beyond US formats: the issue's leaked examples, every card length, cued ids."""

from __future__ import annotations

import pytest

from parity.privacy.detector import PrivacyDetector, PrivacySettings


@pytest.fixture(scope="module")
def detector() -> PrivacyDetector:
    return PrivacyDetector(PrivacySettings())


def _found(detector: PrivacyDetector, text: str) -> set[tuple[str, str]]:
    return {(e.type, text[e.start : e.end]) for e in detector.scan([text]).entities}


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("Can someone call me on 617 4281?", "617 4281"),  # a cue, seven digits
        ("Kristine Egede\n06-27508482-Office", "06-27508482"),  # Dutch, the cue after it
        ("Desk: 020 7946 0958\n+41 48 443 76 16-Fax", "+41 48 443 76 16"),  # Swiss
        ("my registered 723 990 437", "723 990 437"),  # Polish mobile, no cue
        ("Phone:\n42-51-49-67", "42-51-49-67"),
        ("Desk: (07700) 405317", "(07700) 405317"),
        ("whatsapp 9633 0859 after six", "9633 0859"),
        ("reach me on 001-790-668-0196", "001-790-668-0196"),
        ("fax (291)196-7015x439", "(291)196-7015x439"),
    ],
)
def test_phone_numbers_of_any_country_are_found(
    detector: PrivacyDetector, text: str, number: str
) -> None:
    assert ("PHONE_NUMBER", number) in _found(detector, text)


def test_the_woolworth_ssn_is_an_ssn_and_not_a_phone(detector: PrivacyDetector) -> None:
    found = _found(detector, "My SSN is 078-05-1120, thanks")
    assert ("US_SSN", "078-05-1120") in found
    assert not any(kind == "PHONE_NUMBER" for kind, _ in found)


@pytest.mark.parametrize(
    "number",
    [
        "503815772812",  # Maestro, 12 digits
        "4222222222222",  # Visa, 13
        "30569309025904",  # Diners, 14
        "378282246310005",  # Amex, 15
        "4111 1111 1111 1111",  # Visa, 16, grouped
        "6759649826438453",  # Maestro UK, 16
        "6304000000000000000",  # 19 digits
    ],
)
def test_card_numbers_of_every_length_luhn_allows(detector: PrivacyDetector, number: str) -> None:
    assert ("CREDIT_CARD", number) in _found(detector, f"please charge {number} today")


def test_twelve_digits_outside_maestro_ranges_need_a_card_word(detector: PrivacyDetector) -> None:
    # 400000000002 passes Luhn; 12-digit cards exist only in Maestro's ranges (50, 56-69).
    assert not any(k == "CREDIT_CARD" for k, _ in _found(detector, "order 400000000002 shipped"))
    assert ("CREDIT_CARD", "400000000002") in _found(detector, "my card 400000000002 expired")


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        ("She was born on 7/27/1978. Her maiden name is Angelo", "DATE_OF_BIRTH", "7/27/1978"),
        ("date of birth: 12 March 1981", "DATE_OF_BIRTH", "12 March 1981"),
        ("My driver's license number is T647052", "DRIVER_LICENSE", "T647052"),
        ("driving licence no. MORGA753116SM9IJ", "DRIVER_LICENSE", "MORGA753116SM9IJ"),
        ("passport number: X1234567 (Dutch)", "PASSPORT", "X1234567"),
        ("codice fiscale BRNMRN18A13I206L", "ID_NUMBER", "BRNMRN18A13I206L"),
    ],
)
def test_ids_and_dates_of_birth_near_their_cue_words(
    detector: PrivacyDetector, text: str, kind: str, value: str
) -> None:
    assert (kind, value) in _found(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "Meet me at 4029 Vabaduse 41, Csipkerek, Hungary",
        "please update my address to 231 Kapelaniestraat 88\n Apt. 522\n Leugnies\n Belgium",
        "Please return to 6431 Άγιος Γεώργιος 187 Suite 642 ΛΕΥΚΩΣΙΑ Cyprus",
        "USNS Souza\nFPO AE 80194",
    ],
)
def test_street_addresses_beyond_the_us_and_uk(detector: PrivacyDetector, text: str) -> None:
    assert any(kind == "STREET_ADDRESS" for kind, _ in _found(detector, text)), text


@pytest.mark.parametrize(
    "text",
    [
        "When: 1989-12-28 00:24:34.090534\nWhere: Orangeville Country Club.",
        "In 2013 we sold 1 500 000 EUR of goods; Article 50 applies.",
        "The invoice total is $1 250 000 and 12 345% of nothing.",
        "Between 2019 and 2024 the ratio went from 3.11 to 4.2.",
        "She was born in Vienna and moved to Paris in 1999.",
    ],
)
def test_look_alikes_are_left_alone(detector: PrivacyDetector, text: str) -> None:
    assert not detector.scan([text]).sensitive, _found(detector, text)


def test_two_phone_numbers_split_by_a_slash_are_phones(detector: PrivacyDetector) -> None:
    found = _found(detector, "Tel. 030 1234567/030 7654321")
    assert ("PHONE_NUMBER", "030 1234567") in found and ("PHONE_NUMBER", "030 7654321") in found


def test_oversized_text_still_fails_closed() -> None:
    detector = PrivacyDetector(PrivacySettings(max_chars=100))
    findings = detector.scan(["call me " * 20])
    assert findings.failed and findings.sensitive


@pytest.mark.parametrize(
    "text",
    [
        "Bitte an Hauptstraße 5, 10115 Berlin schicken",
        "Bahnhofstrasse 1, 8001 Zürich",
        "Kalverstraat 92, 1012 PH Amsterdam",
        "mon adresse: 12 rue de la Paix, 75002 Paris",
        "abito in Via Roma 12, 00184 Roma",
        "Calle Mayor 5, 28013 Madrid",
        "mieszkam przy ul. Długa 7, 00-238 Warszawa",
        "Rua Augusta 274, Lisboa",
        "Storgata 14, 0184 Oslo",
        "Please forward it to P.O. Box 4412, Springfield",
        "Postfach 1220, 80331 München",
        "Linnea Berg\nNordic Tools AB\n4410 Kungsgatan 12\nSTOCKHOLM",
    ],
)
def test_street_addresses_by_their_shape_in_many_languages(
    detector: PrivacyDetector, text: str
) -> None:
    assert any(kind == "STREET_ADDRESS" for kind, _ in _found(detector, text)), text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("Name: Jan Kowalski, geb. 12.03.1985", "12.03.1985"),
        ("Elle est née le 4 juillet 1976 à Lyon", "4 juillet 1976"),
        ("d.o.b 3/4/1990", "3/4/1990"),
        ("fecha de nacimiento: 7 de mayo de 1969", "7 de mayo de 1969"),
        ("Anna Berg, 12.03.1985, Stockholm", "12.03.1985"),
        ("I've had this cough since 3 May 2021", "3 May 2021"),
        ("Patient aged 54, seen on 2023-02-11 for chest pain", "2023-02-11"),
    ],
)
def test_dates_about_a_person(detector: PrivacyDetector, text: str, value: str) -> None:
    assert ("DATE_OF_BIRTH", value) in _found(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "What happened on July 4, 1776?",
        "The treaty was signed on 28 June 1919 in Versailles.",
        "Why did the president resign on August 9, 1974?",
        "On 1976-03-18 16:26:10, the government began the withdrawal.",
        "Place 3 eggs in a bowl and take Route 66 home.",
        "Windows 10, Python 3.11 and chapter 3 section 5.",
        "In 2010 Apple sold 200, Samsung sold 300.",
        "as shown by Smith et al. Nature 2019, the effect holds",
        "The 3rd Brigade 5 km north held the line.",
        "Send the report to the team in the last 6 hours.",
        "She has 2000-1800 = <<2000-1800=200>>200 calories left",  # GSM8K's sums
        "so 3000-2000 = 1000 voted by 16:00",
        "Melanie has already saved 10 toothpicks",  # "nie " is a cue only as a word
    ],
)
def test_dates_and_numbers_that_point_at_no_one(detector: PrivacyDetector, text: str) -> None:
    assert not detector.scan([text]).sensitive, _found(detector, text)
