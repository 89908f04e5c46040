"""The blind terminal judge, driven through a real pseudo-terminal: single keys, names hidden
until the end, quit and resume."""

from __future__ import annotations

import fcntl
import json
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from parity.cli.main import app
from tests.evaluation.helpers import csv_file

PARITY = Path(sys.executable).parent / "parity"
ANSI = re.compile(r"\x1b\[[0-9;?]*[a-zA-Z]|\x1b\][^\x07]*\x07")
MODELS = ("alpha-model", "beta-model")


class Terminal:
    """``parity gaptest judge`` on a pseudo-terminal."""

    def __init__(self, run: Path):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 120, 0, 0))
        env = {**os.environ, "TERM": "xterm", "COLUMNS": "120", "LINES": "50"}
        self.proc = subprocess.Popen(
            [str(PARITY), "gaptest", "judge", str(run), "--as", "tester"],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            close_fds=True,
        )
        os.close(slave)
        self.master = master
        self.screen = ""
        self.cursor = 0

    def read_until(self, text: str, timeout: float = 30) -> str:
        """What was printed from where the last read stopped up to ``text`` (ANSI removed)."""
        deadline = time.monotonic() + timeout
        while (found := self.screen.find(text, self.cursor)) < 0:
            ready, _, _ = select.select(
                [self.master], [], [], max(0.0, deadline - time.monotonic())
            )
            chunk = b""
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the child closed the terminal
                    chunk = b""
            if not chunk:
                raise AssertionError(f"never saw {text!r}; screen:\n{self.screen[-2000:]}")
            self.screen += ANSI.sub("", chunk.decode("utf-8", "replace"))
        start, self.cursor = self.cursor, found + len(text)
        return self.screen[start : self.cursor]

    def press(self, key: str) -> None:
        os.write(self.master, key.encode())

    def finish(self) -> int:
        code = self.proc.wait(30)
        os.close(self.master)
        return code


@pytest.fixture
def run(tmp_path: Path) -> Path:
    rows = [
        {
            "id": f"q{i}",
            "prompt": f"Question number {i}?",
            "alpha-model_response": f"First answer to {i}",
            "beta-model_response": f"Second on {i}",
        }
        for i in range(4)
    ]
    data = csv_file(tmp_path / "recorded.csv", rows)
    out = tmp_path / "run"
    result = CliRunner().invoke(app, ["gaptest", "run", str(data), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_blind_judging_in_a_terminal(run: Path) -> None:
    term = Terminal(run)
    seen = term.read_until("quit (resume later)")
    assert "comparison 1 of 4" in seen
    term.press("x")  # not a key: asked again, nothing stored
    seen += term.read_until("press a, b, t, s or q")
    term.press("a")
    seen += term.read_until("comparison 2 of 4")
    seen += term.read_until("quit (resume later)")
    term.press("q")
    seen += term.read_until("run the same command to resume")
    assert term.finish() == 0
    for name in MODELS:  # nothing revealed while judging
        assert name not in seen

    lines = [json.loads(x) for x in (run / "human.jsonl").read_text().splitlines()]
    assert len(lines) == 1
    first = lines[0]
    assert first["judge"] == "human:tester" and first["choice"] == "A"
    assert first["winner"] == first["shown"][0] and set(first["shown"]) == set(MODELS)
    # The answer shown as A really was the winner's answer.
    shown_a = "First answer" if first["winner"] == "alpha-model" else "Second on"
    prompt_at = seen.index(f"Question number {first['item'][1:]}?")
    assert seen.index(shown_a, prompt_at) < seen.index("answer B", prompt_at)

    term = Terminal(run)  # resume: the decided comparison is not asked again
    seen = term.read_until("quit (resume later)")
    assert "comparison 2 of 4" in seen
    for key in ("b", "t", "s"):
        term.press(key)
        if key != "s":
            seen += term.read_until("quit (resume later)")
    seen += term.read_until("revealed")
    seen += term.read_until("tie")
    assert term.finish() == 0
    lines = [json.loads(x) for x in (run / "human.jsonl").read_text().splitlines()]
    assert [x["choice"] for x in lines] == ["A", "B", "tie", "skip"]
    winners = {x["winner"] for x in lines if x["winner"] not in (None, "tie")}
    for winner in winners:  # revealed at the end
        assert f"{winner} better" in seen

    report = CliRunner().invoke(app, ["gaptest", "report", str(run), "--json"])
    assert report.exit_code == 0, report.output
    data = json.loads(report.stdout)
    assert data["primary_judge"] == "human:tester"
    assert data["pairs"][0]["n"] == 3  # the skip is not a verdict


def test_judging_from_a_pipe_prints_json(run: Path) -> None:
    # Without a terminal, one line per decision; --json keeps stdout machine-readable.
    done = subprocess.run(
        [str(PARITY), "gaptest", "judge", str(run), "--as", "script", "--json"],
        input=b"a\nt\nb\ns\n",
        capture_output=True,
        timeout=60,
        check=True,
    )
    outcome = json.loads(done.stdout)
    assert outcome["decided"] == 4 and outcome["finished"] is True
    assert sum(outcome["tally"].values()) == 3  # the skip is not counted
    assert "comparison 1 of 4" in done.stderr.decode()
