"""Stored Responses API state in the ledger database (migration 005): one row per response.

A response belongs to the key that created it: another key neither reads, continues nor
deletes it (when auth is off, every caller is the same anonymous caller). Blocking: call it
from a thread, never from the event loop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from parity.store.database import Database

__all__ = ["ResponseStore", "StoredResponse"]

_COLUMNS = "id, created_at, key_id, tenant, model, previous_id, response, conversation"


@dataclass(slots=True, frozen=True)
class StoredResponse:
    """One stored response: the object GET answers and the conversation it ends."""

    id: str
    created_at: float
    key_id: str | None
    tenant: str | None
    model: str
    previous_id: str | None
    response: dict[str, Any]
    conversation: list[dict[str, Any]]


def _owner(key_id: str | None) -> tuple[str, tuple[Any, ...]]:
    if key_id is None:
        return "key_id IS NULL", ()
    return "key_id = ?", (key_id,)


class ResponseStore:
    """Put, get and delete stored responses."""

    def __init__(self, url: str):
        self.url = url
        self._db = Database(url)

    def put(self, stored: StoredResponse) -> None:
        """Insert one response (ids are random, so they do not collide)."""
        self._db.run(
            f"INSERT INTO responses ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                stored.id,
                stored.created_at,
                stored.key_id,
                stored.tenant,
                stored.model,
                stored.previous_id,
                orjson.dumps(stored.response).decode(),
                orjson.dumps(stored.conversation).decode(),
            ),
        )

    def get(self, response_id: str, key_id: str | None) -> StoredResponse | None:
        """The response with this id created by ``key_id``; None when there is none."""
        where, params = _owner(key_id)
        rows = self._db.run(
            f"SELECT {_COLUMNS} FROM responses WHERE id = ? AND {where}", (response_id, *params)
        )
        if not rows:
            return None
        rid, created, key, tenant, model, previous, response, conversation = rows[0]
        return StoredResponse(
            id=rid,
            created_at=float(created),
            key_id=key,
            tenant=tenant,
            model=model,
            previous_id=previous,
            response=orjson.loads(response),
            conversation=orjson.loads(conversation),
        )

    def delete(self, response_id: str, key_id: str | None) -> bool:
        """Delete the response; False when ``key_id`` has no response with this id."""
        where, params = _owner(key_id)
        rows = self._db.run(
            f"DELETE FROM responses WHERE id = ? AND {where} RETURNING id", (response_id, *params)
        )
        return bool(rows)

    def count(self) -> int:
        """How many responses are stored."""
        return int(self._db.run("SELECT COUNT(*) FROM responses")[0][0])

    def close(self) -> None:
        """Release the connection."""
        self._db.close()
