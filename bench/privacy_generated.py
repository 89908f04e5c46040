"""A labelled privacy corpus generated at benchmark time, so that nobody can tune to it.

Sentences come from presidio-evaluator's ``PresidioSentenceFaker`` (its own 200 templates and
its fake-person records, which carry phone numbers, cards and addresses of many countries),
in several Faker locales (names, streets and IBANs change with the locale). Nothing here is
written by the detector's authors: the templates, the records and the values are the package's.
Faker's locales ship inside the package; nothing is downloaded (the one provider that would
fetch a hospital list from the web is left out, with the templates that use it).

A seed picks the sentences. ``DEV_SEED`` is for tuning; ``HELDOUT_SEED`` and ``FRESH_SEED``
are run for the figures in docs/privacy.md (their misses have since guided changes, so they are
no longer unseen); ``FINAL_SEED`` is run once, after the last detector change. Needs the
``bench`` extra (presidio-evaluator).
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Iterable, Sequence
from typing import Any

DEV_SEED = 1729
HELDOUT_SEED = 90210
# A third seed, first generated after the address and date-of-birth work of the issue 14
# follow-up had been tuned on DEV_SEED: neither it nor HELDOUT_SEED was looked at before.
FRESH_SEED = 27182
# A fourth seed, added with the cue and unit-word changes that the held-out and fresh misses
# drove, and run once after the last of them: the figure no change was tuned to.
FINAL_SEED = 73331
LOCALES = ("en_US", "en_GB", "de_DE", "fr_FR", "nl_NL", "de_CH", "it_IT", "es_ES", "pl_PL")

# presidio-evaluator's template placeholders -> the entity the corpus labels. Parts of an
# address on their own (a street name, a city, a post code) are not labelled: alone they do not
# point at a person. Types a row may carry but no guard claims (GPE, ORGANIZATION, …) are kept
# as labels and count neither way.
_MAPPING = {
    "person": "PERSON",
    "name": "PERSON",
    "name_female": "PERSON",
    "name_male": "PERSON",
    "first_name": "PERSON",
    "first_name_male": "PERSON",
    "first_name_female": "PERSON",
    "first_name_nonbinary": "PERSON",
    "last_name": "PERSON",
    "last_name_male": "PERSON",
    "last_name_female": "PERSON",
    "address": "STREET_ADDRESS",
    "street_name": "ADDRESS_PART",
    "building_number": "ADDRESS_PART",
    "secondary_address": "ADDRESS_PART",
    "postcode": "ADDRESS_PART",
    "zipcode": "ADDRESS_PART",
    "city": "GPE",
    "country": "GPE",
    "state": "GPE",
    "state_abbr": "GPE",
    "credit_card_number": "CREDIT_CARD",
    "iban": "IBAN_CODE",
    "phone_number": "PHONE_NUMBER",
    "ssn": "US_SSN",
    "email": "EMAIL_ADDRESS",
    "ip_address": "IP_ADDRESS",
    "us_driver_license": "DRIVER_LICENSE",
    "date_of_birth": "DATE_OF_BIRTH",
    "date_time": "DATE_TIME",
    "day_of_week": "DATE_TIME",
    "year": "DATE_TIME",
    "url": "DOMAIN_NAME",
    "organization": "ORGANIZATION",
    "nationality": "NRP",
    "nation_woman": "NRP",
    "nation_man": "NRP",
    "nation_plural": "NRP",
    "prefix": "TITLE",
    "prefix_male": "TITLE",
    "prefix_female": "TITLE",
    "job": "TITLE",
    "age": "AGE",
}
# What a keep-local policy must keep local: a prompt with one of these is sensitive.
SENSITIVE = (
    "PHONE_NUMBER",
    "CREDIT_CARD",
    "IBAN_CODE",
    "US_SSN",
    "EMAIL_ADDRESS",
    "IP_ADDRESS",
    "STREET_ADDRESS",
    "DRIVER_LICENSE",
    "DATE_OF_BIRTH",
)
# Sensitive too, but found only with a spaCy NER model (privacy.ner_model): reported apart.
NER_ONLY = ("PERSON",)
_SENSITIVE_SLOTS = tuple(k for k, v in _MAPPING.items() if v in SENSITIVE + NER_ONLY)


def _templates() -> tuple[list[str], list[str]]:
    """presidio-evaluator's templates: those with a sensitive slot, and the clean rest."""
    from presidio_evaluator.data_generator.presidio_sentence_faker import (
        presidio_templates_file_path,
    )

    lines = [x.strip() for x in presidio_templates_file_path.read_text().splitlines()]
    lines = [x for x in lines if x and "{{hospital" not in x]
    sensitive = [x for x in lines if any("{{" + s + "}}" in x for s in _SENSITIVE_SLOTS)]
    clean = [x for x in lines if x not in sensitive]
    return sensitive, clean


