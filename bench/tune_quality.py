"""The whole tune loop through the real gateway, at full budget: does tuning close the gap?

    nice -n 15 python bench/tune_quality.py [--requests 400] [--steps 150] [--batch-size 8]
        [--keep DIR] [--out bench/results/tune_quality.json]

Teacher traffic (tests/fakes/ticket_teacher.py, a local fake vendor that extracts the shipped
support tickets correctly: no frontier model is reachable here) goes through ``parity serve``
into the ledger; then ``parity tune dataset``, ``train``, ``export --register``, and
``evaluate`` run as a user would run them. Prints the base, tuned and teacher scores on the
held-out prompts with 95% intervals, the share of the gap closed, training wall time and peak
RSS, and tokens/s of the base and the tuned model through the gateway. Writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.ticket_teacher import TicketTeacher, example_config  # noqa: E402
from tests.servers import start_gateway, wait_for_rows  # noqa: E402

from parity.tuning.ticket_example import TASK, generate, ticket_messages  # noqa: E402


def _cli(*args: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "parity", *args, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"parity {' '.join(args[:2])} failed: {done.stderr.strip()}")
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def _traffic(url: str, count: int) -> list[str]:
    import openai

    def one(ticket: str) -> str:
        with openai.OpenAI(base_url=url, api_key="x", max_retries=2) as client:
            raw = client.chat.completions.with_raw_response.create(
                model="parity/auto",
                messages=ticket_messages(ticket),  # type: ignore[arg-type]
                metadata={"task": TASK},
            )
        return str(raw.headers["x-parity-request-id"])

    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(one, [t for t, _ in generate(count, seed=2026)]))


def _tokens_per_second(url: str, model: str, prompts: int) -> float:
    """Completion tokens per second of wall time, one request at a time, temperature 0."""
    import openai

    tokens, seconds = 0, 0.0
    with openai.OpenAI(base_url=url, api_key="x", max_retries=0) as client:
        for ticket, _ in generate(prompts, seed=4242):
            started = time.perf_counter()
            reply = client.chat.completions.create(
                model=model,
                messages=ticket_messages(ticket),  # type: ignore[arg-type]
                max_tokens=64,
                temperature=0,
            )
            seconds += time.perf_counter() - started
            tokens += reply.usage.completion_tokens if reply.usage else 0
    return tokens / seconds if seconds else 0.0


def _loop(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    teacher = TicketTeacher()
    teacher.start()
    try:
        (work / "gw0").mkdir(parents=True, exist_ok=True)
        (work / "gw1").mkdir(parents=True, exist_ok=True)
        gateway = start_gateway(work / "gw0", example_config(teacher.url))
        config = work / "gw0" / "parity.yaml"
        try:
            ids = _traffic(gateway.v1, args.requests)
            wait_for_rows(gateway.ledger_url, set(ids), timeout=60)
        finally:
            gateway.stop()
        dataset = _cli("tune", "dataset", "--task", TASK, "--teacher", "teacher",
                       "--out", str(work / "ds"), "--config", str(config))  # fmt: skip
        card = _cli("tune", "train", str(work / "ds"), "--out", str(work / "run"),
                    "--steps", str(args.steps), "--batch-size", str(args.batch_size))  # fmt: skip
        exported = _cli("tune", "export", str(work / "run"), "--register", str(config), "--write")
        tuned = exported["export"]["deployment"]["id"]
        summary = _cli("tune", "evaluate", str(work / "run"), "--config", str(config),
                       "--max-tokens", "96", "--out", str(work / "eval"))  # fmt: skip
        served = start_gateway(work / "gw1", yaml.safe_load(config.read_text()))
        try:
            speed = {
                model: _tokens_per_second(served.v1, model, args.speed_prompts)
                for model in ("local/smollm2", tuned)
            }
        finally:
            served.stop()
    finally:
        teacher.stop()
    return {
        "requests": args.requests,
        "dataset": {k: dataset[k] for k in ("counts", "excluded", "tokens", "content_hash")},
        "training": card["result"] | {"options": card["training"]},
        "export": exported["export"],
        "evaluation": {k: summary[k] for k in ("items", "judge", "scores", "gap_closed", "pairs")},
        "tokens_per_second": speed,
        "tuned_speed_share": speed[tuned] / speed["local/smollm2"]
        if speed["local/smollm2"]
        else None,
    }


def _show(result: dict[str, Any]) -> None:
    ev = result["evaluation"]
    print(f"held-out prompts: {ev['items']}, judge {ev['judge']}")
    for role in ("base", "tuned", "teacher"):
        s = ev["scores"][role]
        print(f"  {role:<8} {s['value']:.3f}  [{s['low']:.3f}, {s['high']:.3f}]")
    gap = ev["gap_closed"]
    if gap["value"] is None:
        print("gap closed: n/a")
    else:
        low, high = gap["low"], gap["high"]
        print(f"gap closed: {gap['value']:.1%}  [{low:.1%}, {high:.1%}]")
    t = result["training"]
    print(f"training: {t['steps']} steps, {t['wall_s']} s wall, peak RSS {t['peak_rss_mb']:.0f} MB")
    speed = result["tokens_per_second"]
    for model, value in speed.items():
        print(f"  {model}: {value:.1f} tokens/s through the gateway")
    print(f"tuned keeps {result['tuned_speed_share']:.1%} of the base's tokens/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--speed-prompts", type=int, default=8)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the work folder here.")
    parser.add_argument(
        "--out", type=Path, default=ROOT / "bench" / "results" / "tune_quality.json"
    )
    args = parser.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        result = _loop(args, args.keep)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            result = _loop(args, Path(tmp))
    _show(result)
    meta = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"meta": meta, "result": result}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
