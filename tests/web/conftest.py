"""One real world for the dashboard tests: a gateway process with keys, real traffic through it
to the fake vendor, a gap-test run made with `parity gaptest`, a router made with
`parity router train`, and Debian's Chromium driven by Playwright."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from parity.store.base import LedgerRow, RowFilter
from parity.store.factory import open_ledger
from tests.fakes.fixtures import VendorFake
from tests.servers import GatewayProcess, start_gateway

ROOT = Path(__file__).resolve().parents[2]
ROUTELLM = ROOT / "examples" / "data" / "routellm"
LABELS = ROOT / "examples" / "labels" / "gsm8k.jsonl"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ADMIN_KEY = "sk-web-admin-0123456789"
USER_KEY = "sk-web-user-0123456789"
STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"
RUN_NAME = "gsm8k"
SECRET_PROMPT = "My card is 4111 1111 1111 1111 and my email is jane.doe@example.com. Refund me."
PRIVATE_PROMPT = "Please email jane.doe@example.com the summary of my order, thanks."
PROMPTS = [
    "What is the capital of France?",
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips "
    "in May. How many clips did Natalia sell altogether in April and May?",
    "Write a haiku about a lighthouse keeper (zebra-marker).",
    "Prove that the square root of two is irrational, step by step.",
]


@dataclass
class World:
    """Everything the dashboard tests look at."""

    gateway: GatewayProcess
    runs: Path
    router: Path
    rows: list[LedgerRow]
    shots: Path

    @property
    def ui(self) -> str:
        return f"{self.gateway.url}/ui"

    @property
    def run_dir(self) -> Path:
        return self.runs / RUN_NAME


def cli(*args: str) -> str:
    """Run a parity command in-process; its stdout, or fail with everything it printed."""
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result.stdout


def make_run(runs: Path) -> Path:
    """A recorded GSM8K gap test (GPT-4 vs Mixtral), judged by reference, with its report."""
    out = runs / RUN_NAME
    cli(
        "gaptest", "run", str(ROUTELLM / "gsm8k_responses.csv"),
        "--references", str(ROUTELLM / "gsm8k_test.jsonl"),
        "--sample", "6", "--seed", "7", "--judge", "numeric", "--out", str(out),
    )  # fmt: skip
    cli("gaptest", "report", str(out))
    return out


def make_router(folder: Path) -> Path:
    """A TF-IDF + logistic-regression router on 120 real GSM8K labels."""
    labels = folder / "labels.jsonl"
    labels.write_text("".join(LABELS.read_text(encoding="utf-8").splitlines(True)[:120]))
    out = folder / "router"
    cli(
        "router", "train", str(labels), "--strong", STRONG, "--weak", WEAK, "--out", str(out),
        "--learner", "lr", "--no-cascade", "--cost", f"{STRONG}=10", "--cost", f"{WEAK}=0.6",
    )  # fmt: skip
    return out


def gateway_config(base: str, router: Path | None) -> dict[str, Any]:
    """Keys on; an on-prem model, a frontier model and a failing one, all played by the fake."""

    def model(model_id: str, upstream: str, residency: str, price: tuple[float, float]) -> Any:
        return {
            "id": model_id,
            "provider": "openai",
            "base_url": base,
            "api_key_env": "FAKE_KEY",
            "upstream_model": upstream,
            "residency": residency,
            "price": {"input": price[0], "output": price[1]},
        }

    config: dict[str, Any] = {
        "models": [
            model("local-llama", "gpt-4o", "on_prem", (0.2, 0.4)),
            model("frontier", "gpt-4o", "vendor", (2.5, 10.0)),
            model("flaky", "error-500", "vendor", (2.5, 10.0)),
            model("uncounted", "no-usage", "vendor", (2.5, 10.0)),
        ],
        "keys": [
            {"id": "admin", "key_env": "WEB_ADMIN_KEY", "admin": True},
            {"id": "app", "key_env": "WEB_USER_KEY"},
        ],
        "enforce": {"sensitive_to_vendor": "allow"},
        "retry": {"attempts": 1, "max_retry_after_s": 0},
        "ledger": {"flush_interval_s": 0.05},
        "routes": {
            "parity/auto": {
                "rules": [
                    {
                        "name": "private-stays-local",
                        "when": {"privacy.sensitive": True},
                        "then": {"route": "local-llama", "keep_on_prem": True},
                    },
                    {
                        "name": "hard-to-frontier",
                        "when": {"difficulty.hard": True},
                        "then": {"route": "frontier", "fallbacks": ["local-llama"]},
                    },
                ],
                "default": "local-llama",
            }
        },
    }
    if router is not None:
        config["difficulty"] = {"router_path": str(router)}
    return config


def send_traffic(gateway: GatewayProcess) -> int:
    """Real chat requests through the gateway; returns how many were sent."""
    sent = 0
    with httpx.Client(base_url=gateway.v1, timeout=30, trust_env=False) as client:

        def ask(model: str, text: str, key: str = USER_KEY) -> None:
            nonlocal sent
            client.post(
                "/chat/completions",
                headers={"authorization": f"Bearer {key}"},
                json={"model": model, "messages": [{"role": "user", "content": text}]},
            )
            sent += 1

        for text in PROMPTS:
            ask("parity/auto", text)
        ask("parity/auto", PRIVATE_PROMPT)
        ask("frontier", SECRET_PROMPT)
        ask("frontier", "Summarise the plot of Hamlet in one line.", ADMIN_KEY)
        ask("flaky", "This one fails upstream.")
        # streamed from an upstream that reports no usage: the ledger's tokens are estimated
        client.post(
            "/chat/completions",
            headers={"authorization": f"Bearer {USER_KEY}"},
            json={
                "model": "uncounted",
                "stream": True,
                "stream_options": {"include_usage": True},
                "messages": [{"role": "user", "content": "Count to five."}],
            },
        )
        sent += 1
    return sent


def wait_for_rows(url: str, count: int, timeout: float = 20) -> list[LedgerRow]:
    """The ledger's rows once ``count`` have been written."""
    ledger = open_ledger(url)
    try:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            rows = ledger.rows(RowFilter(limit=1000))
            if len(rows) >= count:
                return rows
            time.sleep(0.05)
        raise AssertionError(f"only {ledger.count()} of {count} ledger rows were written")
    finally:
        ledger.close()


@pytest.fixture(scope="package")
def world(vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The gateway with real rows, a real run and a real router (started once for tests/web)."""
    tmp = tmp_path_factory.mktemp("web")
    runs = tmp / "runs"
    make_run(runs)
    router = make_router(tmp)
    env = {
        "FAKE_KEY": "sk-fake",
        "WEB_ADMIN_KEY": ADMIN_KEY,
        "WEB_USER_KEY": USER_KEY,
        "PARITY_RUNS_DIR": str(runs),
    }
    (tmp / "gw").mkdir()
    gateway = start_gateway(tmp / "gw", gateway_config(vendor_fake.openai_url, router), env=env)
    try:
        rows = wait_for_rows(gateway.ledger_url, send_traffic(gateway))
        shots = tmp / "screenshots"
        shots.mkdir()
        yield World(gateway, runs, router, rows, shots)
    finally:
        gateway.stop()


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's Chromium, headless, through Playwright (its own browser download is not used)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
