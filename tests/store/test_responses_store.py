"""Stored Responses API state (migration 005) on SQLite and PostgreSQL alike."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from parity.store.base import Ledger
from parity.store.responses import ResponseStore, StoredResponse


@pytest.fixture
def store(ledger: Ledger) -> Iterator[ResponseStore]:
    responses = ResponseStore(ledger.url)
    responses._db.run("DELETE FROM responses")
    yield responses
    responses.close()


def _stored(rid: str, key: str | None) -> StoredResponse:
    return StoredResponse(
        id=rid,
        created_at=1.5,
        key_id=key,
        tenant="t",
        model="m",
        previous_id=None,
        response={"id": rid, "object": "response", "output": []},
        conversation=[{"role": "user", "content": "é ✓"}],
    )


def test_put_get_delete_round_trip(store: ResponseStore) -> None:
    store.put(_stored("resp_a", "alice"))
    got = store.get("resp_a", "alice")
    assert got is not None and got.conversation == [{"role": "user", "content": "é ✓"}]
    assert got.response["id"] == "resp_a" and got.created_at == 1.5
    assert store.delete("resp_a", "alice") is True
    assert store.get("resp_a", "alice") is None
    assert store.delete("resp_a", "alice") is False


def test_another_key_neither_reads_nor_deletes(store: ResponseStore) -> None:
    store.put(_stored("resp_b", "alice"))
    assert store.get("resp_b", "mallory") is None
    assert store.get("resp_b", None) is None
    assert store.delete("resp_b", "mallory") is False
    assert store.count() == 1


def test_anonymous_callers_share_anonymous_responses(store: ResponseStore) -> None:
    store.put(_stored("resp_c", None))
    assert store.get("resp_c", None) is not None
    assert store.get("resp_c", "alice") is None
