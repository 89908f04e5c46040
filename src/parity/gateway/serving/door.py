"""What a front door gives the serving core: a wire in (a chat body) and a wire out.

A door parses its own request format into the chat-completions body every provider speaks
(``Door.open`` -> ``Turn``) and turns the answer back into its own format: a whole body
(``Turn.answer``) or a stream of frames (``Turn.frames``). Routing, limits, masking, execution,
restoring and accounting are the core's, never a door's.
"""

from __future__ import annotations

from typing import Any, Protocol

from parity.catalog.deployment import Deployment
from parity.errors import ParityError
from parity.gateway.serving.exchange import Exchange
from parity.providers.base import Completion, Usage

__all__ = ["Door", "Frames", "Turn"]


class Frames(Protocol):
    """One streamed answer in a door's wire; each method returns the bytes to send."""

    def start(self) -> bytes:
        """What goes out before the first chunk (may be empty)."""
        ...

    def chunk(self, chunk: dict[str, Any]) -> bytes:
        """One chat.completion.chunk (already restored) in the door's wire (may be empty)."""
        ...

    def fail(self, error: ParityError) -> bytes:
        """The in-band error: the status line is gone."""
        ...

    async def end(self, usage: Usage) -> bytes:
        """The last bytes; ``usage`` is the upstream's, or ``estimated`` when it gave none."""
        ...


class Turn(Protocol):
    """One parsed request of a door."""

    body: dict[str, Any]  # the chat-completions body to plan and send
    model: str
    stream: bool

    async def answer(self, ex: Exchange, deployment: Deployment, completion: Completion) -> bytes:
        """The whole (non-streamed) answer in the door's wire."""
        ...

    def frames(self, ex: Exchange, deployment: Deployment) -> Frames:
        """The framing of a streamed answer."""
        ...


class Door(Protocol):
    """A front door: its name in the ledger's trace, its error shape, its parser."""

    name: str
    conform: bool  # whether the plan's deployments check its fields (routing/conformance.py)

    def render_error(self, error: ParityError) -> bytes:
        """An error body as this door's clients parse it."""
        ...

    async def open(self, raw: bytes, ex: Exchange) -> Turn:
        """Parse the request body (``ex.caller`` is known); raise ParityError when it is bad."""
        ...
