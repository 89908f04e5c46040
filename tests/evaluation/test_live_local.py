"""A live gap test of the real local model (SmolLM2 on llama.cpp) against the fake vendor,
reported as HTML and looked at in headless Chromium."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from parity.cli.main import app
from tests.evaluation.helpers import prompts_file, received_prompts, write_config
from tests.fakes.deployments import FAKE_KEY, FAKE_KEY_ENV
from tests.fakes.fixtures import VendorFake

CHROMIUM = Path("/usr/bin/chromium")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

pytestmark = pytest.mark.slow


def _frontier(vendor: VendorFake) -> dict[str, Any]:
    return {
        "id": "frontier",
        "provider": "openai",
        "base_url": vendor.openai_url,
        "api_key_env": FAKE_KEY_ENV,
        "upstream_model": "frontier-normal",
        "residency": "vendor",
        "price": {"input": 2.5, "output": 10.0},
    }


def _gaptest_run(config: Path, prompts: Path, out: Path, *extra: str) -> dict[str, Any]:
    """``parity gaptest run`` of local/smollm2 against frontier; its --json summary."""
    result = CliRunner().invoke(
        app,
        [
            "gaptest",
            "run",
            str(prompts),
            "--models",
            "local/smollm2,frontier",
            "--config",
            str(config),
            "--out",
            str(out),
            *extra,
            "--json",
        ],
        env={FAKE_KEY_ENV: FAKE_KEY},
        catch_exceptions=False,
    )
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


@pytest.fixture(scope="module")
def live_run(
    llama_server: str, vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, list[dict[str, Any]]]:
    vendor_fake.reset()
    folder = tmp_path_factory.mktemp("live")
    config = write_config(
        folder / "parity.yaml",
        [
            {
                "id": "local/smollm2",
                "provider": "openai",
                "base_url": llama_server,
                "upstream_model": "smollm2",
                "residency": "on_prem",
                "price": {"input": 0, "output": 0},
            },
            _frontier(vendor_fake),
        ],
    )
    prompts = prompts_file(
        folder / "prompts.jsonl",
        [
            {
                "id": "add",
                "prompt": "What is 2 + 3? Answer with the number.",
                "reference": "5",
                "category": "math",
            },
            {
                "id": "cap",
                "prompt": "What is the capital of France? One word.",
                "reference": "Paris",
                "category": "facts",
            },
            {
                "id": "pii",
                "prompt": "Reply OK to: card 4111 1111 1111 1111",
                "reference": "OK",
                "category": "facts",
                "data_classes": ["payment_card"],
            },
        ],
    )
    run = folder / "run"
    _gaptest_run(
        config,
        prompts,
        run,
        "--max-tokens",
        "24",
        "--concurrency",
        "2",
        "--judge",
        "normalised:contains=true",
    )
    return run, vendor_fake.received()


def test_live_answers_from_the_real_local_model(
    live_run: tuple[Path, list[dict[str, Any]]],
) -> None:
    run, received = live_run
    answers = {}
    for line in (run / "answers.jsonl").read_text().splitlines():
        answer = json.loads(line)
        answers[(answer["item"], answer["model"])] = answer
    local = answers[("add", "local/smollm2")]
    assert local["source"] == "live" and local["text"].strip()
    assert local["output_tokens"] > 0 and not local["usage_estimated"]
    assert local["latency_ms"] > 0 and local["cost_usd"] == 0
    # The sensitive prompt was answered on premises and never sent to the vendor.
    assert answers[("pii", "local/smollm2")]["source"] == "live"
    assert answers[("pii", "frontier")]["source"] == "skipped"
    assert not any("4111" in p for p in received_prompts(received, "frontier-normal"))
    frontier = answers[("cap", "frontier")]
    assert frontier["text"].startswith("Echo: What is the capital")
    assert frontier["cost_usd"] > 0


def test_html_report_renders_in_chromium(
    live_run: tuple[Path, list[dict[str, Any]]], tmp_path: Path
) -> None:
    run, _ = live_run
    result = CliRunner().invoke(app, ["gaptest", "report", str(run), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    (pair,) = report["pairs"]
    assert pair["a"] == "local/smollm2"  # the cheaper model is the candidate
    assert pair["conclusion"].startswith("too few prompts to conclude")
    html = (run / "report" / "report.html").read_text()
    assert html.count("<svg") == 3  # win rates, quality against cost, latencies
    # Self-contained: nothing is fetched (XML namespace names are not fetches).
    assert not re.search(
        r"""(src|href)\s*=\s*["']?(https?:)?//|url\(\s*["']?(https?:)?//|@import""", html
    )
    assert "Latency distributions" in html and "local/smollm2" in html
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium)")
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            str(CHROMIUM),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--screenshot={shot}",
            "--window-size=1280,2000",
            (run / "report" / "report.html").as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=90,
    )
    data = shot.read_bytes()
    assert data.startswith(PNG_MAGIC) and len(data) > 20_000
    shutil.copy(shot, run / "report" / "screenshot.png")  # kept for a person to look at
    _assert_not_blank(data)


def _assert_not_blank(png: bytes) -> None:
    """The screenshot has ink on it: many distinct colours, not one flat page."""
    import io

    from matplotlib import image

    pixels = image.imread(io.BytesIO(png), format="png")
    flat = (pixels[..., :3] * 255).astype(int).reshape(-1, 3)
    distinct = {tuple(p) for p in flat[:: max(1, len(flat) // 50_000)]}
    assert len(distinct) > 50
    assert (flat.mean(axis=1) < 128).mean() > 0.005  # some dark text


def test_a_local_provider_model_starts_the_embedded_server(
    vendor: VendorFake, tmp_path: Path
) -> None:
    # provider: local, as in the default config: the run starts llama.cpp itself and stops it.
    config = tmp_path / "parity.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "local": {"n_threads": 1, "startup_timeout_s": 90},
                "models": [
                    {"id": "local/smollm2", "provider": "local", "residency": "on_prem"},
                    _frontier(vendor),
                ],
            }
        )
    )
    prompts = prompts_file(tmp_path / "p.jsonl", [{"id": "hi", "prompt": "Say hello."}])
    summary = _gaptest_run(config, prompts, tmp_path / "run", "--max-tokens", "8")
    assert summary["status"] == "complete"
    assert summary["per_model"]["local/smollm2"]["live"] == 1
    lines = [json.loads(x) for x in (tmp_path / "run" / "answers.jsonl").read_text().splitlines()]
    local = next(x for x in lines if x["model"] == "local/smollm2")
    assert local["output_tokens"] > 0 and local["error"] is None
