"""The gateway of the conformance tests: the embedded llama.cpp and the fake vendor, both wires.

The local model runs with a 512-token context, so a prompt too long for it costs little.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest

from tests.fakes.deployments import FAKE_KEY, FAKE_KEY_ENV
from tests.fakes.fixtures import VendorFake
from tests.fixtures.openai_schemas import validator
from tests.servers import GatewayProcess, start_gateway

__all__ = [
    "GET_TIME",
    "GET_WEATHER",
    "LOCAL",
    "N_CTX",
    "TOO_LONG",
    "check_schema",
    "conformance_gateway",
]

LOCAL = "local/smollm2"
N_CTX = 512
TOO_LONG = "word " * 700  # about 700 tokens: past N_CTX
GET_WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
GET_TIME: Any = {
    "type": "function",
    "function": {
        "name": "get_time",
        "description": "The local time in a timezone.",
        "parameters": {
            "type": "object",
            "properties": {"tz": {"type": "string"}},
            "required": ["tz"],
        },
    },
}


def _fake(model_id: str, provider: str, upstream: str, base: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": model_id,
        "provider": provider,
        "base_url": base,
        "api_key_env": FAKE_KEY_ENV,
        "upstream_model": upstream,
        "residency": "vendor",
        **extra,
    }


def conformance_gateway(
    vendor: VendorFake, tmp: pytest.TempPathFactory, **settings: Any
) -> Iterator[GatewayProcess]:
    """One gateway: ``local/smollm2``, ``openai/<kind>`` and ``anthropic/<kind>`` on the fake."""
    openai, anthropic = vendor.openai_url, vendor.anthropic_url
    models: list[dict[str, Any]] = [
        {"id": LOCAL, "provider": "local", "residency": "on_prem"},
        *(
            _fake(f"openai/{kind}", "openai", kind, openai)
            for kind in ("fake-model", "tool-call", "context-length", "traceback-500")
        ),
        *(
            _fake(f"anthropic/{kind}", "anthropic", kind, anthropic)
            for kind in ("fake-model", "tool-call", "context-length", "traceback-500")
        ),
        _fake("anthropic/lenient", "anthropic", "fake-model", anthropic, drop_params=True),
    ]
    config: dict[str, Any] = {
        "local": {"n_ctx": N_CTX, "n_threads": 1},
        "models": models,
        "routes": {
            "long/fallback": {
                "default": {"route": "openai/context-length", "fallbacks": ["openai/fake-model"]}
            },
            "choices/fallback": {"default": {"route": LOCAL, "fallbacks": ["openai/fake-model"]}},
        },
        "retry": {"breaker_failures": 2, "backoff_s": 0},
        "cache": {"routes": {"anthropic/fake-model": {}}},
        "ledger": {"flush_interval_s": 0.05},
        **settings,
    }
    gateway = start_gateway(tmp.mktemp("conform"), config, env={FAKE_KEY_ENV: FAKE_KEY})
    yield gateway
    gateway.stop()


def check_schema(root: str, obj: Any) -> None:
    """Fail with every place ``obj`` breaks OpenAI's published schema ``root``."""
    errors = sorted(validator(root).iter_errors(obj), key=lambda e: list(e.path))
    messages = [f"{list(e.path)}: {e.message}" for e in errors]
    if messages:
        raise jsonschema.ValidationError(f"{root}: " + "; ".join(messages[:10]))
