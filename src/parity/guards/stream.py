"""Checking a streamed answer as it comes: chunks are held until a guard check has passed them.

After 16 tokens (about 4 characters each), then after windows that double up to
``stream_check_tokens`` tokens, the answer so far is sent to the guard in the background while
the upstream keeps streaming; when that check passes, the chunks it covered are released to the
client. At the end the whole answer is checked once more before
the last chunks (and the finish reason) go out. So the client never receives text no check has
passed, and the latency this adds is bounded:

- before the first token: the time to generate 16 tokens (or ``stream_check_tokens`` if fewer)
  and one guard call (the caller awaits ``in_flight`` with the next chunk and ``poll``s, so a
  passed check releases its chunks at once);
- after the upstream's last token: at most two guard calls (the one in flight, then the final one).

A block or a fail-closed error mid-stream raises (the relay sends it in-band); a re-route cannot
happen once the response has started, so mid-stream it blocks.
"""

from __future__ import annotations

import asyncio
from typing import Any

from parity.guards.check import GuardCheck, Outcome, last_user_text

__all__ = ["FIRST_WINDOW_TOKENS", "StreamGuard"]

FIRST_WINDOW_TOKENS = 16
"""The first check comes after this many tokens; each window after it doubles, up to the
route's ``stream_check_tokens``: the first token waits for a short window, a long answer is
checked a few times, not once every 16 tokens."""


class StreamGuard:
    """Holds one stream's chunks until the guard has passed the text they carry."""

    def __init__(self, check: GuardCheck, body: dict[str, Any]):
        self._check = check
        self._prompt = last_user_text(body)
        self._every = check.policy.stream_check_tokens * 4
        self._window = min(FIRST_WINDOW_TOKENS * 4, self._every)  # doubles up to _every
        self._held: list[dict[str, Any]] = []
        self._text: list[str] = []
        self._chars = 0
        self._checked_chars = -1  # nothing checked yet
        self._task: asyncio.Task[Outcome] | None = None
        self._covers = 0  # chunks the in-flight check covers
        self._covers_chars = 0
        self.checks = 0
        self.latency_ms = 0.0
        self.worst: Outcome | None = None  # the most severe outcome so far (flag, fail_open)

    def _launch(self) -> None:
        answer = "".join(self._text)
        self._covers, self._covers_chars = len(self._held), len(answer)
        self._task = asyncio.ensure_future(
            self._check.ask("output", self._prompt, answer, rerouted=True)
        )

    def _settle(self, outcome: Outcome) -> list[dict[str, Any]]:
        """Record a finished check; raise for a block; return the chunks it releases."""
        self.checks += 1
        self.latency_ms += outcome.latency_ms
        if outcome.action != "allow" and (self.worst is None or self.worst.action == "fail_open"):
            self.worst = outcome
        self._check.enforce(outcome)
        released, self._held = self._held[: self._covers], self._held[self._covers :]
        self._checked_chars = self._covers_chars
        self._covers = 0
        return released

    @property
    def in_flight(self) -> asyncio.Task[Outcome] | None:
        """The check running now, if any: await it alongside the next chunk to release sooner."""
        return self._task

    def poll(self) -> list[dict[str, Any]]:
        """The chunks a check that has just finished releases (none while it runs)."""
        if self._task is None or not self._task.done():
            return []
        task, self._task = self._task, None
        return self._settle(task.result())

    async def feed(self, chunk: dict[str, Any], text: str) -> list[dict[str, Any]]:
        """Take one upstream chunk (``text`` its content); return the chunks safe to send now."""
        self._held.append(chunk)
        if text:
            self._text.append(text)
            self._chars += len(text)
        released: list[dict[str, Any]] = []
        if self._task is not None and self._task.done():
            task, self._task = self._task, None
            released = self._settle(task.result())
        if self._task is None and self._chars - max(self._checked_chars, 0) >= self._window:
            self._launch()
            self._window = min(self._window * 2, self._every)
        return released

    async def drain(self) -> list[dict[str, Any]]:
        """Wait for the check in flight; the chunks it releases (send them before ``finish``)."""
        if self._task is None:
            return []
        task, self._task = self._task, None
        return self._settle(await task)

    async def finish(self) -> list[dict[str, Any]]:
        """Check the whole answer; return every chunk still held (or raise for a block).

        Call ``drain`` first: the chunks an earlier check passed must not wait on this one.
        """
        released = await self.drain()
        if self._checked_chars != self._chars or self.checks == 0:
            self._launch()
            final, self._task = self._task, None
            if final is not None:
                released += self._settle(await final)
        rest, self._held = self._held, []
        return released + rest

    def outcome(self) -> Outcome:
        """The stream's outcome for the ledger: the most severe verdict, all checks counted."""
        base = self.worst or Outcome("output", "safe", "allow")
        return Outcome(
            "output",
            base.verdict,
            base.action,
            base.categories,
            base.target,
            self.latency_ms,
            self.checks,
            base.error,
        )

    async def aclose(self) -> None:
        """Cancel a check still in flight (the client left or the upstream failed)."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait({self._task})  # ends it without raising its cancellation here
            self._task = None
