"""The privacy detector on requests as the gateway sees them: what it finds and must not."""

from __future__ import annotations

import sys
from typing import Any, cast

import pytest

from parity.errors import ConfigError
from parity.privacy.detector import (
    Candidate,
    DenyList,
    PrivacyDetector,
    PrivacyFindings,
    PrivacySettings,
    RegexRule,
    ScanText,
)

JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0."
    "dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U"
)


@pytest.fixture(scope="module")
def detector() -> PrivacyDetector:
    return PrivacyDetector(PrivacySettings())


def found(findings: PrivacyFindings, text: str) -> set[tuple[str, str]]:
    return {(e.type, text[e.start : e.end]) for e in findings.entities}


@pytest.mark.parametrize(
    ("text", "entity", "value", "data_class"),
    [
        (
            "Write to jane.roe@example.org today.",
            "EMAIL_ADDRESS",
            "jane.roe@example.org",
            "pii.email",
        ),
        ("Call me on (212) 555-0142 after 5.", "PHONE_NUMBER", "(212) 555-0142", "pii.phone"),
        ("UK office: +44 20 7946 0958.", "PHONE_NUMBER", "+44 20 7946 0958", "pii.phone"),
        (
            "Charge 4111 1111 1111 1111 please",
            "CREDIT_CARD",
            "4111 1111 1111 1111",
            "pii.credit_card",
        ),
        (
            "IBAN GB82 WEST 1234 5698 7654 32 for rent",
            "IBAN_CODE",
            "GB82 WEST 1234 5698 7654 32",
            "pii.iban",
        ),
        (
            "Konto DE89 3704 0044 0532 0130 00.",
            "IBAN_CODE",
            "DE89 3704 0044 0532 0130 00",
            "pii.iban",
        ),
        ("My SSN is 536-22-1234.", "US_SSN", "536-22-1234", "pii.national_id"),
        ("NI number AB 12 34 56 C on file", "UK_NINO", "AB 12 34 56 C", "pii.national_id"),
        ("The server at 10.20.30.40 is down", "IP_ADDRESS", "10.20.30.40", "pii.ip_address"),
        (
            "ping fe80::1ff:fe23:4567:890a now",
            "IP_ADDRESS",
            "fe80::1ff:fe23:4567:890a",
            "pii.ip_address",
        ),
        (
            "Ship it to 1600 Pennsylvania Avenue, Washington, DC 20500 asap",
            "STREET_ADDRESS",
            "1600 Pennsylvania Avenue, Washington, DC 20500",
            "pii.street_address",
        ),
        ("The patient was diagnosed with epilepsy in May.", "MEDICAL_TERM", "epilepsy", "phi"),
        ("Patient chart MRN: 00482913 reviewed", "MEDICAL_RECORD_NUMBER", "00482913", "phi"),
        (
            "aws_access_key_id = AKIAIOSFODNN7EXAMPLE",
            "API_KEY",
            "AKIAIOSFODNN7EXAMPLE",
            "secret.api_key",
        ),
        (
            "use ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789 to push",
            "API_KEY",
            "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789",
            "secret.api_key",
        ),
        (f"session {JWT} expired", "ACCESS_TOKEN", JWT, "secret.token"),
        (
            "Authorization: Bearer abcDEF1234567890ghiJKL0987",
            "ACCESS_TOKEN",
            "abcDEF1234567890ghiJKL0987",
            "secret.token",
        ),
        ('db_password = "c0rrect-h0rse"', "PASSWORD", "c0rrect-h0rse", "secret.password"),
        ("my password is Tr0ub4dor&3 for the VPN", "PASSWORD", "Tr0ub4dor&3", "secret.password"),
        (
            "postgres://admin:S3cretPw@db.internal:5432/app",
            "PASSWORD",
            "S3cretPw",
            "secret.password",
        ),
    ],
)
def test_finds_each_kind(
    detector: PrivacyDetector, text: str, entity: str, value: str, data_class: str
) -> None:
    findings = detector.scan([text])
    assert (entity, value) in found(findings, text)
    assert data_class in findings.data_classes
    assert findings.sensitive and not findings.failed


def test_private_key_block_is_one_entity(detector: PrivacyDetector) -> None:
    text = (
        "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAx7\nabc\n"
        "-----END RSA PRIVATE KEY-----\nthanks"
    )
    findings = detector.scan([text])
    (entity,) = [e for e in findings.entities if e.type == "PRIVATE_KEY"]
    assert text[entity.start : entity.end].startswith("-----BEGIN RSA PRIVATE KEY-----")
    assert text[entity.start : entity.end].endswith("-----END RSA PRIVATE KEY-----")
    assert findings.data_classes == {"secret.private_key"}


