"""parity tune train: its refusals, all before any weights load (the run itself: test_loop)."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from parity.tuning.ticket_example import generate, ticket_messages
from tests.tuning.common import cli


def write_dataset(folder: Path, count: int = 30) -> Path:
    """A small ticket dataset built by parity tune dataset from a JSONL file."""
    folder.mkdir(parents=True, exist_ok=True)
    source = folder / "tickets.jsonl"
    lines = [
        json.dumps({"messages": [*ticket_messages(t), {"role": "assistant", "content": a}]})
        for t, a in generate(count, seed=1)
    ]
    source.write_text("\n".join(lines) + "\n")
    out = folder / "ds"
    done = cli("tune", "dataset", "--from-jsonl", str(source), "--out", str(out),
               "--tokenizer", "estimate", "--min-examples", "10")  # fmt: skip
    assert done.returncode == 0, done.stderr
    return out


TINY = ("--steps", "4", "--save-every", "2", "--batch-size", "2", "--max-length", "192")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (("--base", "no-such-model"), "unknown base model 'no-such-model'"),
        (("--card", "qwen-2.5-3b"), "licence refusal: qwen-2.5-3b: the Qwen Research"),
        (("--max-memory-gb", "0.5"), "needs about"),
        (("--reserve-disk-gb", "100000000"), "--reserve-disk-gb"),
    ],
)
def test_refusals_come_before_any_weights_load(
    tmp_path: Path, extra: tuple[str, ...], message: str
) -> None:
    dataset = write_dataset(tmp_path)
    started = time.monotonic()
    done = cli("tune", "train", str(dataset), "--out", str(tmp_path / "run"), *TINY, *extra)
    assert done.returncode != 0
    assert message in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert not (tmp_path / "run").exists()
    assert time.monotonic() - started < 60


def test_a_folder_that_is_not_a_dataset_is_refused(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text('{"prompt": "no"}\n')
    done = cli("tune", "train", str(tmp_path), "--out", str(tmp_path / "run"))
    assert done.returncode == 2
    assert "is not a parity tune dataset" in done.stderr


def test_accelerate_relaunches_the_same_command(tmp_path: Path) -> None:
    """--accelerate N re-runs the command under 'accelerate launch' (here 1 CPU process): the
    launched run sees the same options, minus --accelerate and its value."""
    dataset = write_dataset(tmp_path)
    done = cli("tune", "train", str(dataset), "--out", str(tmp_path / "run"), "--accelerate",
               "1", *TINY, "--base", "no-such-model")  # fmt: skip
    assert done.returncode == 1  # accelerate's exit for a failed child (parity itself exits 2)
    assert "unknown base model 'no-such-model'" in done.stderr, done.stderr
    assert "unexpected extra argument" not in done.stderr
    assert not (tmp_path / "run").exists()
