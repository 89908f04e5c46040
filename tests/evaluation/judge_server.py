"""A tiny OpenAI-compatible judge model for tests, speaking the real wire format.

What it answers depends on the model name it is asked for:
``judge-fair`` prefers the answer that contains the reference (ties when both or neither do)
and rates 9 or 2; ``judge-first`` always says the first answer is better (pure position bias);
``judge-garbled`` never gives a verdict tag.
"""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from aiohttp import web

__all__ = ["judge_server"]

CALLS = web.AppKey("calls", list[dict[str, Any]])
_SECTION = re.compile(r"\[(Answer A|Answer B|Answer|Reference answer)\]\n(.*?)\n\[End of", re.S)


def _verdict(model: str, prompt: str) -> str:
    parts = dict(_SECTION.findall(prompt))
    if model == "judge-garbled":
        return "Both answers have merit; I cannot decide."
    if model == "judge-first":
        return "The first answer reads better.\n[[A]]"
    reference = parts.get("Reference answer", "").strip()
    if "Answer" in parts:
        return f"Rating: [[{9 if reference and reference in parts['Answer'] else 2}]]"
    a_ok = bool(reference) and reference in parts.get("Answer A", "")
    b_ok = bool(reference) and reference in parts.get("Answer B", "")
    return "Verdict:\n" + (
        "[[A]]" if a_ok and not b_ok else "[[B]]" if b_ok and not a_ok else "[[TIE]]"
    )


async def _chat(request: web.Request) -> web.Response:
    body: dict[str, Any] = await request.json()
    request.app[CALLS].append(body)
    text = _verdict(str(body["model"]), str(body["messages"][-1]["content"]))
    return web.json_response(
        {
            "id": "judge-1",
            "object": "chat.completion",
            "created": 0,
            "model": body["model"],
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 50, "completion_tokens": 5, "total_tokens": 55},
        }
    )


@contextmanager
def judge_server() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Run the judge on 127.0.0.1; yields its /v1 base URL and the list of requests received."""
    loop = asyncio.new_event_loop()
    app = web.Application()
    app[CALLS] = []
    app.router.add_post("/v1/chat/completions", _chat)
    runner = web.AppRunner(app)
    loop.run_until_complete(runner.setup())
    site = web.TCPSite(runner, "127.0.0.1", 0)
    loop.run_until_complete(site.start())
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}/v1", app[CALLS]
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
