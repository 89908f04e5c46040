"""Fail closed near a cue, unit words in any layout, street words of many languages.

Each case is written here for its cause; none is a benchmark sentence.
"""

from __future__ import annotations

import pytest

from parity.privacy.detector import PrivacyDetector, PrivacySettings


@pytest.fixture(scope="module")
def detector() -> PrivacyDetector:
    return PrivacyDetector(PrivacySettings())


def _found(detector: PrivacyDetector, text: str) -> set[tuple[str, str]]:
    return {(e.type, text[e.start : e.end]) for e in detector.scan([text]).entities}


def _classes(detector: PrivacyDetector, text: str) -> frozenset[str]:
    return detector.scan([text]).data_classes


@pytest.mark.parametrize(
    ("text", "kind", "value"),
    [
        # The SSA never issues 9xx, 666 or 000 areas: the user still says it is an SSN.
        ("My social security number: 912-44-7310, for the form", "US_SSN", "912-44-7310"),
        ("ssn 666 20 1234 (new hire)", "US_SSN", "666 20 1234"),
        ("SSN#000-51-9922", "US_SSN", "000-51-9922"),
        # Grouped like no numbering plan, or a first group longer than any plan's.
        ("Text me at 0612345 678 after work", "PHONE_NUMBER", "0612345 678"),
        ("call us on 4420794 60958 any time", "PHONE_NUMBER", "4420794 60958"),
        ("Mobile: 0176/1234567", "PHONE_NUMBER", "0176/1234567"),
        ("téléphone : 0478123456 le soir", "PHONE_NUMBER", "0478123456"),
        # Digits in groups are no document code to the code pattern, but are to the cue.
        ("Reisepass Nr. 12 345 678", "PASSPORT", "12 345 678"),
    ],
)
def test_a_number_right_after_its_cue_is_sensitive_whatever_the_validator_says(
    detector: PrivacyDetector, text: str, kind: str, value: str
) -> None:
    assert (kind, value) in _found(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        # Numbers in prose and sums, without a cue: the strict checks decide, as before.
        "The farm sold 9124473 eggs in 2023 and 959506255 grams of flour.",
        "He paid 0612345 678 cents? No: 612,345,678 cents over 12 months.",
    ],
)
def test_numbers_in_prose_without_a_cue_stay_clean(detector: PrivacyDetector, text: str) -> None:
    assert not detector.scan([text]).sensitive, _found(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        # A cue word, but what follows is no identifier: a date, a time, a price, a sum,
        # a decimal, a year range, a round amount, or words in between.
        "Please call me on 2024-03-15 at 10:30.",
        "The phone costs $1200 and the plan 45 dollars a month.",
        "A call lasts 1.5 minutes; 1200 calls last 1800 minutes.",
        "Our licence 2019/2020 season pass ran out.",
        "He made 5 calls and would call 1000000 people if he could.",
        "The telephone was invented in 1876; by 1900 there were 600000 phones.",
        "Each mobile plan gives 3000000 bytes a day.",
        "phone = 1234567 + 7654321",
    ],
)
def test_after_a_cue_what_is_no_identifier_is_no_phone_or_id(
    detector: PrivacyDetector, text: str
) -> None:
    classes = _classes(detector, text)
    assert not classes & {"pii.phone", "pii.national_id"}, _found(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "Lena Ortiz\n 27 Baywood Crossing\n Suite 310\n Harlow\n Kenya 40112",  # one a line
        "Lena Ortiz, Baywood Crossing 27, Suite 310, Harlow",  # commas
        "Lena Ortiz 27 Baywood Crossing Suite 310 Harlow KY",  # one line, no commas
        "Fő utca 12. Apt. 3 Szeged",  # a full stop after the house number
        "Apt 12B, 480 Larchmont Row\nElmira",  # the unit first
        "Ship it to\n Apartment 4\n 9 Quayside Close",  # the unit first, a line each
        "lena ortiz\n 27 baywood crossing\n suite 310\n harlow",  # all lower case
        "Flat 2, 14 Elm Terrace",
        "Kestrel Foods\n 77 Old Mill Reach\n Unit 5\n Leeds",
        "0417 An den Eichen 22 Suite 118 Hagen NW",  # "An" is prose, "den" a particle
    ],
)
def test_a_unit_word_beside_a_street_line_is_an_address_in_any_layout(
    detector: PrivacyDetector, text: str
) -> None:
    assert "pii.street_address" in _classes(detector, text), _found(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "Lesson 5, Unit 3 covers fractions.",
        "Bach's Cello Suite No. 1 in G major, BWV 1007",
        "Unit 4 of the course: Chapter 2 and Flat 3 rules.",
        "The hotel has 120 rooms and 14 suites; suite 9 has a view.",
        "Windows 11 ships with the Office Suite 2021.",
    ],
)
def test_unit_words_in_prose_are_not_addresses(detector: PrivacyDetector, text: str) -> None:
    assert not detector.scan([text]).sensitive, _found(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "Ctra. Sierra Alta 17, Jaén",  # Spanish carretera, abbreviated
        "Colonia Las Brisas 212, Tijuana",
        "Petőfi Sándor u. 8, Pécs",  # Hungarian utca, abbreviated
        "Kossuth tér 3, Győr",
        "Birkevænget 14, Odense",  # Danish
        "Nørre Stræde 6, Aarhus",
        "Gedimino pr. 21, Vilnius",  # Lithuanian prospektas
        "Brīvības iela 40, Rīga",  # Latvian
        "Pärnu mnt 10, Tallinn",  # Estonian maantee
        "Atatürk Caddesi 55, İzmir",  # Turkish
        "Calea Victoriei 12, București",  # Romanian
        "Pod Hájem 7, Brno",  # Czech, named by a preposition
        "U Nemocnice 2, Praha",
        "Staroměstské náměstí 1, Praha",
        "Lungomare Trieste 40, Salerno",  # Italian
        "Rosa Dalton\n 35 Marlow Heath 2231,\n Westbury",  # a short first house number
    ],
)
def test_streets_of_more_languages(detector: PrivacyDetector, text: str) -> None:
    assert "pii.street_address" in _classes(detector, text), _found(detector, text)


@pytest.mark.parametrize(
    "text",
    [
        "Daniela 5 went home early.",  # a name ending like a street word ("iela")
        "Zum Backen 200 g Mehl nehmen.",
        "I'll meet U Thant 5 times at the UN.",
        "We ran 5 Boston Marathons 2019, then stopped.",
        "In 3 Samuel 1200, Rome fell.",
        "Read Colonia 3 and Barrio 2 for the exam? No: chapters 3 and 2.",
    ],
)
def test_street_words_in_prose_are_not_addresses(detector: PrivacyDetector, text: str) -> None:
    assert "pii.street_address" not in _classes(detector, text), _found(detector, text)


def test_a_medical_term_that_names_a_job_is_not_health_information(
    detector: PrivacyDetector,
) -> None:
    assert not detector.scan(["She left her job as a dialysis nurse last year."]).sensitive
    assert not detector.scan(["He trained as a transplant surgeon in Leeds."]).sensitive
    # Another cue nearby still makes the term someone's health.
    text = "The patient on my ward is waiting for a transplant; the transplant nurse called."
    assert ("MEDICAL_TERM", "transplant") in _found(detector, text)
