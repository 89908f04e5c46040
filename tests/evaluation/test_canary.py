"""parity canary as cron runs it: a steady upstream passes, a degrading one is flagged."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from parity.evaluation.canary import CanaryStatus, Measurement, compare
from parity.store.canary import CanaryResults
from parity.store.factory import open_ledger
from tests.fakes.drifting import DriftingUpstream
from tests.servers import free_port

PROMPTS = 20


def write_set(path: Path, *, references: bool = True, count: int = PROMPTS) -> Path:
    lines = []
    for i in range(count):
        a, b = 3 * i + 1, 7 * i + 2
        row: dict[str, object] = {"id": f"q{i}", "prompt": f"What is {a} + {b}?"}
        if references:
            row["reference"] = str(a + b)
        lines.append(json.dumps(row))
    path.write_text("\n".join(lines) + "\n")
    return path


def write_config(tmp: Path, base_url: str) -> Path:
    config = {
        "ledger": {"url": f"sqlite:///{tmp / 'ledger.db'}"},
        "models": [
            {
                "id": "adder",
                "provider": "openai",
                "base_url": base_url,
                "residency": "vendor",
                "price": {"input": 1.0, "output": 2.0},
                "timeout_s": 5,
                "connect_timeout_s": 1,
            }
        ],
    }
    path = tmp / "parity.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def canary(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "parity", "canary", *args, "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def steady() -> Iterator[DriftingUpstream]:
    upstream = DriftingUpstream(degrade_after=None).start()
    yield upstream
    upstream.stop()


@pytest.fixture
def degrading() -> Iterator[DriftingUpstream]:
    upstream = DriftingUpstream(degrade_after=PROMPTS).start()  # the baseline run's 20 are fine
    yield upstream
    upstream.stop()


def test_a_steady_upstream_is_not_flagged(tmp_path: Path, steady: DriftingUpstream) -> None:
    config = write_config(tmp_path, steady.url)
    prompts = write_set(tmp_path / "canary.jsonl")
    first = canary(config, "run", str(prompts), "--models", "adder")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "adder: baseline recorded (20 scored, 0 failed)" in first.stdout
    assert (tmp_path / "canary.jsonl.baseline.json").is_file()
    again = canary(config, "run", str(prompts), "--models", "adder", "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    (verdict,) = json.loads(again.stdout)["verdicts"]
    assert verdict["status"] == "no_regression" and verdict["paired"] == PROMPTS
    assert verdict["mean"] == 1.0 and verdict["version_change"] is None


def test_an_upstream_that_degrades_after_n_requests_is_flagged(
    tmp_path: Path, degrading: DriftingUpstream
) -> None:
    config = write_config(tmp_path, degrading.url)
    prompts = write_set(tmp_path / "canary.jsonl")
    assert canary(config, "run", str(prompts), "--models", "adder").returncode == 0
    flagged = canary(config, "run", str(prompts), "--models", "adder")
    assert flagged.returncode == 1, flagged.stdout + flagged.stderr
    line = flagged.stdout.splitlines()[0]
    assert line.startswith("adder: REGRESSION: mean score 1.00 -> 0.00 on 20 prompts")
    assert (
        "upstream version changed: system_fingerprint fp_before_update -> fp_after_update" in line
    )
    # the verdicts are in the ledger, newest first
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    open_ledger(url).close()
    store = CanaryResults(url)
    try:
        statuses = [r.status for r in store.history("adder")]
        latest = store.latest()
    finally:
        store.close()
    assert statuses == ["regression", "baseline_recorded"]
    assert [(r.model, r.status) for r in latest] == [("adder", "regression")]
    history = canary(config, "history", "--json")
    assert [r["status"] for r in json.loads(history.stdout)] == statuses


def test_an_unreachable_upstream_could_not_be_measured(
    tmp_path: Path, steady: DriftingUpstream
) -> None:
    prompts = write_set(tmp_path / "canary.jsonl")
    assert (
        canary(
            write_config(tmp_path, steady.url), "run", str(prompts), "--models", "adder"
        ).returncode
        == 0
    )
    dead = write_config(tmp_path, f"http://127.0.0.1:{free_port()}/v1")
    done = canary(dead, "run", str(prompts), "--models", "adder")
    assert done.returncode == 3, done.stdout + done.stderr
    assert done.stdout.startswith("adder: could not measure: 0 of 20 prompts scored")
    assert "no regression" not in done.stdout and "no drift" not in done.stdout


def test_a_first_run_against_an_unreachable_upstream_records_no_baseline(tmp_path: Path) -> None:
    prompts = write_set(tmp_path / "canary.jsonl")
    dead = write_config(tmp_path, f"http://127.0.0.1:{free_port()}/v1")
    done = canary(dead, "run", str(prompts), "--models", "adder")
    assert done.returncode == 3
    assert "could not measure, so no baseline was recorded" in done.stdout
    baseline = json.loads((tmp_path / "canary.jsonl.baseline.json").read_text())
    assert baseline["models"] == {}


def test_a_set_with_no_references_and_no_judge_is_one_line(tmp_path: Path) -> None:
    prompts = write_set(tmp_path / "canary.jsonl", references=False)
    done = canary(
        write_config(tmp_path, "http://127.0.0.1:9/v1"), "run", str(prompts), "--models", "adder"
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "has no references and no judge" in done.stderr
    too_few = write_set(tmp_path / "small.jsonl", count=5)
    small = canary(
        write_config(tmp_path, "http://127.0.0.1:9/v1"), "run", str(too_few), "--models", "adder"
    )
    assert small.returncode == 2 and "at least 10" in small.stderr


def test_a_baseline_of_another_prompt_set_is_one_line(
    tmp_path: Path, steady: DriftingUpstream
) -> None:
    config = write_config(tmp_path, steady.url)
    first = write_set(tmp_path / "first.jsonl")
    assert canary(config, "run", str(first), "--models", "adder").returncode == 0
    other = write_set(tmp_path / "other.jsonl", count=PROMPTS + 1)
    done = canary(
        config, "run", str(other), "--models", "adder", "--baseline", str(first) + ".baseline.json"
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "is the baseline of another prompt set" in done.stderr


def _measured(scores: list[float], **kwargs: object) -> Measurement:
    return Measurement(scores={f"q{i}": s for i, s in enumerate(scores)}, **kwargs)  # type: ignore[arg-type]


def test_the_interval_decides_not_the_point_estimate() -> None:
    before = _measured([1.0] * 20)
    one_worse = compare("m", before, _measured([0.0] + [1.0] * 19))
    assert one_worse.status is CanaryStatus.NO_REGRESSION  # one of 20 is within the noise
    half_worse = compare("m", before, _measured([0.0] * 10 + [1.0] * 10))
    assert half_worse.status is CanaryStatus.REGRESSION
    assert half_worse.worse_more_often is not None and half_worse.worse_more_often.low > 0
    better = compare("m", _measured([0.0] * 20), _measured([1.0] * 20))
    assert better.status is CanaryStatus.IMPROVED


def test_too_few_paired_scores_could_not_be_measured() -> None:
    before = _measured([1.0] * 20)
    now = _measured([1.0] * 9, failed=11, errors=["connection: refused"])
    verdict = compare("m", before, now)
    assert verdict.status is CanaryStatus.COULD_NOT_MEASURE
    assert "last error: connection: refused" in verdict.summary
