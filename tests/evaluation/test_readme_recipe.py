"""The README's offline gap-test recipe, word for word: each command of its first block, in order.

The commands run in a scratch folder that holds the repository's ``examples`` and a
``.venv/bin/parity`` that is this interpreter's ``parity``, so the lines are run unchanged.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]


def _recipe() -> list[str]:
    """The commands of the first bash block under '## The gap test', continuations joined."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## The gap test") :]
    block = section[section.index("```bash\n") + 8 :]
    block = block[: block.index("```")]
    joined = block.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip().startswith(".venv/")]


def test_the_readme_gap_test_recipe_runs_offline(tmp_path: Path) -> None:
    commands = _recipe()
    assert [c.split()[1:3] for c in commands][:4] == [
        ["gaptest", "run"],
        ["gaptest", "judge"],
        ["gaptest", "report"],
        ["gaptest", "labels"],
    ]
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    venv = tmp_path / ".venv" / "bin"
    venv.mkdir(parents=True)
    (venv / "parity").write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)} -m parity "$@"\n')
    (venv / "parity").chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "ANTHROPIC_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), str(ROOT)])
    for command in commands:
        done = subprocess.run(
            ["bash", "-c", command],
            cwd=tmp_path,
            env=env,
            input="q\n",  # the blind judge: quit at once
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
    assert (tmp_path / "runs" / "first" / "report" / "report.html").is_file()
    assert len((tmp_path / "labels.jsonl").read_text().splitlines()) == 1319
    assert (tmp_path / "router" / "heldout.jsonl").is_file()
