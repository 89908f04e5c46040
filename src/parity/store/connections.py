"""One database connection per thread, opened on first use, all closed together.

The ledgers and the budget book run their statements from worker threads (the ledger writer,
``asyncio.to_thread``); neither sqlite3 nor psycopg connections may be used by two threads at
once, so each thread keeps its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

__all__ = ["PerThread"]


class _Closable(Protocol):
    def close(self) -> None: ...


C = TypeVar("C", bound=_Closable)


class PerThread(Generic[C]):
    """This thread's connection from ``connect``; a new one when ``usable`` says it is not."""

    def __init__(self, connect: Callable[[], C], usable: Callable[[C], bool] | None = None):
        self._connect = connect
        self._usable = usable
        self._local = threading.local()
        self._all: list[C] = []
        self._lock = threading.Lock()

    def get(self) -> C:
        """The calling thread's connection, opened now if it has none (or a broken one)."""
        conn: C | None = getattr(self._local, "conn", None)
        if conn is None or (self._usable is not None and not self._usable(conn)):
            conn = self._connect()
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def drop(self) -> None:
        """Forget the calling thread's connection (it failed): the next get() opens another."""
        self._local.conn = None

    def close(self) -> None:
        """Close every thread's connection."""
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
