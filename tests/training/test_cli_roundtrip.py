"""train -> evaluate -> calibrate -> score through the CLI, on real GSM8K labels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from parity.training.artifact import load_router
from tests.training.conftest import STRONG, WEAK

runner = CliRunner()


def _run(*args: str) -> Any:
    result = runner.invoke(app, ["router", *args])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def _json(*args: str) -> Any:
    return json.loads(_run(*args, "--json").stdout)


@pytest.fixture
def artifact(trained: Path, tmp_path: Path) -> Path:
    """A private copy of the trained artifact, so a test may recalibrate it."""
    return Path(shutil.copytree(trained, tmp_path / "artifact"))


def test_train_writes_a_versioned_checked_artifact(trained: Path) -> None:
    manifest = json.loads((trained / "manifest.json").read_text())
    assert manifest["format"] == 1 and len(manifest["version"]) == 12
    assert manifest["training_data"]["trained_on"] == 210
    assert manifest["training_data"]["held_out"] == 90
    assert len(manifest["training_data"]["sha256"]) == 64
    assert manifest["metrics"]["chosen"] == {"router": "tfidf/lr", "cascade": "qa-tfidf+checks/lr"}
    assert set(manifest["files"]) == {"router.pkl", "cascade.pkl", "oof.npz", "heldout.jsonl"}
    # The default calibration keeps 95% of the strong model's cross-validated quality.
    for mode in ("router", "cascade"):
        assert manifest["calibration"][mode]["quality_share"] >= 0.95


def test_evaluate_on_held_out_labels_against_random_and_oracle(trained: Path) -> None:
    report = _json("evaluate", str(trained), str(trained / "heldout.jsonl"))
    assert report["evaluated"] == 90 and report["skipped_seen_in_training"] == 0
    routers = report["routers"]
    assert routers["random"]["apgr"] == pytest.approx(0.5)
    assert routers["oracle"]["apgr"] > routers["router"]["apgr"]
    # Reading the weak answer is what makes the cascade beat random on GSM8K.
    assert routers["cascade"]["apgr"] > 0.6
    assert routers["cascade"]["share_at_target"] < routers["random"]["share_at_target"]
    assert 0 < routers["cascade"]["cost_saving"] < 1
    assert set(report["at_calibrated_threshold"]) == {"router", "cascade"}


def test_evaluate_refuses_training_prompts_unless_asked(trained: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["router", "evaluate", str(trained), str(tmp_path / "missing.jsonl")]
    )
    assert result.exit_code != 0
    heldout = (trained / "heldout.jsonl").read_text().splitlines()
    manifest = json.loads((trained / "manifest.json").read_text())
    seen = Path(manifest["training_data"]["path"]).read_text().splitlines()
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text("\n".join(heldout[:20] + [s for s in seen if s not in heldout][:30]) + "\n")
    report = _json("evaluate", str(trained), str(mixed))
    assert report["evaluated"] == 20 and report["skipped_seen_in_training"] == 30
    everything = _json("evaluate", str(trained), str(mixed), "--include-training")
    assert everything["evaluated"] == 50


def test_calibrate_moves_the_threshold_and_draws_the_curve(artifact: Path) -> None:
    loaded = load_router(artifact)
    result = _json("calibrate", str(artifact), "--strong-share", "0.3")
    assert result["chosen"]["router"]["strong_share"] == pytest.approx(0.3, abs=0.01)
    assert [row["strong_share"] for row in result["curve"]][::5] == [0.0, 0.5, 1.0]
    assert {"router", "cascade", "random", "oracle"} <= set(result["curve"][0])
    assert (artifact / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # The gateway's reload check sees the change; a reload picks up the new threshold.
    assert loaded.changed()
    assert load_router(artifact).threshold == pytest.approx(result["threshold"])

    budget = _json(
        "calibrate", str(artifact), "--budget", "20", "--requests-per-day", "10000",
    )  # fmt: skip
    for point in budget["chosen"].values():
        if "cost_per_request" in point:
            assert point["cost_per_request"] <= 20 / 10000 + 1e-12
    quality = _json("calibrate", str(artifact), "--target-quality", "0.9")
    assert quality["chosen"]["cascade"]["quality_share"] >= 0.9
    table = _run("calibrate", str(artifact), "--target-quality", "0.9").stdout
    assert "quality by share of strong calls" in table and "oracle" in table


@pytest.mark.parametrize(
    "flags",
    [[], ["--strong-share", "0.3", "--budget", "5"], ["--budget", "5"], ["--strong-share", "2"]],
)
def test_calibrate_rejects_bad_targets(artifact: Path, flags: list[str]) -> None:
    result = runner.invoke(app, ["router", "calibrate", str(artifact), *flags])
    assert result.exit_code != 0


def test_score_prints_one_line_per_prompt_at_the_threshold(trained: Path, tmp_path: Path) -> None:
    heldout = [json.loads(line) for line in (trained / "heldout.jsonl").read_text().splitlines()]
    prompts = tmp_path / "prompts.jsonl"
    rows = [{"id": r["id"], "prompt": r["prompt"]} for r in heldout[:5]]
    rows.append({"id": "with-answer", "prompt": heldout[5]["prompt"],
                 "answer": heldout[5]["responses"][WEAK]})  # fmt: skip
    rows.append({"messages": [{"role": "user", "content": "What is 12 * 12?"}]})
    prompts.write_text("".join(json.dumps(r) + "\n" for r in rows))
    lines = [json.loads(x) for x in _run("score", str(trained), str(prompts)).stdout.splitlines()]
    assert [x["id"] for x in lines] == [*(r["id"] for r in heldout[:5]), "with-answer", "7"]
    threshold = load_router(trained).threshold
    for line in lines:
        assert 0 <= line["strong_probability"] <= 1
        expected = STRONG if line["strong_probability"] >= threshold else WEAK
        assert line["model"] == expected
    assert "weak_ok" in lines[5] and isinstance(lines[5]["escalate"], bool)
    assert "weak_ok" not in lines[0]
