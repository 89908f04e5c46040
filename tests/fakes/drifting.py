"""An OpenAI-compatible upstream whose answers degrade after N requests: a silent model update.

It answers "What is A + B?" (any integers) with the sum. After ``degrade_after`` chat requests
it answers wrongly on a share of the prompts (``wrong_share``, spread evenly by the sum), and
its version signals change: ``system_fingerprint`` and the response's ``model`` field, as a
vendor's would after an update. Run in a thread of the test process: a real socket, so a CLI
subprocess or a gateway process can reach it. ``python -m tests.fakes.drifting`` runs it alone.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import threading
import time
from typing import Any

from aiohttp import web

__all__ = ["DriftingUpstream"]

_QUESTION = re.compile(r"(-?\d+)\s*\+\s*(-?\d+)")
BEFORE = ("fp_before_update", "adder-2026-01-01")
AFTER = ("fp_after_update", "adder-2026-06-01")


class DriftingUpstream:
    """Start with ``start()``; ``url`` is the OpenAI base URL (…/v1)."""

    def __init__(self, degrade_after: int | None = None, wrong_share: float = 1.0):
        self.degrade_after = degrade_after
        self.wrong_share = wrong_share
        self.requests = 0
        self._order: dict[str, int] = {}
        self.url = ""
        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    @property
    def degraded(self) -> bool:
        """True once the 'update' happened."""
        return self.degrade_after is not None and self.requests > self.degrade_after

    def _answer(self, text: str) -> str:
        match = _QUESTION.search(text)
        if match is None:
            return "I can only add two numbers."
        total = int(match.group(1)) + int(match.group(2))
        # wrong on every k-th distinct question (k = 1 / wrong_share), counted in first-seen order
        index = self._order.setdefault(match.group(0), len(self._order))
        step = max(1, round(1 / self.wrong_share)) if self.wrong_share > 0 else 0
        if self.degraded and step and index % step == 0:
            return f"The answer is {total + 1}."
        return f"The answer is {total}."

    async def _chat(self, request: web.Request) -> web.Response:
        body: dict[str, Any] = await request.json()
        self.requests += 1
        messages = body.get("messages") or [{}]
        text = str(messages[-1].get("content", ""))
        answer = self._answer(text)
        fingerprint, model = AFTER if self.degraded else BEFORE
        return web.json_response(
            {
                "id": f"chatcmpl-{self.requests}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "system_fingerprint": fingerprint,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": answer},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {
                    "prompt_tokens": len(text) // 4 + 1,
                    "completion_tokens": len(answer) // 4 + 1,
                    "total_tokens": len(text) // 4 + len(answer) // 4 + 2,
                },
            }
        )

    def _serve(self, port: int) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        self._runner = web.AppRunner(app, access_log=None)
        loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", port)
        loop.run_until_complete(site.start())
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{bound}/v1"
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self._runner.cleanup())
        loop.close()

    def start(self, port: int = 0) -> DriftingUpstream:
        """Listen in a daemon thread; returns self once it accepts connections."""
        self._thread = threading.Thread(target=self._serve, args=(port,), daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the drifting upstream did not start")
        return self

    def stop(self) -> None:
        """Stop listening."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
        if self._thread is not None:
            self._thread.join(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--degrade-after", type=int, default=None)
    parser.add_argument("--wrong-share", type=float, default=1.0)
    args = parser.parse_args()
    upstream = DriftingUpstream(args.degrade_after, args.wrong_share).start(args.port)
    print(f"READY {upstream.url}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
