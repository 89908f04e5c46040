"""Both ledgers store, filter and sum rows the same way."""

from __future__ import annotations

import time

from parity.store.base import Feedback, Ledger, LedgerRow, RowFilter
from parity.store.factory import open_ledger
from parity.store.sql import migrations

DAY = 86400.0
T0 = 1_763_000_000.0  # 2025-11-13 02:13:20 UTC


def make_row(n: int, **kw: object) -> LedgerRow:
    base: dict[str, object] = {
        "request_id": f"req_{n}",
        "ts": T0 + n,
        "model_requested": "parity/auto",
        "model_answered": "local/smollm2",
        "status": 200,
        "total_ms": 12.5,
        "input_tokens": 10,
        "output_tokens": 5,
        "cost_usd": 0.0,
    }
    base.update(kw)
    return LedgerRow(**base)  # type: ignore[arg-type]


def test_round_trip_keeps_every_field(ledger: Ledger) -> None:
    row = make_row(
        1,
        key_id="team-a",
        tenant="acme",
        route="parity/auto",
        route_reason="default",
        stream=True,
        ttfb_ms=3.25,
        usage_estimated=True,
        residency="on_prem",
        attempts=2,
        data_classes=["pii.email"],
        sent_to=["on_prem"],
        trace={"rule": "privacy", "attempts": [{"model": "x", "ok": False}]},
        request_body=b'{"model":"parity/auto","messages":[]}',
        response_text="hello",
        error_type=None,
    )
    ledger.record([row])
    [back] = ledger.rows(RowFilter())
    assert back == row


def test_filters(ledger: Ledger) -> None:
    ledger.record(
        [
            make_row(1),
            make_row(2, model_answered="gpt-4o", key_id="k2", cost_usd=0.5),
            make_row(3, status=502, error_type="UpstreamServerError", route="parity/auto"),
        ]
    )
    assert [r.request_id for r in ledger.rows(RowFilter())] == ["req_3", "req_2", "req_1"]
    assert [r.request_id for r in ledger.rows(RowFilter(model="gpt-4o"))] == ["req_2"]
    assert [r.request_id for r in ledger.rows(RowFilter(key_id="k2"))] == ["req_2"]
    assert [r.request_id for r in ledger.rows(RowFilter(errors_only=True))] == ["req_3"]
    assert [r.request_id for r in ledger.rows(RowFilter(since=T0 + 2))] == ["req_3", "req_2"]
    assert [r.request_id for r in ledger.rows(RowFilter(route="parity/auto"))] == ["req_3"]
    assert len(ledger.rows(RowFilter(limit=1))) == 1
    assert ledger.count() == 3


def test_usage_groups_by_day_and_model(ledger: Ledger) -> None:
    ledger.record(
        [
            make_row(1, cost_usd=0.25),
            make_row(2, cost_usd=0.5),
            make_row(3, ts=T0 + DAY, model_answered="gpt-4o", cost_usd=1.0, status=429),
        ]
    )
    usage = ledger.usage()
    assert [(u.day, u.model, u.requests, u.errors) for u in usage] == [
        ("2025-11-13", "local/smollm2", 2, 0),
        ("2025-11-14", "gpt-4o", 1, 1),
    ]
    assert usage[0].input_tokens == 20 and usage[0].output_tokens == 10
    assert abs(usage[0].cost_usd - 0.75) < 1e-9


def test_spend_per_key_and_tenant(ledger: Ledger) -> None:
    ledger.record(
        [
            make_row(1, key_id="a", tenant="t1", cost_usd=1.0),
            make_row(2, key_id="b", tenant="t1", cost_usd=2.0),
            make_row(3, key_id="a", tenant="t2", cost_usd=4.0, ts=T0 - DAY),
        ]
    )
    assert ledger.spend(since=T0) == 3.0
    assert ledger.spend(since=T0 - 2 * DAY, key_id="a") == 5.0
    assert ledger.spend(since=T0, tenant="t1") == 3.0
    assert ledger.spend(since=time.time() + DAY) == 0.0


def test_migrations_are_numbered_and_applied_once(ledger: Ledger) -> None:
    names = [name for name, _ in migrations()]
    assert names == sorted(names) and names[0].startswith("001_")
    assert ledger.migrate() == []  # the fixture already applied them


def test_reopening_a_sqlite_ledger_keeps_rows(tmp_path: object) -> None:
    from pathlib import Path

    assert isinstance(tmp_path, Path)
    url = f"sqlite:///{tmp_path / 'x' / 'ledger.db'}"
    first = open_ledger(url)
    first.record([make_row(1)])
    first.close()
    second = open_ledger(url)
    assert second.count() == 1
    second.close()


def test_sensitive_rows_sent_to_a_vendor(ledger: Ledger) -> None:
    ledger.record(
        [
            make_row(1, data_classes=["pii.email"], sent_to=["on_prem"]),
            make_row(2, data_classes=["pii.email"], sent_to=["on_prem", "vendor"]),
            make_row(3, data_classes=[], sent_to=["vendor"]),
        ]
    )
    found = ledger.rows(RowFilter(sensitive_to_vendor=True))
    assert [r.request_id for r in found] == ["req_2"]


def test_task_names_filter_rows_and_usage(ledger: Ledger) -> None:
    ledger.record(
        [
            make_row(1, task="ticket-extract", cost_usd=0.5),
            make_row(2, task="summarise", cost_usd=0.25),
            make_row(3, cost_usd=1.0),
        ]
    )
    assert [r.request_id for r in ledger.rows(RowFilter(task="ticket-extract"))] == ["req_1"]
    assert ledger.rows(RowFilter(task="ticket-extract"))[0].task == "ticket-extract"
    assert ledger.rows(RowFilter(task="nope")) == []
    usage = ledger.usage(task="summarise")
    assert [(u.requests, u.cost_usd) for u in usage] == [(1, 0.25)]
    assert sum(u.requests for u in ledger.usage()) == 3


def test_feedback_is_stored_and_read_back_newest_first(ledger: Ledger) -> None:
    ledger.record([make_row(1), make_row(2)])
    first = Feedback("fb_1", "req_1", T0 + 10, "user", good=False, correction="42")
    second = Feedback("fb_2", "req_1", T0 + 20, "reviewer:ann", score=0.75, label="fine")
    ledger.add_feedback(first)
    ledger.add_feedback(second)
    found = ledger.feedback(["req_1", "req_2", "req_missing"])
    assert list(found) == ["req_1"]
    assert found["req_1"] == [second, first]
    assert found["req_1"][1].good is False and found["req_1"][0].good is None
    assert ledger.feedback([]) == {}
    row = ledger.row("req_2")
    assert row is not None and row.request_id == "req_2"
    assert ledger.row("req_missing") is None
