"""No silent failure in the gap test, through the real ``parity`` command (a subprocess).

Failed answers are counted with their reasons in the console and in report.md/report.html; an
incomplete run exits 4; a malformed prompts line is an error with its line number unless
``--skip-bad-lines``; ``report`` without verdicts never prints ``nan``; ``labels`` with nothing
to write is an error; and none of these errors claim to be about the config.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.evaluation.helpers import prompts_file, write_config
from tests.fakes.deployments import FAKE_KEY, FAKE_KEY_ENV
from tests.fakes.fixtures import VendorFake
from tests.servers import free_port

INCOMPLETE_EXIT = 4
ROWS = [
    {"id": "sum", "prompt": "What is 2 + 3? End with '#### <number>'.", "reference": "#### 5"},
    {"id": "cap", "prompt": "Capital of France?", "reference": "Paris"},
]


def parity(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m parity ARGS`` as a user runs it, with no terminal."""
    child = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    child.update({"NO_PROXY": "127.0.0.1,localhost", **(env or {})})
    return subprocess.run(
        [sys.executable, "-m", "parity", *args],
        cwd=cwd,
        env=child,
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )


def _deployment(model_id: str, base_url: str, upstream: str) -> dict[str, Any]:
    return {
        "id": model_id,
        "provider": "openai",
        "base_url": base_url,
        "api_key_env": FAKE_KEY_ENV,
        "upstream_model": upstream,
        "residency": "on_prem",
        "price": {"input": 1.0, "output": 2.0},
        "timeout_s": 5,
    }


@pytest.fixture
def config(tmp_path: Path, vendor: VendorFake) -> Path:
    """Two working fake models, one whose vendor refuses the key, one nobody listens for."""
    dead = f"http://127.0.0.1:{free_port()}/v1"
    return write_config(
        tmp_path / "parity.yaml",
        [
            _deployment("echo-a", vendor.openai_url, "frontier-normal"),
            _deployment("echo-b", vendor.openai_url, "frontier-normal"),
            _deployment("refused", vendor.openai_url, "auth-401"),
            _deployment("offline", dead, "frontier-normal"),
        ],
    )


def _run(
    config: Path, tmp_path: Path, models: str, *extra: str
) -> subprocess.CompletedProcess[str]:
    prompts = prompts_file(tmp_path / "prompts.jsonl", ROWS)
    return parity(
        "gaptest", "run", str(prompts), "--models", models, "--config", str(config),
        "--retries", "1", "--out", str(tmp_path / "run"), *extra,
        cwd=tmp_path, env={FAKE_KEY_ENV: FAKE_KEY},
    )  # fmt: skip


