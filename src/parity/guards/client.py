"""Asking a guard deployment: Llama Guard's chat answer or OpenAI's moderation object, strictly.

Each client returns a ``Verdict`` or raises a typed upstream error: a failed call, a timeout, and
an answer that is not exactly in the format (garbled) are all errors, never ``safe``.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from parity.catalog.deployment import Deployment
from parity.config.guards import LLAMA_GUARD_3_CATEGORIES, GuardSpec
from parity.errors import UpstreamProtocolError, UpstreamTimeout
from parity.providers.http import PoolHolder, fetch, loads_object
from parity.providers.openai_compat import OpenAIProvider

__all__ = [
    "GuardClient",
    "LlamaGuardClient",
    "ModerationClient",
    "Verdict",
    "build_client",
    "parse_llama_guard",
    "parse_moderation",
]

_CODE = re.compile(r"S\d{1,2}")


@dataclass(frozen=True, slots=True)
class Verdict:
    """A guard's answer: safe, or unsafe with the categories it named."""

    safe: bool
    categories: tuple[str, ...] = ()
    scores: dict[str, float] = field(default_factory=dict)
    latency_ms: float = 0.0


class GuardClient(Protocol):
    """One guard deployment, asked about a request (``answer`` None) or about its answer."""

    name: str
    deployment: Deployment

    async def classify(self, prompt: str, answer: str | None) -> Verdict:
        """The verdict on ``prompt`` (input) or on ``answer`` given ``prompt`` (output)."""
        ...

    async def close(self) -> None:
        """Close pooled connections."""
        ...


def _garbled(deployment: str, what: str, raw: Any) -> UpstreamProtocolError:
    shown = raw if isinstance(raw, str) else repr(raw)
    return UpstreamProtocolError(
        f"guard '{deployment}' answered garbage ({what}): {shown[:200]!r}", deployment=deployment
    )


def parse_llama_guard(text: str, known: Mapping[str, str], deployment: str = "guard") -> Verdict:
    """Read Llama Guard's answer: ``safe``, or ``unsafe`` + newline + comma-separated codes.

    Only surrounding whitespace is forgiven. Anything else (another word, ``unsafe`` with no
    codes, a code the taxonomy does not have) raises ``UpstreamProtocolError``.
    """
    lines = text.strip().split("\n")
    head = lines[0].strip()
    if head == "safe" and len(lines) == 1:
        return Verdict(True)
    if head != "unsafe" or len(lines) != 2:
        raise _garbled(deployment, "expected 'safe' or 'unsafe' and a line of codes", text)
    codes = [c.strip() for c in lines[1].split(",")]
    if not codes or any(not _CODE.fullmatch(c) or c not in known for c in codes):
        raise _garbled(deployment, f"expected category codes from {', '.join(known)}", text)
    return Verdict(False, tuple(dict.fromkeys(codes)))


def parse_moderation(data: Any, deployment: str = "guard") -> Verdict:
    """Read OpenAI's moderation object: ``results[]`` with ``flagged``, ``categories``, scores.

    ``flagged`` must agree with the categories (true exactly when one is true); a missing or
    mistyped field raises ``UpstreamProtocolError``. Several results are merged.
    """
    if not isinstance(data, dict) or not isinstance(data.get("results"), list):
        raise _garbled(deployment, "no results list", data)
    if not data["results"] or not isinstance(data.get("id"), str):
        raise _garbled(deployment, "empty results or no id", data)
    found: list[str] = []
    scores: dict[str, float] = {}
    for result in data["results"]:
        if not isinstance(result, dict):
            raise _garbled(deployment, "a result is not an object", result)
        flagged, categories = result.get("flagged"), result.get("categories")
        raw_scores = result.get("category_scores")
        if not isinstance(flagged, bool) or not isinstance(categories, dict):
            raise _garbled(deployment, "flagged or categories missing", result)
        if not isinstance(raw_scores, dict):
            raise _garbled(deployment, "category_scores missing", result)
        # illicit and illicit/violent may be null (the OpenAPI document allows it)
        if any(not isinstance(v, bool) and v is not None for v in categories.values()):
            raise _garbled(deployment, "a category is not a boolean", categories)
        if any(isinstance(v, bool) or not isinstance(v, int | float) for v in raw_scores.values()):
            raise _garbled(deployment, "a category score is not a number", raw_scores)
        hits = [name for name, value in categories.items() if value is True]
        if flagged != bool(hits):
            raise _garbled(deployment, "flagged disagrees with the categories", result)
        found += hits
        for name, value in raw_scores.items():
            scores[name] = max(scores.get(name, 0.0), float(value))
    return Verdict(not found, tuple(dict.fromkeys(found)), scores)