@pytest.mark.parametrize(
    "text",
    [
        "Summarise the key points of the report in 3 bullets.",
        "Card 4111 1111 1111 1112 fails the Luhn check.",
        "IBAN GB82 WEST 1234 5698 7654 33 has a bad checksum.",
        "The value 000-12-3456 was never issued.",  # SSN-shaped, no cue: no one's id
        "Python 3.11.2 was released on 2023-02-08; install it by 5 pm.",
        "Write an essay on the history of diabetes research.",
        "Janet sells 16 - 3 - 4 = 9 duck eggs a day and makes 9 * 2 = $18.",
        "Tokens are counted per request; the secret to speed is caching.",
        "Order 20230208 shipped in 2 boxes of 12.",
    ],
)
def test_look_alikes_are_not_flagged(detector: PrivacyDetector, text: str) -> None:
    findings = detector.scan([text])
    assert not findings.sensitive, found(findings, text)


def test_a_sample_ssn_called_an_ssn_is_a_national_id_never_a_phone(
    detector: PrivacyDetector,
) -> None:
    text = "My SSN is 078-05-1120, please update my file."
    findings = detector.scan([text])
    assert found(findings, text) == {("US_SSN", "078-05-1120")}
    assert findings.data_classes == {"pii.national_id"}
    bare = "The wallet-card sample 078-05-1120 is printed in every guide."
    assert "PHONE_NUMBER" not in {e.type for e in detector.scan([bare]).entities}


def test_offsets_hold_in_non_ascii_text(detector: PrivacyDetector) -> None:
    text = "Café « Zoë » – ring +44 20 7946 0958 or mail zoë@example.com ✓"
    findings = detector.scan([text])
    assert ("PHONE_NUMBER", "+44 20 7946 0958") in found(findings, text)
    assert ("EMAIL_ADDRESS", "zoë@example.com") in found(findings, text)


def test_entities_index_into_the_texts(detector: PrivacyDetector) -> None:
    texts = ["nothing here", "", "mail a@example.com"]
    findings = detector.scan(texts)
    (entity,) = findings.entities
    assert entity.index == 2
    assert texts[2][entity.start : entity.end] == "a@example.com"


