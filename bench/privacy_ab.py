"""Two versions of the privacy detector timed against each other, interleaved in one process.

    python bench/privacy_ab.py OLD_SRC NEW_SRC [--rounds 40]

On a shared machine the load changes from one run of bench/privacy_latency.py to the next by
more than a detector change costs. Here both versions (two ``src`` folders, for example
``git worktree add /tmp/old main`` and ``.``/src) are imported into one process, and each
4k-token prompt of the latency benchmark is scanned by both in turn, the order alternating
every round, so that both see the same load. Prints CPU p50, p95 and mean of the default
detector (fast path + Presidio) for each.
"""

from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent


def detector(src: str) -> Any:
    """A default PrivacyDetector imported from the ``parity`` package under ``src``."""
    for name in [m for m in sys.modules if m == "parity" or m.startswith("parity.")]:
        del sys.modules[name]
    sys.path.insert(0, src)
    try:
        module = importlib.import_module("parity.privacy.detector")
    finally:
        sys.path.remove(src)
    return module.PrivacyDetector(module.PrivacySettings())


def _pct(values: list[float], q: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old", help="the src folder of the first version")
    parser.add_argument("new", help="the src folder of the second version")
    parser.add_argument("--rounds", type=int, default=40)
    args = parser.parse_args(argv)
    versions = {"old": detector(args.old), "new": detector(args.new)}
    sys.path.insert(0, str(BENCH))
    import privacy_latency  # bench/ is not a package

    prompts = privacy_latency.prompts()["4k"]
    times: dict[str, list[float]] = {"old": [], "new": []}
    for round_ in range(args.rounds):
        order = ("old", "new") if round_ % 2 == 0 else ("new", "old")
        for text in prompts:
            for name in order:
                began = time.thread_time_ns()
                versions[name].scan([text])
                times[name].append((time.thread_time_ns() - began) / 1e6)
    print("| version | src | n | cpu p50 ms | cpu p95 ms | cpu mean ms |")
    print("|---|---|---|---|---|---|")
    for name, src in (("old", args.old), ("new", args.new)):
        values = times[name]
        print(f"| {name} | {src} | {len(values)} | {_pct(values, 50):.3f} | "
              f"{_pct(values, 95):.3f} | {statistics.fmean(values):.3f} |")  # fmt: skip


if __name__ == "__main__":
    main()
