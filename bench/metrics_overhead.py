"""Per-request cost of observability: metrics observation, access-log lines, and a scrape.

    .venv/bin/python bench/metrics_overhead.py [--n 100000] [--out FILE.json]

Measures, in-process and without any network, what ``ChatRoute._record`` adds per request
when /metrics is on (``GatewayMetrics.observe`` on a finished row: plain dicts of numbers), the
same updates on prometheus_client's Counter and Histogram children (cached; what the gateway did
before issue 13: each update takes a lock), formatting one JSON access-log line, and rendering
/metrics once.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import statistics
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from parity.config import Settings
from parity.gateway.logs import JsonFormatter
from parity.gateway.metrics import GatewayMetrics
from parity.gateway.runtime import Runtime
from parity.routing.executor import Attempt, Trace
from parity.store.base import LedgerRow

ROOT = Path(__file__).resolve().parents[1]


def _settings() -> Settings:
    models = [
        {
            "id": f"model-{i}",
            "provider": "openai",
            "base_url": "http://127.0.0.1:9/v1",
            "residency": "on_prem",
        }
        for i in range(20)
    ]
    return Settings.model_validate({"models": models})


def _row(model: str, status: int = 200) -> LedgerRow:
    return LedgerRow(
        "req_1",
        time.time(),
        model_requested=model,
        status=status,
        total_ms=412.0,
        model_answered=model,
        route="parity/auto",
        ttfb_ms=120.0,
        input_tokens=250,
        output_tokens=90,
        cost_usd=0.0012,
    )


class _Children:
    """The same updates on prometheus_client's own children, resolved once (before issue 13)."""

    def __init__(self, model: str, route: str):
        registry = CollectorRegistry()
        labels = ("model", "route")
        self.requests = Counter("r", "", (*labels, "status"), registry=registry).labels(
            model, route, "200"
        )
        self.latency = Histogram("l", "", labels, registry=registry).labels(model, route)
        self.ttfb = Histogram("t", "", labels, registry=registry).labels(model, route)
        tokens = Counter("k", "", ("model", "kind"), registry=registry)
        self.input, self.output = tokens.labels(model, "input"), tokens.labels(model, "output")
        self.cost = Counter("c", "", ("model",), registry=registry).labels(model)
        self.attempt = Counter("a", "", ("model", "outcome"), registry=registry).labels(model, "ok")

    def observe(self, row: LedgerRow) -> None:
        self.requests.inc()
        self.latency.observe(row.total_ms / 1000)
        self.ttfb.observe((row.ttfb_ms or 0) / 1000)
        self.input.inc(row.input_tokens or 0)
        self.output.inc(row.output_tokens or 0)
        self.cost.inc(row.cost_usd or 0)
        self.attempt.inc()


def _time(call: Callable[[], Any], n: int, repeats: int = 5) -> dict[str, float]:
    """Microseconds per call: the median and best of ``repeats`` runs of ``n`` calls."""
    runs = []
    for _ in range(repeats):
        began = time.perf_counter()
        for _ in range(n):
            call()
        runs.append((time.perf_counter() - began) / n * 1e6)
    return {"median_us": round(statistics.median(runs), 2), "best_us": round(min(runs), 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--out", default=str(ROOT / "bench/results/metrics_overhead.json"))
    args = parser.parse_args()
    runtime = Runtime(_settings(), {})
    metrics = GatewayMetrics(runtime)
    ok, ok_trace = _row("model-1"), Trace(attempts=[Attempt("model-1", "ok", 400.0, 200)])
    fallback_trace = Trace(
        attempts=[
            Attempt("model-2", "UpstreamServerError", 30.0, 500),
            Attempt("model-1", "ok", 380.0, 200),
        ]
    )
    for i in range(20):  # a realistic number of live series for the scrape
        for route in ("parity/auto", "parity/cheap", "none"):
            row = _row(f"model-{i}")
            row.route = route
            metrics.observe(row, ok_trace)
    children = _Children("model-1", "parity/auto")
    formatter = JsonFormatter()
    fields = {"method": "POST", "path": "/v1/chat/completions", "status": 200, "model": "m"}
    record = logging.LogRecord("parity.access", 20, __file__, 1, "POST /v1/chat 200", (), None)
    record.fields = fields
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(formatter)
    n = args.n
    results = {
        "observe, success": _time(lambda: metrics.observe(ok, ok_trace), n),
        "observe, fallback (2 attempts)": _time(lambda: metrics.observe(ok, fallback_trace), n),
        "prometheus_client children, success": _time(lambda: children.observe(ok), n),
        "JSON access-log line (format + write)": _time(lambda: handler.emit(record), n),
        "render /metrics (60 series x 11 metrics)": _time(metrics.render, max(1, n // 1000)),
    }
    print(f"Observability cost per call, {n} calls x 5 runs (microseconds)")
    print(f"{'case':<44} {'median':>10} {'best':>10}")
    for name, r in results.items():
        print(f"{name:<44} {r['median_us']:>10} {r['best_us']:>10}")
    Path(args.out).write_text(json.dumps({"n": n, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