async def _timed(coro: Any, spec: GuardSpec, deployment: str) -> Any:
    try:
        async with asyncio.timeout(spec.timeout_s):
            return await coro
    except TimeoutError as exc:
        raise UpstreamTimeout(
            f"guard '{deployment}' did not answer within {spec.timeout_s}s", deployment=deployment
        ) from exc


class LlamaGuardClient:
    """Llama Guard 3 behind an OpenAI-compatible chat API (Ollama, vLLM, llama.cpp)."""

    def __init__(self, name: str, spec: GuardSpec, deployment: Deployment, env: Mapping[str, str]):
        self.name = name
        self.spec = spec
        self.deployment = deployment
        self._known = LLAMA_GUARD_3_CATEGORIES
        self._provider = OpenAIProvider(deployment, env)

    async def classify(self, prompt: str, answer: str | None) -> Verdict:
        """Input: one user turn. Output: the user turn and the assistant's answer."""
        messages = [{"role": "user", "content": prompt}]
        if answer is not None:
            messages.append({"role": "assistant", "content": answer})
        body = {"messages": messages, "temperature": 0, "max_tokens": 20}
        started = time.perf_counter()
        completion = await _timed(self._provider.chat(body), self.spec, self.deployment.id)
        verdict = parse_llama_guard(completion.text, self._known, self.deployment.id)
        elapsed = (time.perf_counter() - started) * 1000
        return Verdict(verdict.safe, verdict.categories, verdict.scores, elapsed)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._provider.close()


class ModerationClient:
    """OpenAI's ``POST /moderations`` (or anything that speaks it)."""

    def __init__(self, name: str, spec: GuardSpec, deployment: Deployment, env: Mapping[str, str]):
        if not deployment.base_url:
            raise ValueError(f"deployment '{deployment.id}' has no base_url")
        self.name = name
        self.spec = spec
        self.deployment = deployment
        self._url = deployment.base_url.rstrip("/") + "/moderations"
        headers = {"content-type": "application/json", "accept": "application/json"}
        key = env.get(deployment.api_key_env) if deployment.api_key_env else None
        if key:
            headers["authorization"] = f"Bearer {key}"
        self._holder = PoolHolder(deployment, headers)

    async def classify(self, prompt: str, answer: str | None) -> Verdict:
        """Moderation reads one text: the prompt (input) or the answer (output)."""
        payload = orjson.dumps(
            {"model": self.deployment.wire_model, "input": prompt if answer is None else answer}
        )
        started = time.perf_counter()
        raw = await _timed(
            fetch(self._holder, self.deployment.id, self._url, payload),
            self.spec,
            self.deployment.id,
        )
        verdict = parse_moderation(loads_object(raw, self.deployment.id), self.deployment.id)
        elapsed = (time.perf_counter() - started) * 1000
        return Verdict(verdict.safe, verdict.categories, verdict.scores, elapsed)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._holder.close()


def build_client(
    name: str, spec: GuardSpec, deployment: Deployment, env: Mapping[str, str]
) -> GuardClient:
    """The client for a guard's format."""
    if spec.format == "llama_guard":
        return LlamaGuardClient(name, spec, deployment, env)
    return ModerationClient(name, spec, deployment, env)
