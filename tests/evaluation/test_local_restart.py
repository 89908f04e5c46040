"""Answers lost to a restart of the run's own llama.cpp server are asked again, not dropped.

A real ``parity gaptest run`` (a subprocess) on ``provider: local`` SmolLM2; its llama.cpp child
is killed with SIGKILL while the run goes on. With ``--retries 0`` an answer lost to the kill
could only survive by waiting for the restart, which is what is tested.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tests.evaluation.helpers import csv_file

pytestmark = pytest.mark.slow


def _children(pid: int) -> list[int]:
    """Process ids whose parent is ``pid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _llama_child(pid: int) -> int | None:
    for child in _children(pid):
        try:
            command = (Path("/proc") / str(child) / "cmdline").read_bytes()
        except OSError:
            continue
        if b"llama_cpp.server" in command:
            return child
    return None


def _lines(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_killing_the_local_server_mid_run_loses_no_answer(tmp_path: Path) -> None:
    config = tmp_path / "parity.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "local": {"n_threads": 1, "health_interval_s": 0.3, "startup_timeout_s": 120},
                "models": [
                    {"id": "local/smollm2", "provider": "local", "residency": "on_prem"},
                ],
            }
        )
    )
    # A recorded model beside the local one: its answers are in the file.
    rows = [
        {"id": f"q{i}", "prompt": f"Say the number {i}.", "rec_response": str(i)} for i in range(4)
    ]
    prompts = csv_file(tmp_path / "p.csv", rows)
    run = tmp_path / "run"
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost"}
    command = [
        sys.executable, "-m", "parity", "gaptest", "run", str(prompts),
        "--models", "local/smollm2,rec", "--config", str(config), "--out", str(run),
        "--retries", "0", "--concurrency", "1", "--max-tokens", "12", "--json",
    ]  # fmt: skip
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 240
        first = None
        while time.monotonic() < deadline and proc.poll() is None:
            first = _llama_child(proc.pid)
            live = [a for a in _lines(run / "answers.jsonl") if a["source"] == "live"]
            if first is not None and live:  # killed after the first live answer
                break
            time.sleep(0.05)
        assert first is not None and proc.poll() is None, "the run ended before the kill"
        os.kill(first, signal.SIGKILL)
        out, err = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode() + out.decode()
    summary = json.loads(out)
    assert summary["status"] == "complete" and summary["failed"] == 0
    assert b"started a llama.cpp server of this run's own for local/smollm2" in err
    answers = {(a["item"], a["model"]): a for a in _lines(run / "answers.jsonl")}
    assert len(answers) == 8 and all(a["error"] is None for a in answers.values())
    # At least one call met the dead or restarting server and was asked again.
    assert sum(int(str(a["retries"])) for a in answers.values()) >= 1
