"""Fuzz a real gateway with schemathesis and print operations x cases x failures.

    .venv/bin/python bench/fuzz_gateway.py [--examples 500] [--seed 8]

Starts the fake vendor and one `parity serve` (the same config as tests/hostile), runs every
schemathesis phase but the stateful one (examples, coverage incl. wrong methods, fuzzing;
positive and negative cases) against every operation of GET /openapi.json, with the checks of
tests/hostile/fuzz.py, and writes bench/results/fuzz_gateway.json. Exit status 1 on any failure.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.fixtures import start_vendor_fake  # noqa: E402
from tests.hostile.conftest import ADMIN_KEY, hostile_config  # noqa: E402
from tests.hostile.fuzz import fuzz_gateway, table  # noqa: E402
from tests.servers import start_gateway  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="Examples per operation.")
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        vendor_proc, vendor = start_vendor_fake(folder / "vendor.log")
        env = {"FAKE_KEY": "sk-fake", "PARITY_ADMIN_KEY": ADMIN_KEY}
        gateway = start_gateway(folder, hostile_config(vendor), env=env)
        try:
            started = time.perf_counter()
            stats = fuzz_gateway(gateway.url, ADMIN_KEY, examples=args.examples, seed=args.seed)
            elapsed = time.perf_counter() - started
        finally:
            gateway.stop()
            vendor_proc.kill()
            vendor_proc.wait()
    print(table(stats))
    print(f"\n{args.examples} examples per operation, seed {args.seed}: {elapsed:.0f} s")
    for entry in stats:
        for problem in entry.problems[:5]:
            print(f"{entry.label}: {problem}")
    out = ROOT / "bench" / "results" / "fuzz_gateway.json"
    record = {
        "examples": args.examples,
        "seed": args.seed,
        "seconds": round(elapsed, 1),
        "operations": [asdict(e) for e in stats],
    }
    out.write_text(json.dumps(record, indent=2) + "\n")
    return 1 if any(entry.failures for entry in stats) else 0


if __name__ == "__main__":
    sys.exit(main())
