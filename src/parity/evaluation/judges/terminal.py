"""The blind A/B judging session in a terminal: one key per decision, names hidden to the end.

Keys: ``a`` (A is better), ``b`` (B is better), ``t`` (tie), ``s`` (skip), ``q`` (quit).
Each decision is written at once, so quitting (or a crash) loses nothing; running the same
command again continues where it stopped. Model names, scores and tallies are shown only when
the last comparison is done.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TextIO

from rich.console import Console
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from parity.evaluation.judges.human import (
    Comparison,
    HumanStore,
    answer_pair,
    human_verdicts,
    pending_comparisons,
)
from parity.evaluation.records import TIE
from parity.evaluation.rundir import RunDir

__all__ = ["KEYS", "SessionResult", "judge_in_terminal", "key_reader"]

KEYS = {"a": "A", "b": "B", "t": "tie", "s": "skip"}
QUIT = "q"


@dataclass(slots=True)
class SessionResult:
    """What one session did, and whether everything is now judged."""

    decided: int = 0
    remaining: int = 0
    finished: bool = False
    tally: dict[str, int] = field(default_factory=dict)


@contextlib.contextmanager
def key_reader(stream: TextIO | None = None) -> Iterator[Callable[[], str]]:
    """A function returning the next key pressed; single keys on a terminal, lines on a pipe.

    The terminal stays in cbreak mode (no echo, no line buffering) for the whole session, so
    a key pressed while the next comparison is drawn is not lost or echoed.
    """
    stream = stream or sys.stdin
    if not stream.isatty():

        def read_line() -> str:
            line = stream.readline()
            return line.strip()[:1].lower() if line else QUIT

        yield read_line
        return
    import termios
    import tty

    fd = stream.fileno()
    saved = termios.tcgetattr(fd)

    def read_key() -> str:
        data = os.read(fd, 1)
        return data.decode("utf-8", "replace").lower() if data else QUIT

    try:
        tty.setcbreak(fd)
        yield read_key
    finally:
        termios.tcsetattr(fd, termios.TCSADRAIN, saved)


def _show(console: Console, comparison: Comparison, texts: list[str], n: int, total: int) -> None:
    item = comparison.item
    where = f" · {item.category}" if item.category else ""
    console.rule(f"comparison {n} of {total}{where}")
    console.print(Panel(Text(item.prompt), title="prompt", title_align="left"))
    for label, text in zip(("A", "B"), texts, strict=True):
        console.print(
            Panel(Text(text or "(empty answer)"), title=f"answer {label}", title_align="left")
        )
    console.print(
        "[bold]a[/] A is better   [bold]b[/] B is better   [bold]t[/] tie   "
        "[bold]s[/] skip   [bold]q[/] quit (resume later)"
    )


def _reveal(console: Console, run: RunDir, judge: str) -> dict[str, int]:
    tally: Counter[str] = Counter()
    for verdict in human_verdicts(run):
        if verdict.judge == judge:
            tally[verdict.winner or TIE] += 1
    table = Table(title=f"Your verdicts, revealed ({judge})")
    table.add_column("outcome")
    table.add_column("count", justify="right")
    for name, count in tally.most_common():
        table.add_row("tie" if name == TIE else f"{name} better", str(count))
    console.print(table)
    return dict(tally)


def judge_in_terminal(
    run: RunDir,
    judge: str,
    models: list[str],
    *,
    console: Console,
    read_key: Callable[[], str],
    include_skipped: bool = False,
) -> SessionResult:
    """Ask for every pending comparison until done or quit."""
    queue, done = pending_comparisons(run, judge, models, include_skipped=include_skipped)
    answers = run.answers()
    total = len(queue) + done
    result = SessionResult(remaining=len(queue))
    if not queue:
        console.print(f"Nothing left to judge for {judge} ({done} comparisons decided).")
    store = HumanStore(run, judge)
    try:
        for position, comparison in enumerate(queue, start=done + 1):
            _show(console, comparison, answer_pair(answers, comparison), position, total)
            key = read_key()
            while key not in KEYS and key != QUIT:
                console.print("press a, b, t, s or q")
                key = read_key()
            if key == QUIT:
                console.print(f"Saved. {result.remaining} left; run the same command to resume.")
                return result
            store.record(comparison, KEYS[key])
            result.decided += 1
            result.remaining -= 1
    finally:
        store.close()
    result.finished = True
    result.tally = _reveal(console, run, judge)
    return result