def _faker(locale: str, templates: list[str], seed: int) -> Any:
    from presidio_evaluator.data_generator import PresidioSentenceFaker
    from presidio_evaluator.data_generator.presidio_sentence_faker import (
        presidio_additional_entity_providers,
    )

    providers = [
        p for p in presidio_additional_entity_providers if p.__name__ != "HospitalProvider"
    ]
    # The package prints its defaults and warns about pandas deprecations: neither is ours.
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return PresidioSentenceFaker(
            locale,
            lower_case_ratio=0.05,
            sentence_templates=templates,
            entity_providers=providers,
            entity_type_mapping=dict(_MAPPING),
            random_seed=seed,
        )


def generate(
    seed: int, per_locale: int, locales: Sequence[str] = LOCALES, clean_share: float = 0.3
) -> list[dict[str, Any]]:
    """Rows ``{locale, kind, text, spans: [{type, start, end}]}``.

    ``kind`` is sensitive (a span of SENSITIVE or NER_ONLY), clean (none, and no part of an
    address either: the precision set) or partial (parts of an address only: in neither).
    """
    sensitive, clean = _templates()
    rows: list[dict[str, Any]] = []
    n_clean = round(per_locale * clean_share)
    for index, locale in enumerate(locales):
        for templates, count in ((sensitive, per_locale - n_clean), (clean, n_clean)):
            fake = _faker(locale, templates, seed + index)
            # Faker's shared generator, random (templates) and numpy, all seeded right before
            # sampling, so that what ran earlier in the process changes nothing.
            fake.seed(seed * 31 + index)
            with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
                warnings.simplefilter("ignore")
                samples = fake.generate_new_fake_sentences(count)
            for sample in samples:
                # The templates write a line break as the two characters \\ and n; they mean a
                # line break. "\n " keeps every offset where it was.
                text = sample.full_text.replace("\\n", "\n ")
                spans = [
                    {"type": s.entity_type, "start": s.start_position, "end": s.end_position}
                    for s in sample.spans
                ]
                labelled = {s["type"] for s in spans}
                row_kind = "sensitive" if labelled & set(SENSITIVE + NER_ONLY) else "clean"
                if row_kind == "clean" and "ADDRESS_PART" in labelled:
                    row_kind = "partial"  # a street and number, unlabelled: neither way
                rows.append({"locale": locale, "kind": row_kind, "text": text,
                             "spans": spans})  # fmt: skip
    return rows


def sensitive_types(rows: Iterable[dict[str, Any]], *, ner: bool) -> set[str]:
    """The entity types that make a row sensitive for a detector with or without NER."""
    del rows
    return set(SENSITIVE) | (set(NER_ONLY) if ner else set())


# Gold types whose data class is not the type's own: the corpus calls every national id
# "US_SSN" (a French INSEE number too) and the generator's licences "DRIVER_LICENSE".
_GOLD_CLASS = {"US_SSN": "pii.national_id", "DRIVER_LICENSE": "pii.national_id"}


def gold_class(entity: str) -> str:
    """The data class a gold span must be found as (any entity type of that class counts)."""
    from parity.privacy.types import data_class_of

    return _GOLD_CLASS.get(entity, data_class_of(entity))


def score(rows: Sequence[dict[str, Any]], detector: Any, *, ner: bool) -> dict[str, Any]:
    """Recall per entity and per locale (a gold span counts when an entity of its data class
    overlaps it), the share of clean rows flagged, and the sensitive rows missed entirely."""
    from collections import Counter

    wanted = sensitive_types(rows, ner=ner)
    gold: Counter[str] = Counter()
    hit: Counter[str] = Counter()
    gold_locale: Counter[str] = Counter()
    hit_locale: Counter[str] = Counter()
    clean = flagged = sensitive_rows = missed_rows = 0
    misses: list[dict[str, str]] = []
    for row in rows:
        findings = detector.scan([row["text"]])
        found = [(e.data_class, e.start, e.end) for e in findings.entities]
        if row["kind"] == "clean":
            clean += 1
            flagged += findings.sensitive
        spans = [s for s in row["spans"] if s["type"] in wanted]
        if spans:
            sensitive_rows += 1
            missed_rows += not findings.sensitive
        for span in spans:
            kind, locale = span["type"], row["locale"]
            ok = findings.failed or any(
                c == gold_class(kind) and a < span["end"] and b > span["start"] for c, a, b in found
            )
            gold[kind] += 1
            gold_locale[locale] += 1
            hit[kind] += ok
            hit_locale[locale] += ok
            if not ok:
                value = row["text"][span["start"] : span["end"]]
                misses.append({"type": kind, "locale": locale, "value": value})
    return {
        "rows": len(rows),
        "recall": {k: round(hit[k] / gold[k], 4) for k in sorted(gold)},
        "gold": dict(sorted(gold.items())),
        "recall_by_locale": {
            k: round(hit_locale[k] / gold_locale[k], 4) for k in sorted(gold_locale)
        },
        "clean_rows": clean,
        "clean_flagged": flagged,
        "clean_flag_rate": round(flagged / clean, 4) if clean else 0.0,
        "sensitive_rows": sensitive_rows,
        "sensitive_rows_missed": missed_rows,
        "misses": misses,
    }
