"""The gateway with a trained router artifact as its difficulty signal: routes as the artifact
says, reloads a recalibrated artifact without a restart, and refuses to start without one."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from parity.training.artifact import load_router
from tests.fakes.fixtures import VendorFake
from tests.servers import GatewayProcess, free_port, start_gateway

ROOT = Path(__file__).resolve().parents[2]
STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"


def parity(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parity", *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small TF-IDF + logistic-regression router trained on 400 GSM8K labels."""
    tmp = tmp_path_factory.mktemp("router")
    lines = (ROOT / "examples/labels/gsm8k.jsonl").read_text().splitlines()[:400]
    labels = tmp / "labels.jsonl"
    labels.write_text("\n".join(lines) + "\n")
    out = tmp / "artifact"
    done = parity(
        "router", "train", str(labels), "--strong", STRONG, "--weak", WEAK, "--out", str(out),
        "--candidate", "tfidf/lr", "--no-cascade", "--folds", "2",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


def extremes(path: Path) -> tuple[str, str]:
    """The easiest and hardest training prompts according to the artifact."""
    router = load_router(path)
    lines = (ROOT / "examples/labels/gsm8k.jsonl").read_text().splitlines()[:400]
    prompts = [json.loads(line)["prompt"] for line in lines]
    scored = sorted(prompts, key=router.difficulty)
    return scored[0], scored[-1]


def config(vendor_fake: VendorFake, router_path: Path) -> dict[str, Any]:
    def deployment(model_id: str) -> dict[str, Any]:
        return {
            "id": model_id,
            "provider": "openai",
            "base_url": vendor_fake.openai_url,
            "api_key_env": "FAKE_KEY",
            "upstream_model": "gpt-4o",
            "residency": "on_prem",
        }

    return {
        "models": [deployment("strong"), deployment("weak")],
        "difficulty": {"router_path": str(router_path)},
        "routes": {
            "parity/auto": {
                "rules": [
                    {"name": "hard", "when": {"difficulty.hard": True}, "then": {"route": "strong"}}
                ],
                "default": "weak",
            }
        },
    }


@pytest.fixture(scope="module")
def gateway(
    artifact: Path, vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    gw = start_gateway(
        tmp_path_factory.mktemp("gw"), config(vendor_fake, artifact), env={"FAKE_KEY": "k"}
    )
    yield gw
    gw.stop()


def answered_by(gateway: GatewayProcess, prompt: str) -> str:
    body = {"model": "parity/auto", "messages": [{"role": "user", "content": prompt}]}
    response = httpx.post(f"{gateway.v1}/chat/completions", json=body, timeout=60)
    assert response.status_code == 200, response.text
    return response.headers["x-parity-model"]


def test_known_hard_and_easy_prompts_route_as_the_artifact_says(
    gateway: GatewayProcess, artifact: Path
) -> None:
    easy, hard = extremes(artifact)
    assert answered_by(gateway, hard) == "strong"
    assert answered_by(gateway, easy) == "weak"


def test_a_recalibrated_artifact_is_picked_up_without_a_restart(
    gateway: GatewayProcess, artifact: Path
) -> None:
    before = load_router(artifact).threshold
    done = parity("router", "calibrate", str(artifact), "--strong-share", "0.1")
    assert done.returncode == 0, done.stderr
    after = load_router(artifact)
    assert after.threshold != before
    low, high = sorted((before, after.threshold))
    lines = (ROOT / "examples/labels/gsm8k.jsonl").read_text().splitlines()[:400]
    between = [
        p
        for p in (json.loads(line)["prompt"] for line in lines)
        if low <= after.difficulty(p) < high
    ]
    assert between, "the recalibration moved the threshold past no prompt"
    expected = "strong" if after.difficulty(between[0]) >= after.threshold else "weak"
    deadline = time.monotonic() + 30
    while answered_by(gateway, between[0]) != expected:
        assert time.monotonic() < deadline, "the gateway never reloaded the artifact"
        time.sleep(0.5)


def test_a_missing_or_broken_artifact_stops_the_gateway_from_starting(
    tmp_path: Path, vendor_fake: VendorFake
) -> None:
    missing = tmp_path / "config-missing.yaml"
    import yaml

    missing.write_text(yaml.safe_dump(config(vendor_fake, tmp_path / "nowhere")))
    done = parity("serve", "--config", str(missing), "--port", str(free_port()))
    assert done.returncode != 0
    assert done.stderr.startswith("parity: error:")
    assert done.stderr.count("\n") == 1

    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "manifest.json").write_text("{not json")
    bad = tmp_path / "config-broken.yaml"
    bad.write_text(yaml.safe_dump(config(vendor_fake, broken)))
    done = parity("serve", "--config", str(bad), "--port", str(free_port()))
    assert done.returncode != 0
    assert done.stderr.startswith("parity: error:")