def test_failed_answers_are_counted_with_reasons_and_exit_4(config: Path, tmp_path: Path) -> None:
    done = _run(config, tmp_path, "echo-a,offline,refused", "--judge", "numeric")
    assert done.returncode == INCOMPLETE_EXIT, done.stderr
    out = done.stdout
    assert "status: incomplete: 4 answers missing or failed" in out
    # Each reason once, with its count: a refused connection (retried) and a refused key.
    assert "offline: 2 × UpstreamConnectError: cannot connect to upstream 'offline'" in out
    assert "refused: 2 × UpstreamAuthError" in out
    assert f"--out {tmp_path / 'run'}" in out  # how to ask the failed ones again

    report = parity("gaptest", "report", str(tmp_path / "run"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "nan" not in report.stdout.lower()
    assert "4 of 6 answers failed" in report.stdout
    markdown = (tmp_path / "run" / "report" / "report.md").read_text()
    html = (tmp_path / "run" / "report" / "report.html").read_text()
    for text in (markdown, html):
        assert "## Failures" in text or "<h2>Failures</h2>" in text
        assert "UpstreamConnectError: cannot connect to upstream &#39;offline&#39;" in text or (
            "UpstreamConnectError: cannot connect to upstream 'offline'" in text
        )
        assert "UpstreamAuthError" in text
        assert "nan" not in text.lower().replace("nanum", "")
    json_report = json.loads((tmp_path / "run" / "report" / "report.json").read_text())
    offline = next(m for m in json_report["models"] if m["model"] == "offline")
    assert offline["failed"] == 2 and offline["failures"][0]["count"] == 2


def test_a_complete_run_exits_0_and_says_how_to_judge_when_no_judge_was_given(
    config: Path, tmp_path: Path
) -> None:
    done = _run(config, tmp_path, "echo-a,echo-b")
    assert done.returncode == 0, done.stderr
    assert "status: complete" in done.stdout
    assert "no judge given" in done.stdout and "gaptest score" in done.stdout

    report = parity("gaptest", "report", str(tmp_path / "run"), cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    assert "No verdicts yet" in report.stdout and "nan" not in report.stdout.lower()
    markdown = (tmp_path / "run" / "report" / "report.md").read_text()
    assert "No verdicts yet" in markdown and "nan" not in markdown.lower()

    labels = parity("gaptest", "labels", str(tmp_path / "run"), cwd=tmp_path)
    assert labels.returncode == 2 and labels.stdout == ""
    (line,) = labels.stderr.strip().splitlines()
    assert line.startswith("parity: error: no labels:") and "no verdicts yet" in line
    assert "config" not in line


def test_labels_after_judging_are_written(config: Path, tmp_path: Path) -> None:
    done = _run(config, tmp_path, "echo-a,echo-b", "--judge", "normalised:contains=true")
    assert done.returncode == 0, done.stderr
    labels = parity("gaptest", "labels", str(tmp_path / "run"), cwd=tmp_path)
    assert labels.returncode == 0, labels.stderr
    rows = [json.loads(x) for x in labels.stdout.splitlines()]
    assert [r["id"] for r in rows] == ["sum", "cap"]


def test_a_malformed_line_is_an_error_with_its_line_number(config: Path, tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text(
        json.dumps(ROWS[0]) + "\n\n" + '{"id": "broken", "prompt": \n' + json.dumps(ROWS[1]) + "\n"
    )
    base = ["gaptest", "run", str(prompts), "--models", "echo-a,echo-b", "--config", str(config)]
    env = {FAKE_KEY_ENV: FAKE_KEY}
    done = parity(*base, "--out", str(tmp_path / "r1"), cwd=tmp_path, env=env)
    assert done.returncode == 2
    assert done.stderr.startswith(f"parity: error: {prompts}:3: not JSON")  # blank line 2 counts
    assert "config:" not in done.stderr
    assert not (tmp_path / "r1").exists()  # nothing ran

    skipped = parity(
        *base, "--skip-bad-lines", "--out", str(tmp_path / "r2"), cwd=tmp_path, env=env
    )
    assert skipped.returncode == 0, skipped.stderr
    assert f"skipped (--skip-bad-lines) {prompts}:3: not JSON" in skipped.stdout
    summary = parity(*base, "--skip-bad-lines", "--out", str(tmp_path / "r2"), "--json",
                     cwd=tmp_path, env=env)  # fmt: skip
    data = json.loads(summary.stdout)
    assert len(data["bad_lines"]) == 1 and data["status"] == "complete"


def test_a_row_without_a_prompt_names_its_line(config: Path, tmp_path: Path) -> None:
    prompts = prompts_file(tmp_path / "p.jsonl", [ROWS[0], {"id": "x", "reference": "1"}])
    done = parity(
        "gaptest", "run", str(prompts), "--models", "echo-a,echo-b", "--config", str(config),
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.startswith(f"parity: error: {prompts}:2: no prompt")


def test_flag_and_run_errors_do_not_say_config(tmp_path: Path) -> None:
    not_a_run = parity("gaptest", "report", str(tmp_path), cwd=tmp_path)
    assert not_a_run.returncode == 2
    assert not_a_run.stderr.startswith(f"parity: error: {tmp_path} is not a gap-test run")
    twice = parity("gaptest", "run", "x.jsonl", "--models", "a,a", cwd=tmp_path)
    assert twice.stderr.strip() == "parity: error: no such prompts file: x.jsonl"
