"""How fast the catalog and economics calls are: the licence check routing makes per request,
the closed-form break-even against a scan of the same precision, and one whole advice.

    python bench/economics_speed.py [--out bench/results/economics_speed.json]

Prints a table and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from parity.advisor.framework import advise
from parity.advisor.questions import Answers
from parity.catalog.license import OrgProfile, check_license
from parity.catalog.registry import Catalog, default_catalog
from parity.economics.breakeven import break_even
from parity.economics.tco import ApiPricing, Lease, SelfHostPlan, Workload, api_cost, self_host_cost

ROOT = Path(__file__).resolve().parents[1]


def _per_call(fn: Callable[[], object], repeat: int) -> float:
    """Best of five runs, seconds per call."""
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeat):
            fn()
        best = min(best, (time.perf_counter() - start) / repeat)
    return best


def _scan(pricing: ApiPricing, plan: SelfHostPlan, shape: Workload, top: float,
          steps: int) -> float | None:  # fmt: skip
    for i in range(1, steps + 1):
        volume = top * i / steps
        work = shape.at(volume)
        if self_host_cost(plan, work).total <= api_cost(pricing, work).total:
            return volume
    return None


def run() -> dict[str, Any]:
    load_start = time.perf_counter()
    Catalog.load()
    load_s = time.perf_counter() - load_start
    catalog = default_catalog()
    card = catalog.card("llama-4-scout")
    profile = OrgProfile(monthly_active_users=5_000_000, regions=("DE", "US"))
    every = list(catalog)
    pricing = ApiPricing("gpt-4o", 2.5, 10.0)
    plan = SelfHostPlan("H100", 1_041.67, Lease(2_500), gpus_per_replica=2,
                        engineer_fte=0.5, engineer_usd_per_year=200_000)  # fmt: skip
    shape = Workload(1, 0.5, 2.0)
    crossing = break_even(pricing, plan, shape).input_tokens_per_day
    if crossing is None:
        raise SystemExit("the benchmark case should break even")
    # A scan as precise as the closed form would need ~1e9 steps; time one good to 0.02%.
    steps = 10_000
    scanned = _scan(pricing, plan, shape, crossing * 2.123, steps) or 0.0
    answers = Answers.model_validate({
        "sensitivity": "cloud_ok", "tokens_per_day": 1e9, "traffic": "steady", "team": "ml_infra",
        "customisation": "none", "difficulty": "mixed", "regulation": "standard",
    })  # fmt: skip
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "catalog_load_ms": load_s * 1e3,
        "check_license_us": _per_call(lambda: check_license(card, profile), 20_000) * 1e6,
        "check_all_cards_us": _per_call(lambda: [check_license(c, profile) for c in every], 500)
        * 1e6,
        "cards": len(every),
        "break_even_us": _per_call(lambda: break_even(pricing, plan, shape), 2_000) * 1e6,
        "scan_ms": _per_call(lambda: _scan(pricing, plan, shape, 2.123 * crossing, steps), 1) * 1e3,
        "scan_steps": steps,
        "scan_error_pct": abs(scanned - crossing) / crossing * 100,
        "advise_ms": _per_call(lambda: advise(answers, catalog), 20) * 1e3,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    default = ROOT / "bench" / "results" / "economics_speed.json"
    parser.add_argument("--out", type=Path, default=default)
    args = parser.parse_args()
    figures = run()
    rows = [
        ("load and validate the catalog", f"{figures['catalog_load_ms']:.1f} ms"),
        ("check_license, one card", f"{figures['check_license_us']:.2f} us"),
        (f"check_license, all {figures['cards']} cards", f"{figures['check_all_cards_us']:.1f} us"),
        ("break_even (closed form)", f"{figures['break_even_us']:.1f} us"),
        (
            f"scan, {figures['scan_steps']:,} steps ({figures['scan_error_pct']:.3f}% off)",
            f"{figures['scan_ms']:.1f} ms",
        ),
        ("advise (1B tokens/day, mixed)", f"{figures['advise_ms']:.1f} ms"),
    ]
    width = max(len(name) for name, _ in rows)
    print(f"{'operation':<{width}}  time")
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(figures, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
