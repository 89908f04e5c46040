"""The runtime builds one privacy detector and hands it to the router and the prompt store."""

from __future__ import annotations

from typing import Any

from parity.config import Settings
from parity.gateway.runtime import Runtime
from parity.gateway.serving.accounting import Accounting


def _settings(residency: str = "vendor", **extra: Any) -> Settings:
    model = {
        "id": "a-model",
        "provider": "openai",
        "base_url": "http://127.0.0.1:9/v1",
        "residency": residency,
        "upstream_model": "gpt-4o",
    }
    return Settings.model_validate({"models": [model], **extra})


def test_router_and_prompt_store_share_the_runtimes_detector() -> None:
    settings = _settings(enforce={"sensitive_to_vendor": "on_prem"}, ledger={"prompts": "redacted"})
    runtime = Runtime(settings, env={})
    assert runtime.detector is not None
    signal: Any = runtime.router.signals["privacy"]  # type: ignore[attr-defined]
    assert signal.detector is runtime.detector
    assert Accounting(runtime, None).prompts._detector is runtime.detector


def test_no_detector_is_built_when_nothing_needs_one() -> None:
    runtime = Runtime(_settings("on_prem", ledger={"prompts": "full"}), env={})
    assert runtime.detector is None
    assert Accounting(runtime, None).prompts._detector is None


def test_a_redacted_ledger_alone_builds_the_detector() -> None:
    runtime = Runtime(_settings("on_prem", ledger={"prompts": "redacted"}), env={})
    assert runtime.detector is not None
    assert "privacy" not in runtime.router.signals  # type: ignore[attr-defined]
    assert Accounting(runtime, None).prompts._detector is runtime.detector
