"""A learned router that embeds the prompt plans in a worker thread, and still routes as trained.

Its embedding call blocks for tens of milliseconds (docs/benchmarks.md, "Embeddings in a
thread"); here the artifact embeds through the fake vendor's /v1/embeddings, over HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from parity.config import Settings
from parity.routing.router import PolicyRouter
from tests.fakes.fixtures import VendorFake
from tests.routing.test_learned_router_in_gateway import (
    ROOT,
    STRONG,
    WEAK,
    answered_by,
    config,
    extremes,
    parity,
)
from tests.servers import GatewayProcess, start_gateway

EMBED_KEY = "sk-embed-router"


@pytest.fixture(scope="module", autouse=True)
def embed_key() -> Iterator[None]:
    """The key the artifact's embedder reads, here and in the training CLI it starts."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("EMBED_KEY", EMBED_KEY)
        yield


@pytest.fixture(scope="module")
def embedding_artifact(vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An embed/lr router on 400 GSM8K labels, embedding with the fake vendor's API."""
    tmp = tmp_path_factory.mktemp("embed-router")
    lines = (ROOT / "examples/labels/gsm8k.jsonl").read_text().splitlines()[:400]
    labels = tmp / "labels.jsonl"
    labels.write_text("\n".join(lines) + "\n")
    out = tmp / "artifact"
    done = parity(
        "router", "train", str(labels), "--strong", STRONG, "--weak", WEAK, "--out", str(out),
        "--candidate", "embed/lr", "--no-cascade", "--folds", "2",
        "--embedder", "http", "--embeddings-url", vendor_fake.openai_url,
        "--embeddings-model", "fake-embed", "--embeddings-key-env", "EMBED_KEY",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="module")
def gateway(
    embedding_artifact: Path, vendor_fake: VendorFake, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[GatewayProcess]:
    env = {"FAKE_KEY": "k", "EMBED_KEY": EMBED_KEY}
    settings = config(vendor_fake, embedding_artifact)
    gw = start_gateway(tmp_path_factory.mktemp("gw-embed"), settings, env=env)
    yield gw
    gw.stop()


def test_a_router_that_embeds_says_it_blocks_and_the_heuristic_does_not(
    embedding_artifact: Path, vendor_fake: VendorFake
) -> None:
    learned = Settings.model_validate(config(vendor_fake, embedding_artifact))
    assert PolicyRouter(learned).blocking
    heuristic = config(vendor_fake, embedding_artifact)
    del heuristic["difficulty"]
    assert not PolicyRouter(Settings.model_validate(heuristic)).blocking


def test_it_routes_as_the_artifact_says_when_planning_in_a_thread(
    gateway: GatewayProcess, embedding_artifact: Path
) -> None:
    easy, hard = extremes(embedding_artifact)
    assert answered_by(gateway, hard) == "strong"
    assert answered_by(gateway, easy) == "weak"
