"""Figures the dashboard draws from ledger rows: time buckets, route mix, latency, errors, privacy.

Every function here is pure: rows in, plain data out, so each figure can be tested without a
server. Rows are read by the pages with ``Ledger.rows`` (newest first, capped), and the page says
when the cap cut the window short.
"""

from __future__ import annotations

import math
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from parity.catalog.deployment import Price
from parity.store.base import Ledger, LedgerRow, RowFilter

__all__ = [
    "WINDOWS",
    "Bucket",
    "ClassFlow",
    "LatencyRow",
    "Scan",
    "Share",
    "bucket_size",
    "buckets",
    "class_flows",
    "error_counts",
    "latency_table",
    "matches_text",
    "percentile",
    "route_mix",
    "scan",
    "window_since",
]

WINDOWS = {"1h": 3600.0, "24h": 86400.0, "7d": 7 * 86400.0, "30d": 30 * 86400.0, "all": None}
"""The time windows a page may show, by the label used in its query string."""

MINUTES = 300.0
HOUR = 3600.0
DAY = 86400.0


def window_since(label: str, now: float | None = None) -> tuple[str, float | None]:
    """(the label actually used, the start timestamp or None for all time)."""
    if label not in WINDOWS:
        label = "7d"
    span = WINDOWS[label]
    return label, None if span is None else (now or time.time()) - span


@dataclass(frozen=True, slots=True)
class Scan:
    """Rows read for a figure, and whether the cap stopped the read before the window's start."""

    rows: list[LedgerRow]
    capped: bool
    cap: int


def scan(ledger: Ledger, where: RowFilter, cap: int) -> Scan:
    """The newest ``cap`` rows matching ``where`` (``where.limit`` is replaced by ``cap``)."""
    where.limit = cap + 1
    rows = ledger.rows(where)
    return Scan(rows[:cap], len(rows) > cap, cap)