def test_scan_chat_reads_every_part_of_the_body(detector: PrivacyDetector) -> None:
    body: dict[str, Any] = {
        "model": "parity/auto",
        "messages": [
            {"role": "system", "content": "You are terse."},
            {"role": "user", "content": [{"type": "text", "text": "Card 4111111111111111"}]},
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": "c1",
                        "type": "function",
                        "function": {"name": "email", "arguments": '{"to": "x@example.com"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "c1", "content": "sent from 10.1.2.3"},
        ],
    }
    findings = detector.scan_chat(body)
    assert findings.data_classes == {"pii.credit_card", "pii.email", "pii.ip_address"}


def test_user_regexes_deny_lists_and_allow_list() -> None:
    detector = PrivacyDetector(
        PrivacySettings(
            regexes=[
                RegexRule(entity="EMPLOYEE_ID", pattern=r"\bEMP-\d{6}\b", data_class="pii.hr")
            ],
            deny_lists=[
                DenyList(entity="PROJECT", terms=["Falcon Nine"], data_class="confidential")
            ],
            allow_list=["support@example.com"],
        )
    )
    text = "EMP-004211 leads project falcon nine; write to support@example.com or boss@example.com"
    findings = detector.scan([text])
    assert found(findings, text) == {
        ("EMPLOYEE_ID", "EMP-004211"),
        ("PROJECT", "falcon nine"),
        ("EMAIL_ADDRESS", "boss@example.com"),
    }
    assert findings.data_classes == {"pii.hr", "confidential", "pii.email"}


def test_case_sensitive_deny_list_and_word_boundaries() -> None:
    detector = PrivacyDetector(
        PrivacySettings(deny_lists=[DenyList(entity="CLIENT", terms=["ACME"], case_sensitive=True)])
    )
    assert detector.scan(["Contract with ACME signed"]).data_classes == {"confidential"}
    assert not detector.scan(["acme is a word here"]).sensitive
    assert not detector.scan(["ACMEBANK is another firm"]).sensitive


def test_thresholds_drop_weak_findings() -> None:
    strict = PrivacyDetector(PrivacySettings(score_thresholds={"PHONE_NUMBER": 0.6}))
    text = "Try (212) 555-0142 or mail a@example.com"  # no cue word: a phone at 0.5
    assert found(strict.scan([text]), text) == {("EMAIL_ADDRESS", "a@example.com")}


def test_only_enabled_entities_are_reported() -> None:
    detector = PrivacyDetector(PrivacySettings(entities=["EMAIL_ADDRESS"]))
    text = "a@example.com 4111 1111 1111 1111 password=hunter2hunter2"
    assert found(detector.scan([text]), text) == {("EMAIL_ADDRESS", "a@example.com")}


def test_presidio_confirms_what_the_fast_path_cannot() -> None:
    """A Presidio-only entity (UK NHS numbers) is found by Presidio on a window."""
    detector = PrivacyDetector(PrivacySettings(entities=["UK_NHS"]))
    text = "NHS number 943 476 5919 for the referral"
    findings = detector.scan([text])
    assert [(e.type, e.source) for e in findings.entities] == [("UK_NHS", "presidio")]
    assert findings.data_classes == {"pii.national_id"}


def test_presidio_raises_a_bare_ssn_the_fast_path_doubts() -> None:
    """Nine bare digits score 0.3 on the fast path; Presidio's medium pattern is not bare."""
    with_presidio = PrivacyDetector(PrivacySettings(min_score=0.3))
    text = "SSN 536221234 on the form"
    assert ("US_SSN", "536221234") in found(with_presidio.scan([text]), text)
    plain = PrivacyDetector(PrivacySettings())
    assert not plain.scan(["order 536221234 shipped"]).sensitive


def test_without_presidio_extra_entities_are_reported_as_limitations() -> None:
    detector = PrivacyDetector(PrivacySettings(entities=["UK_NHS"], confirm_with_presidio=False))
    assert any("UK_NHS" in note for note in detector.limitations)
    assert not detector.scan(["NHS number 943 476 5919"]).sensitive


def test_failures_fail_closed(detector: PrivacyDetector) -> None:
    broken = detector.scan(cast(list[str], [b"bytes are not text"]))
    assert broken.failed and broken.sensitive
    assert broken.data_classes == {"unknown"}
    assert "privacy scan failed" in broken.reason


def test_too_much_text_is_not_scanned_and_counts_as_sensitive() -> None:
    detector = PrivacyDetector(PrivacySettings(max_chars=100))
    findings = detector.scan(["x" * 60, "y" * 60])
    assert findings.failed and findings.sensitive
    assert "max_chars" in findings.reason


def test_a_body_that_cannot_be_read_fails_closed(detector: PrivacyDetector) -> None:
    findings = detector.scan_chat(cast(dict[str, Any], None))
    assert findings.failed and findings.sensitive


def test_trace_has_classes_and_counts_but_no_values(detector: PrivacyDetector) -> None:
    findings = detector.scan(["a@example.com and b@example.com"])
    trace = findings.trace()
    assert trace["data_classes"] == ["pii.email"]
    assert trace["entities"] == {"EMAIL_ADDRESS": 2}
    assert "example.com" not in repr(trace)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"entities": ["NOT_A_THING"]}, "unknown entity types NOT_A_THING"),
        ({"secret_plugins": ["NoSuchDetector"]}, "NoSuchDetector"),
    ],
)
def test_bad_settings_are_config_errors(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        PrivacyDetector(PrivacySettings.model_validate(settings))


def test_settings_reject_unknown_fields_and_bad_patterns() -> None:
    with pytest.raises(ValueError, match="extra"):
        PrivacySettings.model_validate({"thresholds": 0.5})
    with pytest.raises(ValueError, match="not a valid regular expression"):
        RegexRule(entity="X", pattern="(")


class TicketScanner:
    """A stage of one's own: internal ticket ids, found from their trigger literal."""

    name = "tickets"
    triggers: tuple[str, ...] = ("tkt-",)

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        for at in doc.hits("tkt-"):
            end = at + 4
            while end < len(doc.text) and doc.text[end].isdigit():
                end += 1
            if end - at > 4:
                out.append(Candidate("TICKET", at, end, 1.0, "tickets", data_class="internal"))


def test_stages_of_ones_own_register_like_the_built_in_ones() -> None:
    detector = PrivacyDetector(PrivacySettings(), scanners=[TicketScanner()])
    text = "Escalate TKT-40211 and mail a@example.com"
    findings = detector.scan([text])
    assert found(findings, text) == {("TICKET", "TKT-40211"), ("EMAIL_ADDRESS", "a@example.com")}
    assert findings.data_classes == {"internal", "pii.email"}


def test_without_ahocorasick_the_same_is_found_more_slowly(
    monkeypatch: pytest.MonkeyPatch, detector: PrivacyDetector
) -> None:
    monkeypatch.setitem(sys.modules, "ahocorasick_rs", None)  # makes the import fail
    slow = PrivacyDetector(PrivacySettings())
    assert any("ahocorasick-rs" in note for note in slow.limitations)
    text = "The patient (MRN: 00482913) uses password=hunter2hunter2 and mails a@example.com"
    assert found(slow.scan([text]), text) == found(detector.scan([text]), text)
    assert slow.scan([text]).data_classes == {"phi", "secret.password", "pii.email"}


class BrokenScanner:
    """A stage that always raises, as a bug in a plugin would."""

    name = "broken"
    triggers: tuple[str, ...] = ()

    def scan(self, doc: ScanText, out: list[Candidate]) -> None:
        raise RuntimeError("plugin bug")


def test_a_detector_that_cannot_scan_is_refused_at_start() -> None:
    with pytest.raises(ConfigError, match="start-up scan: RuntimeError: plugin bug"):
        PrivacyDetector(PrivacySettings(), scanners=[BrokenScanner()])
