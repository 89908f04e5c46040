"""The runtime API the gateway loads, and the clear errors of a missing or broken artifact."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from parity.errors import ConfigError
from parity.training.artifact import load_router
from tests.training.conftest import GSM8K, STRONG, WEAK, gsm8k_subset


@pytest.fixture
def artifact(trained: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(trained, tmp_path / "artifact"))


def test_loaded_router_scores_chooses_and_checks_answers(trained: Path) -> None:
    router = load_router(trained)
    assert (router.strong, router.weak) == (STRONG, WEAK)
    heldout = [json.loads(x) for x in (trained / "heldout.jsonl").read_text().splitlines()]
    for row in heldout[:10]:
        difficulty = router.difficulty(row["prompt"])
        assert 0.0 <= difficulty <= 1.0
        assert router.choose(row["prompt"]) == (STRONG if difficulty >= router.threshold else WEAK)
        weak_ok = router.weak_ok(row["prompt"], row["responses"][WEAK])
        assert 0.0 <= weak_ok <= 1.0
        assert router.escalate(row["prompt"], row["responses"][WEAK]) == (
            weak_ok <= (router.cascade_threshold or 0)
        )
    assert router.difficulties([r["prompt"] for r in heldout[:10]]).shape == (10,)
    assert not router.changed()


def test_cascade_scorer_reads_the_answer_not_just_the_prompt(trained: Path) -> None:
    router = load_router(trained)
    heldout = [json.loads(x) for x in (trained / "heldout.jsonl").read_text().splitlines()]
    right = [r for r in heldout if r["scores"][WEAK] == 1.0]
    wrong = [r for r in heldout if r["scores"][WEAK] == 0.0]
    mean_right = sum(router.weak_ok(r["prompt"], r["responses"][WEAK]) for r in right) / len(right)
    mean_wrong = sum(router.weak_ok(r["prompt"], r["responses"][WEAK]) for r in wrong) / len(wrong)
    assert mean_right > mean_wrong + 0.1
    prompt = heldout[0]["prompt"]
    assert router.weak_ok(prompt, "I'm sorry, I cannot help.") < router.weak_ok(
        prompt, heldout[0]["responses"][STRONG]
    )


def test_missing_artifact_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a directory"):
        load_router(tmp_path / "nowhere")
    with pytest.raises(ConfigError, match=r"manifest\.json is missing"):
        load_router(tmp_path)


def test_truncated_model_file_is_caught_by_its_hash(artifact: Path) -> None:
    data = (artifact / "router.pkl").read_bytes()
    (artifact / "router.pkl").write_bytes(data[: len(data) // 2])
    with pytest.raises(ConfigError, match=r"router\.pkl does not match its hash"):
        load_router(artifact)


def test_deleted_part_and_garbled_manifest_are_errors(artifact: Path) -> None:
    (artifact / "cascade.pkl").unlink()
    with pytest.raises(ConfigError, match=r"cascade\.pkl is missing"):
        load_router(artifact)
    (artifact / "manifest.json").write_text("{not json")
    with pytest.raises(ConfigError, match="unreadable"):
        load_router(artifact)


def test_other_format_or_scikit_learn_version_is_refused(artifact: Path) -> None:
    manifest = json.loads((artifact / "manifest.json").read_text())
    (artifact / "manifest.json").write_text(json.dumps(manifest | {"sklearn_version": "0.24.2"}))
    with pytest.raises(ConfigError, match=r"scikit-learn 0\.24\.2"):
        load_router(artifact)
    (artifact / "manifest.json").write_text(json.dumps(manifest | {"format": 99}))
    with pytest.raises(ConfigError, match="format 99"):
        load_router(artifact)


def test_cli_reports_a_broken_artifact_in_one_line(artifact: Path, tmp_path: Path) -> None:
    (artifact / "router.pkl").write_bytes(b"garbage")
    prompts = tmp_path / "p.jsonl"
    prompts.write_text('{"prompt": "hi"}\n')
    done = subprocess.run(
        [sys.executable, "-m", "parity", "router", "score", str(artifact), str(prompts)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert done.stdout == ""
    assert done.stderr.strip().count("\n") == 0
    assert "router.pkl does not match its hash" in done.stderr


@pytest.mark.parametrize(
    ("kind", "message"),
    [("file", "is not a directory"), ("foreign directory", "is not a router artifact")],
)
def test_train_refuses_an_output_it_would_clobber_before_training(
    tmp_path: Path, kind: str, message: str
) -> None:
    out = tmp_path / "out"
    if kind == "file":
        out.write_text("mine")
    else:
        out.mkdir()
        (out / "notes.txt").write_text("mine")
    result = CliRunner().invoke(
        app,
        ["router", "train", str(GSM8K), "--strong", STRONG, "--weak", WEAK, "--out", str(out)],
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, ConfigError)
    assert message in result.exception.message
    kept = out if kind == "file" else out / "notes.txt"
    assert kept.read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_train_creates_missing_parent_directories(tmp_path: Path) -> None:
    labels = gsm8k_subset(tmp_path / "labels.jsonl", 60)
    out = tmp_path / "a" / "b" / "artifact"
    result = CliRunner().invoke(
        app,
        [
            "router", "train", str(labels), "--strong", STRONG, "--weak", WEAK, "--out", str(out),
            "--candidate", "tfidf/lr", "--learner", "lr", "--holdout", "0.2",
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert load_router(out).manifest["training_data"]["held_out"] == 12
