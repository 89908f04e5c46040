"""A small version of bench/privacy_recall.py: a corpus presidio-evaluator generates now, with
a seed that is neither the development nor the held-out one, scored and sent through a gateway.
"""

from __future__ import annotations

from typing import Any

import pytest

from parity.privacy.detector import PrivacyDetector, PrivacySettings
from tests.privacy.test_recall import bench_module

pytest.importorskip("presidio_evaluator")  # the privacy-eval extra (in parity[all])

SEED = 4242  # not DEV_SEED, not HELDOUT_SEED: the suite must not become a tuning set


@pytest.fixture(scope="module")
def rows() -> list[dict[str, Any]]:
    generated = bench_module("privacy_generated")
    assert SEED not in (
        generated.DEV_SEED,
        generated.HELDOUT_SEED,
        generated.FRESH_SEED,
        generated.FINAL_SEED,
    )
    corpus: list[dict[str, Any]] = generated.generate(
        SEED, 16, locales=("en_US", "nl_NL", "de_CH"), clean_share=0.4
    )
    return corpus


def test_the_corpus_is_labelled_in_every_locale(rows: list[dict[str, Any]]) -> None:
    assert {row["locale"] for row in rows} == {"en_US", "nl_NL", "de_CH"}
    assert sum(row["kind"] == "sensitive" for row in rows) >= 20
    for row in rows:
        for span in row["spans"]:
            assert 0 <= span["start"] < span["end"] <= len(row["text"])


def test_recall_and_clean_prompts_on_text_nobody_tuned_to(rows: list[dict[str, Any]]) -> None:
    generated = bench_module("privacy_generated")
    figures = generated.score(rows, PrivacyDetector(PrivacySettings()), ner=False)
    found = sum(figures["recall"][k] * figures["gold"][k] for k in figures["gold"])
    # Before issue 14 about half of these spans (phones, addresses abroad) were missed.
    assert found / sum(figures["gold"].values()) >= 0.8, figures["misses"]
    assert figures["clean_flag_rate"] <= 0.1, figures
    assert figures["sensitive_rows_missed"] <= 2, figures["misses"]


@pytest.mark.slow
def test_no_generated_sensitive_prompt_reaches_the_vendor_through_the_gateway(
    rows: list[dict[str, Any]],
) -> None:
    generated, leaks = bench_module("privacy_generated"), bench_module("privacy_leaks")
    detector = PrivacyDetector(PrivacySettings())
    caught = [r for r in rows if r["kind"] == "clean" or detector.scan([r["text"]]).sensitive]
    sample = caught[:12] + [r for r in rows if r["kind"] == "clean"][:4]
    figures = leaks.leaks(sample, generated.sensitive_types(sample, ner=False), None)
    assert figures["unanswered"] == 0, figures
    assert figures["leaked"] == 0, figures["leaked_examples"]
    assert figures["clean_kept_local"] == 0, figures
