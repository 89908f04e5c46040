"""Shared fixtures: a real GSM8K subset and one router trained on it through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from parity.cli.main import app

ROOT = Path(__file__).resolve().parents[2]
GSM8K = ROOT / "examples" / "labels" / "gsm8k.jsonl"
MT_BENCH = ROOT / "examples" / "labels" / "mt_bench.jsonl"
STRONG = "gpt-4-1106-preview"
WEAK = "mistralai/Mixtral-8x7B-Instruct-v0.1"


def gsm8k_subset(path: Path, count: int, skip: int = 0) -> Path:
    """The first ``count`` GSM8K label lines after ``skip``, as their own file."""
    lines = GSM8K.read_text(encoding="utf-8").splitlines()[skip : skip + count]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TF-IDF + logistic-regression router (and cascade) trained on 300 real GSM8K labels."""
    work = tmp_path_factory.mktemp("router")
    labels = gsm8k_subset(work / "labels.jsonl", 300)
    out = work / "artifact"
    result = CliRunner().invoke(
        app,
        [
            "router", "train", str(labels), "--strong", STRONG, "--weak", WEAK,
            "--out", str(out), "--learner", "lr", "--holdout", "0.3",
            "--cost", f"{STRONG}=10", "--cost", f"{WEAK}=0.6",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output + repr(result.exception)
    return out
