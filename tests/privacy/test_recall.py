"""The recall study: its corpus is reproducible, and the fast path loses nothing to Presidio."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORPUS = ROOT / "bench" / "data" / "privacy" / "corpus.jsonl"


def bench_module(name: str) -> ModuleType:
    """A script from bench/ (not a package), loaded the way ``python bench/X.py`` would."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "bench" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_corpus_is_what_the_generator_writes(tmp_path: Path) -> None:
    bench_module("privacy_corpus").main(["--out", str(tmp_path / "corpus.jsonl")])
    assert (tmp_path / "corpus.jsonl").read_text() == CORPUS.read_text()


def test_corpus_values_are_valid_where_a_checksum_says_so() -> None:
    from parity.privacy.validators import iban_valid, luhn_valid

    rows = [json.loads(line) for line in CORPUS.read_text().splitlines()]
    checked = 0
    for row in rows:
        for span in row["spans"]:
            value = row["text"][span["start"] : span["end"]]
            if span["type"] == "CREDIT_CARD":
                assert luhn_valid(value), value
                checked += 1
            if span["type"] == "IBAN_CODE":
                assert iban_valid(value), value
                checked += 1
    assert checked == 80
    assert sum(row["kind"] == "negative" for row in rows) == 200


@pytest.fixture(scope="module")
def results() -> dict[str, dict[str, Any]]:
    recall = bench_module("privacy_recall")
    rows = recall.load(CORPUS)
    from parity.privacy.detector import PrivacyDetector, PrivacySettings

    settings = PrivacySettings()
    systems = {
        "fast+presidio": recall.detector_system(PrivacyDetector(settings)),
        "reference": recall.reference_system(settings.min_score),
    }
    return {name: recall.score(rows, system) for name, system in systems.items()}


def test_recall_does_not_drop_against_presidio_and_detect_secrets_alone(
    results: dict[str, dict[str, Any]],
) -> None:
    ours, reference = results["fast+presidio"], results["reference"]
    for entity, value in reference["recall"].items():
        if reference["gold"][entity] and entity in ours["recall"]:
            assert ours["recall"][entity] >= value, entity


def test_every_type_is_found_and_look_alikes_are_left_alone(
    results: dict[str, dict[str, Any]],
) -> None:
    ours = results["fast+presidio"]
    assert min(ours["recall"].values()) >= 0.95, ours["recall"]
    assert ours["negative_flag_rate"] <= 0.02
