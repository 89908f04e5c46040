"""How each fault looks on the wire, written straight to the client's connection.

Faults that strike before the answer (timeout, error, rate limit, an early reset) are handled by
the server; this module spoils an answer while it is being sent: a reset or a clean cut part-way,
a slow drip, JSON that does not parse, or event-stream framing that runs two events together.
A mid-stream fault always strikes before the event that finishes the answer, so it is never
harmless.
"""

from __future__ import annotations

import asyncio
import socket
import struct

import orjson
from aiohttp import web

from parity.chaos.faults import Fault, FaultPicker
from parity.chaos.source import Answer

__all__ = ["deliver_body", "deliver_events", "openai_error", "reset_connection"]

_STRIKE_RANGE = {
    Fault.RESET: (0, 4),  # 0: after the headers, before any event
    Fault.CUT_STREAM: (1, 4),  # at least one event first: a cut, not an empty stream
    Fault.MALFORMED_JSON: (0, 3),
    Fault.MALFORMED_SSE: (0, 3),
}


def openai_error(
    status: int, message: str, kind: str, *, retry_after: str | None = None
) -> web.Response:
    """An error in OpenAI's body shape."""
    body = {"error": {"message": message, "type": kind, "param": None, "code": None}}
    headers = {"retry-after": retry_after} if retry_after is not None else None
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def reset_connection(request: web.BaseRequest) -> None:
    """Close the connection with a TCP RST (SO_LINGER 0), not an orderly FIN."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def _drip(response: web.StreamResponse, data: bytes, picker: FaultPicker) -> None:
    step, pause = picker.config.drip_bytes, picker.config.drip_interval_s
    for start in range(0, len(data), step):
        await response.write(data[start : start + step])
        await asyncio.sleep(pause)


def _spoil_json(data: bytes, picker: FaultPicker) -> bytes:
    """Half the time the JSON cut short; else valid JSON whose choices are not objects."""
    if picker.coin():
        try:
            shaped = orjson.loads(data)
        except orjson.JSONDecodeError:
            shaped = None
        if isinstance(shaped, dict):
            return orjson.dumps({**shaped, "choices": [None]})
    if len(data) < 2:
        return b"{"
    return data[: picker.position(1, len(data) - 1)]  # an object missing its end never parses


async def deliver_body(
    request: web.BaseRequest, answer: Answer, fault: Fault | None, picker: FaultPicker
) -> web.StreamResponse:
    """Send a non-streamed answer, spoiled by ``fault``."""
    body, kind = answer.body, answer.content_type
    if fault is Fault.MALFORMED_JSON:
        body = _spoil_json(body, picker)
    elif fault is Fault.MALFORMED_SSE:  # the upstream ignored stream: false
        body, kind = b"data: " + body + b"\n\ndata: [DONE]\n\n", "text/event-stream"
    if fault not in (Fault.RESET, Fault.CUT_STREAM, Fault.DRIP):
        return web.Response(body=body, status=answer.status, content_type=kind)
    response = web.StreamResponse(status=answer.status)
    response.content_type = kind
    response.content_length = len(body)
    await response.prepare(request)
    if fault is Fault.DRIP:
        await _drip(response, body, picker)
        return response
    await response.write(body[: picker.position(1, max(1, len(body) - 1))])
    if fault is Fault.RESET:
        reset_connection(request)
    elif request.transport is not None:
        request.transport.close()  # an orderly close, short of the promised content-length
    return response


def _finishes(block: bytes) -> bool:
    """Whether an SSE event ends the answer: [DONE] or a choice with a finish_reason."""
    data = block.partition(b"data:")[2].strip()
    if data == b"[DONE]":
        return True
    try:
        chunk = orjson.loads(data)
    except orjson.JSONDecodeError:
        return False
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    return any(isinstance(c, dict) and c.get("finish_reason") for c in choices or ())


def _spoiled(block: bytes, fault: Fault, picker: FaultPicker) -> bytes:
    """The event as a malformed-JSON or malformed-SSE fault sends it."""
    if fault is Fault.MALFORMED_JSON:
        payload = block.partition(b"data:")[2].strip()
        return b"data: " + _spoil_json(payload, picker) + b"\n\n"
    return block.rstrip(b"\r\n") + b"\n"  # no blank line: it runs into the next event


async def deliver_events(
    request: web.BaseRequest,
    answer: Answer,
    fault: Fault | None,
    picker: FaultPicker,
    strike: int | None = None,
) -> web.StreamResponse:
    """Relay a streamed answer event by event, spoiled by ``fault`` at event ``strike``."""
    assert answer.events is not None
    response = web.StreamResponse(status=answer.status)
    response.content_type = "text/event-stream"
    response.headers["cache-control"] = "no-cache"
    await response.prepare(request)
    if strike is None:
        strike = picker.position(*_STRIKE_RANGE[fault]) if fault in _STRIKE_RANGE else -1
    index = 0
    async for block in answer.events:
        sent = block
        if fault in _STRIKE_RANGE and (index >= strike or _finishes(block)):
            if fault is Fault.RESET:
                await asyncio.sleep(0.05)  # let the events already sent be read, then reset
                reset_connection(request)
                return response
            if fault is Fault.CUT_STREAM:
                if index > 0:
                    await response.write_eof()  # a clean end: no finish_reason, no [DONE]
                    return response
            else:
                sent, fault = _spoiled(block, fault, picker), None
        if fault is Fault.DRIP:
            await _drip(response, sent, picker)
        else:
            await response.write(sent)
        index += 1
    return response
