"""What the behaviour canary detects on a simulated silent update, and how long a run takes.

    python bench/canary_drift.py [--prompts 20 50] [--out bench/results/canary_drift.json]

For each set size and each share of prompts the "updated" model gets wrong (0% = steady), a
local OpenAI-compatible upstream (tests/fakes/drifting.py) answers the baseline run correctly,
then degrades: it answers that share of the prompts wrongly and changes its system_fingerprint.
The canary runs twice through its real code path (``run_job``: gap-test runner, the default
reference judge, ``pair_stats``); the table shows the second run's verdict, the paired interval
of "the baseline wins more often", and the wall time of that run. Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.drifting import DriftingUpstream  # noqa: E402

from parity.config import Settings  # noqa: E402
from parity.evaluation.canary_run import CanaryJob, run_job  # noqa: E402

SHARES = (0.0, 0.05, 0.1, 0.2, 0.5, 1.0)


def _write_set(path: Path, count: int) -> None:
    rows = []
    for i in range(count):
        a, b = 3 * i + 1, 7 * i + 2
        rows.append(
            json.dumps({"id": f"q{i}", "prompt": f"What is {a} + {b}?", "reference": str(a + b)})
        )
    path.write_text("\n".join(rows) + "\n")


async def _one(count: int, share: float, folder: Path) -> dict[str, Any]:
    upstream = DriftingUpstream(
        degrade_after=count if share > 0 else None, wrong_share=share or 1.0
    )
    upstream.start()
    try:
        prompts = folder / f"set-{count}-{share}.jsonl"
        _write_set(prompts, count)
        settings = Settings.model_validate(
            {
                "models": [
                    {
                        "id": "adder",
                        "provider": "openai",
                        "base_url": upstream.url,
                        "residency": "vendor",
                    }
                ]
            }
        )
        job = CanaryJob(prompts, ["adder"], prompts.with_suffix(".baseline.json"), [])
        await run_job(job, settings, os.environ, ledger_url=None)
        start = time.perf_counter()
        report, _ = await run_job(job, settings, os.environ, ledger_url=None)
        seconds = time.perf_counter() - start
    finally:
        upstream.stop()
    (verdict,) = report.verdicts
    worse = verdict.worse_more_often
    return {
        "prompts": count,
        "wrong_share": share,
        "status": verdict.status.value,
        "mean_before": verdict.baseline_mean,
        "mean_after": verdict.mean,
        "worse_value": worse.value if worse else None,
        "worse_low": worse.low if worse else None,
        "worse_high": worse.high if worse else None,
        "version_change": verdict.version_change,
        "run_seconds": round(seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--prompts", type=int, nargs="+", default=[20, 50])
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "canary_drift.json"
    )
    args = parser.parse_args()
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp:
        for count in args.prompts:
            for share in SHARES:
                rows.append(asyncio.run(_one(count, share, Path(tmp))))
    head = ("prompts", "wrong", "verdict", "mean", "baseline wins more (95%)", "run s")
    print(f"{head[0]:>7} {head[1]:>6} {head[2]:<14} {head[3]:>11} {head[4]:>26} {head[5]:>6}")
    for r in rows:
        interval = (
            f"{r['worse_value']:+.0%} [{r['worse_low']:+.0%}, {r['worse_high']:+.0%}]"
            if r["worse_value"] is not None
            else "-"
        )
        mean = f"{r['mean_before']:.2f}->{r['mean_after']:.2f}"
        share, status, secs = r["wrong_share"], r["status"], r["run_seconds"]
        print(f"{r['prompts']:>7} {share:>6.0%} {status:<14} {mean:>11} {interval:>26} {secs:>6}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
    }
    args.out.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
