"""``make bench``: the offline benchmarks that need no server, database or model download, in a row.

    python -m bench.run_all [--out DIR] [--only NAME ...] [--list]

Each runs as its own process with small counts, writes its JSON under ``--out`` (default: a new
temporary folder, so the figures committed in bench/results/ and quoted in the docs are not
overwritten) and is timed. It stops at the first benchmark that fails. The rest of bench/ needs a
running gateway, PostgreSQL, Redis, llama.cpp or an hour (bench/router_quality.py under nested
cross-validation): run those one by one as docs/benchmarks.md and docs/router.md describe.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# name -> script and its arguments (``{out}`` is the JSON path under --out)
BENCHMARKS: dict[str, list[str]] = {
    "routing_decision": ["bench/routing_decision.py", "--n", "300", "--out", "{out}"],
    "metrics_overhead": ["bench/metrics_overhead.py", "--n", "20000", "--out", "{out}"],
    "economics_speed": ["bench/economics_speed.py", "--out", "{out}"],
    "canary_drift": ["bench/canary_drift.py", "--prompts", "20", "--out", "{out}"],
    "router_latency": ["bench/router_latency.py", "--calls", "50", "--no-embed", "--out", "{out}"],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=None, help="folder for the JSON results")
    parser.add_argument("--only", nargs="+", choices=sorted(BENCHMARKS), default=None)
    parser.add_argument("--list", action="store_true", help="print the commands and stop")
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="parity-bench-"))
    out.mkdir(parents=True, exist_ok=True)
    for name in args.only or BENCHMARKS:
        command = [
            sys.executable,
            *(part.format(out=out / f"{name}.json") for part in BENCHMARKS[name]),
        ]
        print(f"== {name}: {' '.join(command[1:])}", flush=True)
        if args.list:
            continue
        started = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, check=False)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            print(f"== {name} failed (exit {done.returncode}) after {seconds:.1f} s", flush=True)
            return done.returncode
        print(f"== {name}: {seconds:.1f} s", flush=True)
    print(f"results in {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
