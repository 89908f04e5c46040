"""A local safety guard that speaks Llama Guard's chat format and OpenAI's /v1/moderations exactly.

Run it with ``python -m tests.fakes.guard_server --port 0``; it prints ``READY <port>``.
``POST /v1/chat/completions`` answers as Llama Guard 3 does (``safe``, or ``unsafe`` + newline +
codes) about the conversation's last message; ``POST /v1/moderations`` answers OpenAI's
moderation object (every category, ``flagged``, ``category_scores``,
``category_applied_input_types``). Markers in the text under examination choose the answer:

- ``[[unsafe:S1,S10]]`` (or moderation names: ``[[unsafe:violence,hate]]``): unsafe, those codes;
- ``[[garbled]]``: an answer that is not in the format (a sentence; a moderation object whose
  ``flagged`` is not a boolean);
- ``[[guard-error:500]]``: that HTTP status with OpenAI's error body;
- ``[[guard-slow:2.5]]``: answer ``safe`` after that many seconds.

Anything else is safe. ``GET /_received`` lists the request bodies since ``POST /_reset``.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
import uuid
from typing import Any

from aiohttp import web

from tests.fakes.openai_routes import openai_error
from tests.fakes.vendor_server import serve_app

__all__ = ["MODERATION_CATEGORIES", "build_app", "main"]

MODERATION_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
_UNSAFE = re.compile(r"\[\[unsafe:([^\]]+)\]\]")
_ERROR = re.compile(r"\[\[guard-error:(\d{3})\]\]")
_SLOW = re.compile(r"\[\[guard-slow:([\d.]+)\]\]")
_RECEIVED = web.AppKey("received", list)


async def _marked(text: str) -> web.Response | list[str] | str | None:
    """An error response, the unsafe codes, 'garbled', or None (safe) for a text."""
    if (slow := _SLOW.search(text)) is not None:
        await asyncio.sleep(float(slow.group(1)))
    if (error := _ERROR.search(text)) is not None:
        return openai_error(int(error.group(1)))
    if "[[garbled]]" in text:
        return "garbled"
    if (unsafe := _UNSAFE.search(text)) is not None:
        return [c.strip() for c in unsafe.group(1).split(",")]
    return None


async def _body(request: web.Request) -> dict[str, Any] | web.Response:
    try:
        body = await request.json()
    except ValueError:
        return openai_error(400, "We could not parse the JSON body of your request.")
    if not isinstance(body, dict):
        return openai_error(400, "The body must be a JSON object.")
    request.app[_RECEIVED].append({"path": request.path, "body": body})
    return body


async def llama_guard(request: web.Request) -> web.Response:
    """Llama Guard 3 behind an OpenAI-compatible chat API: judges the last message."""
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return openai_error(400, "'messages' is a required property", param="messages")
    last = messages[-1] if isinstance(messages[-1], dict) else {}
    content = last.get("content")
    if not isinstance(content, str):  # Llama Guard's chat template takes text turns only
        return openai_error(400, "message content must be a string", param="messages")
    marked = await _marked(content)
    if isinstance(marked, web.Response):
        return marked
    if marked == "garbled":
        content = "I'm not sure; it depends on the context."
    elif isinstance(marked, list):
        content = "unsafe\n" + ",".join(marked)
    else:
        content = "safe"
    return web.json_response(
        {
            "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", "llama-guard3:1b"),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": content},
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 200, "completion_tokens": 3, "total_tokens": 203},
        }
    )


async def moderations(request: web.Request) -> web.Response:
    """OpenAI's moderation object for each input string."""
    body = await _body(request)
    if isinstance(body, web.Response):
        return body
    given = body.get("input")
    if isinstance(given, str):
        inputs = [given]
    elif isinstance(given, list) and all(isinstance(i, str) for i in given):
        inputs = list(given)
    else:
        return openai_error(400, "'input' is a required property", param="input")
    results: list[dict[str, Any]] = []
    for text in inputs:
        marked = await _marked(text)
        if isinstance(marked, web.Response):
            return marked
        if marked == "garbled":
            results.append({"flagged": "maybe", "categories": {}})
            continue
        hits = set(marked) if isinstance(marked, list) else set()
        results.append(
            {
                "flagged": bool(hits),
                "categories": {c: c in hits for c in MODERATION_CATEGORIES},
                "category_scores": {
                    c: 0.97 if c in hits else 0.00012 for c in MODERATION_CATEGORIES
                },
                "category_applied_input_types": {c: ["text"] for c in MODERATION_CATEGORIES},
            }
        )
    return web.json_response(
        {
            "id": f"modr-{uuid.uuid4().hex[:24]}",
            "model": body.get("model", "omni-moderation-latest"),
            "results": results,
        }
    )


async def _received(request: web.Request) -> web.Response:
    return web.json_response(request.app[_RECEIVED])


async def _reset(request: web.Request) -> web.Response:
    request.app[_RECEIVED].clear()
    return web.json_response({"reset": True})


def build_app() -> web.Application:
    """The fake guard: both formats plus the /_ control endpoints."""
    app = web.Application()
    app[_RECEIVED] = []
    app.router.add_post("/v1/chat/completions", llama_guard)
    app.router.add_post("/v1/moderations", moderations)
    app.router.add_get("/_received", _received)
    app.router.add_post("/_reset", _reset)
    return app


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description="Fake safety guard (Llama Guard + moderations)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    args = parser.parse_args(argv)
    asyncio.run(serve_app(build_app(), args.host, args.port))
    return 0


if __name__ == "__main__":
    sys.exit(main())
