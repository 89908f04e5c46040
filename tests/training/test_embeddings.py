"""Embedding features: the bundled MiniLM offline, and any OpenAI-compatible embeddings API."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from parity.errors import UpstreamError
from parity.training.artifact import load_router
from parity.training.embeddings import CachedEmbedder, HttpEmbedder, MiniLMEmbedder
from tests.fakes.fixtures import VendorFake
from tests.training.conftest import STRONG, WEAK, gsm8k_subset


def test_minilm_loads_offline_and_embeds_by_meaning(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    embedder = CachedEmbedder(MiniLMEmbedder())
    texts = [
        "How many apples does Tom have left after giving away three?",
        "Tom gave away 3 apples. How many apples remain?",
        "Write a sonnet about the autumn sea.",
    ]
    vectors = embedder.embed(texts)
    assert vectors.shape == (3, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.3
    again = embedder.embed([texts[1]])
    assert embedder.hits == 1 and embedder.misses == 3
    assert np.array_equal(again[0], vectors[1])


def test_training_with_an_embeddings_api(
    vendor: VendorFake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EMBED_KEY", "sk-test")
    labels = gsm8k_subset(tmp_path / "labels.jsonl", 120)
    out = tmp_path / "artifact"
    result = CliRunner().invoke(
        app,
        [
            "router", "train", str(labels), "--strong", STRONG, "--weak", WEAK, "--out", str(out),
            "--embedder", "http", "--embeddings-url", vendor.openai_url,
            "--embeddings-model", "fake-embed", "--embeddings-key-env", "EMBED_KEY",
            "--learner", "lr", "--learner", "knn", "--no-cascade", "--json",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output + repr(result.exception)
    summary = json.loads(result.stdout)
    assert set(summary["metrics"]["cv"]["router"]) == {
        "tfidf/lr", "tfidf/knn", "embed/lr", "embed/knn",
    }  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["embedder"]["kind"] == "http"
    assert manifest["embedder"]["url"] == vendor.openai_url

    router = load_router(out)
    vendor.reset()
    prompt = "A baker sells 14 loaves a day for 3 dollars each. How much in a week?"
    first = router.difficulty(prompt)
    second = router.difficulty(prompt)
    assert first == second and 0 <= first <= 1
    calls = [r for r in vendor.received() if r["path"] == "/v1/embeddings"]
    # Only an embedding feature set calls the API, and the per-prompt cache answers the repeat.
    assert len(calls) == (1 if summary["metrics"]["chosen"]["router"].startswith("embed") else 0)


def test_embeddings_api_errors_are_typed(vendor: VendorFake) -> None:
    with pytest.raises(UpstreamError, match="answered 401"):
        HttpEmbedder(vendor.openai_url, "fake-embed").embed(["hello"])
    with pytest.raises(UpstreamError, match="cannot reach"):
        HttpEmbedder("http://127.0.0.1:9/v1", "m", timeout=2).embed(["hello"])