def percentile(values: Sequence[float], q: float) -> float | None:
    """The q-th percentile (0-100) with linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(slots=True)
class Bucket:
    """One stretch of time: requests, errors, spend, and what all-frontier would have cost."""

    start: float
    size: float
    requests: int = 0
    errors: int = 0
    on_prem: int = 0
    vendor: int = 0
    spent_usd: float = 0.0
    all_frontier_usd: float = 0.0

    @property
    def label(self) -> str:
        moment = datetime.fromtimestamp(self.start, UTC)
        if self.size >= DAY:
            return moment.strftime("%Y-%m-%d")
        return moment.strftime("%Y-%m-%d %H:%M")


def bucket_size(rows: Sequence[LedgerRow]) -> float:
    """Five minutes when the rows span up to two hours, an hour up to two days, else a day.

    The span of the data, not of the window, decides, so a week's window holding one busy
    afternoon still draws a curve rather than a single bar.
    """
    if not rows:
        return DAY
    span = max(r.ts for r in rows) - min(r.ts for r in rows)
    return MINUTES if span <= 2 * HOUR else HOUR if span <= 2 * DAY else DAY


def buckets(rows: Iterable[LedgerRow], size: float, frontier: Price | None) -> list[Bucket]:
    """Rows grouped by ``size``-second buckets (UTC-aligned), oldest first, gaps filled."""
    found: dict[float, Bucket] = {}
    for row in rows:
        start = math.floor(row.ts / size) * size
        bucket = found.setdefault(start, Bucket(start, size))
        bucket.requests += 1
        bucket.errors += row.status >= 400
        bucket.on_prem += row.residency == "on_prem"
        bucket.vendor += row.residency == "vendor"
        bucket.spent_usd += row.cost_usd or 0.0
        if frontier is not None:
            bucket.all_frontier_usd += frontier.cost(row.input_tokens or 0, row.output_tokens or 0)
    if not found:
        return []
    first, last = min(found), max(found)
    count = round((last - first) / size) + 1
    return [found.get(first + i * size) or Bucket(first + i * size, size) for i in range(count)]


@dataclass(frozen=True, slots=True)
class Share:
    """A label, how many rows carry it, and their share of all rows."""

    label: str
    count: int
    share: float


def _shares(counter: Counter[str], total: int) -> list[Share]:
    return [Share(k, v, v / total if total else 0.0) for k, v in counter.most_common()]


def route_mix(rows: Sequence[LedgerRow]) -> dict[str, list[Share]]:
    """Shares by answering model, by policy rule, and by where the answer came from."""
    by_model: Counter[str] = Counter()
    by_rule: Counter[str] = Counter()
    by_residency: Counter[str] = Counter()
    for row in rows:
        by_model[row.model_answered or "(none: failed or refused)"] += 1
        rule = (row.trace or {}).get("rule")
        by_rule[str(rule) if rule else f"{row.route or '(direct)'}: no rule"] += 1
        by_residency[row.residency or "(not answered)"] += 1
    total = len(rows)
    return {
        "model": _shares(by_model, total),
        "rule": _shares(by_rule, total),
        "residency": _shares(by_residency, total),
    }


@dataclass(frozen=True, slots=True)
class LatencyRow:
    """Latency percentiles of one answering model (successful requests only)."""

    model: str
    n: int
    p50: float | None
    p95: float | None
    p99: float | None
    ttfb_p50: float | None
    ttfb_p95: float | None


def latency_table(rows: Iterable[LedgerRow]) -> list[LatencyRow]:
    """Per answering model and for all together: total and first-byte latency percentiles."""
    total: dict[str, list[float]] = defaultdict(list)
    first: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        if row.status >= 400 or row.route == "shadow":
            continue
        for name in (row.model_answered or "?", "all models"):
            total[name].append(row.total_ms)
            if row.ttfb_ms is not None:
                first[name].append(row.ttfb_ms)
    order = sorted(k for k in total if k != "all models") + (["all models"] if total else [])
    return [
        LatencyRow(
            model=name,
            n=len(total[name]),
            p50=percentile(total[name], 50),
            p95=percentile(total[name], 95),
            p99=percentile(total[name], 99),
            ttfb_p50=percentile(first[name], 50),
            ttfb_p95=percentile(first[name], 95),
        )
        for name in order
    ]


def error_counts(rows: Iterable[LedgerRow]) -> list[tuple[str, int, int]]:
    """(error type, HTTP status, count) for failed requests, most frequent first."""
    counter: Counter[tuple[str, int]] = Counter(
        (row.error_type or "error", row.status) for row in rows if row.status >= 400
    )
    return [(kind, status, n) for (kind, status), n in counter.most_common()]


@dataclass(slots=True)
class ClassFlow:
    """Where the requests carrying one data class went."""

    data_class: str
    requests: int = 0
    on_prem_only: int = 0
    reached_vendor: int = 0
    refused: int = 0
    models: Counter[str] = field(default_factory=Counter)


def class_flows(rows: Iterable[LedgerRow]) -> list[ClassFlow]:
    """Per data class: requests, how many stayed on premises, reached a vendor or were refused."""
    flows: dict[str, ClassFlow] = {}
    for row in rows:
        for data_class in row.data_classes:
            flow = flows.setdefault(data_class, ClassFlow(data_class))
            flow.requests += 1
            if "vendor" in row.sent_to:
                flow.reached_vendor += 1
            elif row.sent_to:
                flow.on_prem_only += 1
            else:
                flow.refused += 1
            flow.models[row.model_answered or "(not answered)"] += 1
    return sorted(flows.values(), key=lambda f: (-f.reached_vendor, -f.requests, f.data_class))


def _body_text(row: LedgerRow) -> str:
    return row.request_body.decode("utf-8", "replace") if row.request_body else ""


def matches_text(row: LedgerRow, needle: str) -> bool:
    """True when ``needle`` (lower-case) appears in the row's ids, names, reason, error or texts."""
    fields: Mapping[str, str | None] = {
        "id": row.request_id,
        "asked": row.model_requested,
        "answered": row.model_answered,
        "key": row.key_id,
        "route": row.route,
        "reason": row.route_reason,
        "error": row.error_message,
        "type": row.error_type,
        "body": _body_text(row),
        "response": row.response_text,
    }
    return any(needle in value.lower() for value in fields.values() if value)
