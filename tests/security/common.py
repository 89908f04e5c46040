"""A gateway config for the key tests: two priced deployments on the fake vendor, two routes."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

from tests.fakes.fixtures import VendorFake

__all__ = [
    "ADMIN_KEY",
    "GATEWAY_ENV",
    "create_key",
    "eventually",
    "gateway_config",
    "parity",
    "unique",
]

ADMIN_KEY = "pk-admin-" + "a1b2c3d4e5f6a7b8c9d0"
GATEWAY_ENV = {"FAKE_KEY": "sk-fake", "PARITY_ADMIN_KEY": ADMIN_KEY}
REFRESH_S = 0.2


def _vendor(model_id: str, base: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "provider": "openai",
        "base_url": base,
        "api_key_env": "FAKE_KEY",
        "upstream_model": "gpt-4o",
        "residency": "vendor",
        "price": {"input": 1.0, "output": 2.0},
    }


def gateway_config(fake: VendorFake, ledger_url: str | None = None, **extra: Any) -> dict[str, Any]:
    """cheap and pricey on the fake; parity/auto tries cheap then pricey; parity/pricey."""
    config: dict[str, Any] = {
        "models": [_vendor("cheap", fake.openai_url), _vendor("pricey", fake.openai_url)],
        "routes": {
            "parity/auto": {"default": {"route": "cheap", "fallbacks": ["pricey"]}},
            "parity/pricey": {"default": "pricey"},
        },
        "auth": {"keys_refresh_s": REFRESH_S},
        "retry": {"attempts": 1},
        **extra,
    }
    if ledger_url is not None:
        config["ledger"] = {"url": ledger_url}
    return config


def unique(stem: str) -> str:
    """A key name no other test (or test run on a shared database) uses."""
    return f"{stem}-{secrets.token_hex(4)}"


def parity(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the parity CLI as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "parity", *args],
        env={**os.environ, "COLUMNS": "160"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def create_key(ledger_url: str, name: str, *flags: str) -> dict[str, Any]:
    """``parity keys create NAME --json``: the key's info and its secret."""
    done = parity("keys", "create", name, "--ledger", ledger_url, "--json", *flags)
    assert done.returncode == 0, done.stderr
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def eventually(check: Callable[[], bool], timeout: float = 10.0) -> float:
    """Seconds until ``check()`` holds; fails when it never does within ``timeout``."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"still not true after {timeout} s")
