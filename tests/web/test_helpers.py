"""The dashboard's pure helpers: figures from ledger rows, safe paths and redirects, form input."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest

from parity.catalog.deployment import Price
from parity.evaluation.judges.human import Comparison
from parity.evaluation.records import Item
from parity.evaluation.rundir import Manifest, RunDir
from parity.store.base import LedgerRow
from parity.web import ledger_view as view
from parity.web.forms import local_path
from parity.web.pages.costs import read_inputs
from parity.web.pages.judge import comparison_token
from parity.web.runs import list_runs, resolve_run


def _row(ts: float, **fields: object) -> LedgerRow:
    values: dict[str, object] = {"request_id": f"r{ts}", "model_requested": "m", "status": 200}
    return LedgerRow(ts=ts, total_ms=1.0, **(values | fields))  # type: ignore[arg-type]


def test_percentile_matches_numpy_linear_interpolation() -> None:
    rng = random.Random(3)
    for size in (1, 2, 7, 100):
        values = [rng.uniform(0, 500) for _ in range(size)]
        for q in (0, 50, 95, 99, 100):
            assert view.percentile(values, q) == pytest.approx(float(np.percentile(values, q)))
    assert view.percentile([], 50) is None


def test_buckets_fill_gaps_and_price_all_frontier_per_row() -> None:
    price = Price(input=2.5, output=10.0)
    rows = [
        _row(7200.0, input_tokens=100, output_tokens=10, cost_usd=0.0, residency="on_prem"),
        _row(7300.0, status=502),
        _row(18000.0, input_tokens=1000, output_tokens=0, cost_usd=0.5, residency="vendor"),
    ]
    got = view.buckets(rows, view.HOUR, price)
    assert [b.start for b in got] == [7200.0, 10800.0, 14400.0, 18000.0]
    assert [b.requests for b in got] == [2, 0, 0, 1]
    assert got[0].errors == 1 and got[0].on_prem == 1 and got[3].vendor == 1
    assert got[0].all_frontier_usd == pytest.approx(price.cost(100, 10))
    assert got[3].spent_usd == 0.5
    assert view.bucket_size(rows) == view.HOUR
    assert view.bucket_size(rows[:2]) == view.MINUTES
    assert view.bucket_size([*rows, _row(3 * view.DAY)]) == view.DAY


def test_class_flows_tell_on_premises_vendor_and_refused_apart() -> None:
    rows = [
        _row(1, data_classes=["pii.email"], sent_to=["on_prem"], model_answered="local"),
        _row(2, data_classes=["pii.email", "pii.card"], sent_to=["on_prem", "vendor"]),
        _row(3, data_classes=["pii.card"], sent_to=[], status=403),
        _row(4, data_classes=[], sent_to=["vendor"]),
    ]
    flows = {f.data_class: f for f in view.class_flows(rows)}
    assert set(flows) == {"pii.email", "pii.card"}
    email, card = flows["pii.email"], flows["pii.card"]
    assert (email.requests, email.on_prem_only, email.reached_vendor) == (2, 1, 1)
    assert (card.requests, card.reached_vendor, card.refused) == (2, 1, 1)


def test_text_search_reads_bodies_answers_and_reasons() -> None:
    row = _row(1, request_body=b'{"messages": ["Find ME"]}', response_text="the answer")
    assert view.matches_text(row, "find me") and view.matches_text(row, "answer")
    assert not view.matches_text(row, "absent")


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/ui/requests?errors=1", True),
        ("/ui", True),
        ("//evil.example/ui/", False),
        ("https://evil.example/ui/", False),
        ("/uix", False),
        ("/ui/\r\nSet-Cookie: x", False),
        ("", False),
    ],
)
def test_sign_in_redirects_only_inside_the_dashboard(target: str, safe: bool) -> None:
    assert (local_path(target, "/ui", "/ui/") == target) is safe


def _run(path: Path) -> RunDir:
    run = RunDir(path)
    run.write_manifest(Manifest(models=[]))
    return run


def test_run_names_cannot_leave_the_runs_folder(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    _run(root / "team" / "first")
    _run(tmp_path / "outside")
    (root / "link").symlink_to(tmp_path / "outside")
    assert resolve_run(root, "team/first") is not None
    for name in ("../outside", "/etc", "team/../../outside", "link", "team", ""):
        assert resolve_run(root, name) is None, name
    assert [s.name for s in list_runs(root)] == ["team/first"]


def test_cost_form_reports_bad_fields_and_keeps_defaults() -> None:
    inputs, share, errors = read_inputs({"tokens_m": "abc", "pue": "0.5", "frontier_share": "0.2"})
    assert set(errors) == {"tokens_m", "pue"}
    assert inputs.tokens_per_day == 10e6 and inputs.pue == 1.0 and share == 0.2
    inputs, share, errors = read_inputs({"tokens_m": "250", "gpus_per_replica": "4"})
    assert errors == {} and inputs.tokens_per_day == 250e6 and inputs.gpus_per_replica == 4
    assert share is None


def test_comparison_token_hides_the_sides_and_depends_on_the_judge() -> None:
    item = Item(id="q1", messages=[{"role": "user", "content": "hi"}])
    one, other = Comparison(item, ("x", "y")), Comparison(item, ("y", "x"))
    assert comparison_token("human:a", one) == comparison_token("human:a", other)
    assert comparison_token("human:a", one) != comparison_token("human:b", one)
