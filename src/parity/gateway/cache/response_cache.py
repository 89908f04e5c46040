"""The exact-match response cache: who may be served from it, and the backend behind it.

A request is cached when its route (the alias or deployment id it names) or its key opts in
(``cache.routes``, ``cache.keys``) and neither opts out. Its key is the tenant, the plan's first
deployment and the normalised body (``keys.cache_key``), so an answer never crosses tenants.
A hit is served only when the deployment that gave the answer is still in the request's plan,
which the router has already narrowed to what the caller's key may use. Requests the privacy
signal found sensitive data in are never stored unless ``cache.store_sensitive`` says so.
A backend that fails or is slow makes the request a miss: it is answered upstream, the outage
is logged (once per ``retry_s``) and counted, and the backend is skipped for ``retry_s``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson
from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import Collector

from parity.config.cache import CacheSettings
from parity.gateway.cache.backends import CacheBackend, DatabaseBackend, RedisBackend
from parity.gateway.cache.keys import cache_key
from parity.gateway.cache.semantic import SemanticIndex, Sentence, Vector, sentence
from parity.providers.base import Usage, completion_text
from parity.routing.plan import Caller, RoutePlan

__all__ = ["CacheEntry", "CacheTicket", "ResponseCache"]

log = logging.getLogger("parity.gateway")


@dataclass(slots=True)
class CacheEntry:
    """One cached answer: a whole completion body, or a stream's chunks."""

    tenant: str
    deployment: str
    usage: Usage | None
    body: dict[str, Any] | None = None
    chunks: list[dict[str, Any]] | None = None
    upstream_model: str | None = None
    created: float = 0.0

    def text(self) -> str:
        """The answer's text (its first choice's), for the ledger."""
        if self.body is not None:
            return completion_text(self.body)
        parts = []
        for chunk in self.chunks or ():
            choices = chunk.get("choices")
            delta = (choices[0].get("delta") or {}) if choices else {}
            if isinstance(delta.get("content"), str):
                parts.append(delta["content"])
        return "".join(parts)

    def dumps(self) -> bytes:
        """The entry as stored."""
        usage = self.usage
        return orjson.dumps(
            {
                "tenant": self.tenant,
                "deployment": self.deployment,
                "usage": None
                if usage is None
                else [usage.input_tokens, usage.output_tokens, usage.estimated],
                "body": self.body,
                "chunks": self.chunks,
                "upstream_model": self.upstream_model,
                "created": self.created,
            }
        )

    @classmethod
    def loads(cls, raw: bytes) -> CacheEntry:
        """An entry read back (raises ValueError or KeyError on a damaged one)."""
        data = orjson.loads(raw)
        usage = data["usage"]
        return cls(
            tenant=str(data["tenant"]),
            deployment=str(data["deployment"]),
            usage=None if usage is None else Usage(int(usage[0]), int(usage[1]), bool(usage[2])),
            body=data.get("body"),
            chunks=data.get("chunks"),
            upstream_model=data.get("upstream_model"),
            created=float(data.get("created") or 0.0),
        )


@dataclass(slots=True)
class CacheTicket:
    """The cache's part in one request: its key, its time to live, what it may store."""

    key: str
    tenant: str
    ttl_s: float
    stream: bool
    read: bool = True  # look the request up (a client's no-cache turns this off)
    write: bool = True  # store the answer (a client's no-store turns this off)
    chunks: list[dict[str, Any]] = field(default_factory=list)  # a stream's, as they pass
    sentence: Sentence | None = None  # its place in the semantic index, when that is on
    vector: Vector | None = None  # its last user message's embedding, once computed
    similarity: float | None = None  # a semantic hit: the cosine to the stored request


def _no(headers: Mapping[bytes, bytes], directive: bytes) -> bool:
    value = headers.get(b"cache-control")
    return value is not None and directive in value.lower()


class ResponseCache:
    """One per gateway: the policy, the backend and the counts /metrics shows."""

    def __init__(
        self, settings: CacheSettings, backend: CacheBackend, semantic: SemanticIndex | None = None
    ):
        self.settings = settings
        self.backend = backend
        self.semantic = semantic
        self.results: Counter[str] = Counter()  # hit, miss, bypass
        self.errors: Counter[str] = Counter()  # by operation: get, put
        self.stored = 0
        self.saved_usd = 0.0
        self._down_until = 0.0

    @classmethod
    def build(
        cls, settings: CacheSettings, ledger_url: str, redis_url: str | None
    ) -> ResponseCache:
        """The cache on the configured backend (after the ledger is open and migrated)."""
        backend: CacheBackend
        if settings.backend == "redis":
            url = settings.redis_url or redis_url
            assert url is not None  # the settings check this
            backend = RedisBackend(url, settings.redis_prefix, settings.timeout_s)
        else:
            backend = DatabaseBackend(ledger_url)
        semantic = None
        if settings.semantic.enabled:  # loads the local model now, not on the first request
            from parity.training.embeddings import MiniLMEmbedder

            semantic = SemanticIndex(settings.semantic, MiniLMEmbedder())
        return cls(settings, backend, semantic)

    def ticket(
        self,
        caller: Caller,
        model: str,
        plan: RoutePlan,
        body: dict[str, Any],
        headers: Mapping[bytes, bytes],
    ) -> tuple[CacheTicket | None, str | None]:
        """The request's ticket and its x-parity-cache word so far (None: the cache is not on)."""
        ttl = self._ttl(caller.key_id, model)
        if ttl is None or (_no(headers, b"no-store") and _no(headers, b"no-cache")):
            return None, None
        if plan.data_classes and not self.settings.store_sensitive:
            self.results["bypass"] += 1
            return None, "bypass"
        tenant = caller.tenant or ""
        ticket = CacheTicket(
            cache_key(tenant, plan.primary, body),
            tenant,
            ttl,
            bool(body.get("stream")),
            read=not _no(headers, b"no-cache"),
            write=not _no(headers, b"no-store"),
        )
        if self.semantic is not None:
            ticket.sentence = sentence(tenant, plan.primary, body)
        return ticket, "miss"

    def _ttl(self, key_id: str | None, model: str) -> float | None:
        scopes = [s for s in (self.settings.routes.get(model), self._key(key_id)) if s is not None]
        if not scopes or not all(s.enabled for s in scopes):
            return None
        ttls = [s.ttl_s for s in scopes if s.ttl_s is not None]
        return min(ttls) if ttls else self.settings.ttl_s

    def _key(self, key_id: str | None) -> Any:
        return self.settings.keys.get(key_id) if key_id is not None else None

    async def lookup(
        self, ticket: CacheTicket, plan: RoutePlan, caller: Caller
    ) -> CacheEntry | None:
        """The cached answer this caller may be served, or None (a miss)."""
        if not ticket.read or self._down():
            self.results["miss"] += 1
            return None
        try:
            entry = await self._get(ticket.key)
            if entry is None and ticket.sentence is not None:
                entry = await self._similar(ticket, ticket.sentence)
        except Exception as exc:  # any failure of the backend is a miss, never a failed request
            self._failed("get", exc)
            entry = None
        if entry is not None and not _servable(entry, ticket, plan, caller):
            entry, ticket.similarity = None, None
        result = "miss" if entry is None else "semantic_hit" if ticket.similarity else "hit"
        self.results[result] += 1
        return entry

    async def _get(self, key: str) -> CacheEntry | None:
        raw = await asyncio.wait_for(self.backend.get(key), self.settings.timeout_s)
        return CacheEntry.loads(raw) if raw is not None else None

    async def _similar(self, ticket: CacheTicket, found: Sentence) -> CacheEntry | None:
        """The stored answer of the nearest similar request (semantic cache), if close enough."""
        assert self.semantic is not None
        try:
            ticket.vector = vector = await asyncio.to_thread(self.semantic.embed, found.text)
        except Exception as exc:  # the model failed: an exact-only cache for this request
            self.errors["embed"] += 1
            log.warning("semantic cache: embedding failed: %s", type(exc).__name__)
            return None
        match = self.semantic.nearest(found.group, vector)
        if match is None or match.key == ticket.key:
            return None
        entry = await self._get(match.key)
        if entry is not None:
            ticket.similarity = match.score
        return entry

    def keep(self, ticket: CacheTicket, entry: CacheEntry) -> Coroutine[Any, Any, None] | None:
        """The write of an answer, serialised now, to run in the background; None: not kept."""
        if not ticket.write or self._down():
            return None
        raw = entry.dumps()
        if len(raw) > self.settings.max_entry_bytes:
            return None
        return self._put(ticket, entry.deployment, raw)

    async def _put(self, ticket: CacheTicket, deployment: str, raw: bytes) -> None:
        try:
            await asyncio.wait_for(
                self.backend.put(ticket.key, ticket.tenant, deployment, raw, ticket.ttl_s),
                self.settings.timeout_s * 4,
            )
            self.stored += 1
        except Exception as exc:
            self._failed("put", exc)
            return
        if self.semantic is not None and ticket.sentence is not None and ticket.vector is not None:
            self.semantic.add(ticket.sentence.group, ticket.key, ticket.vector)

    def saved(self, usd: float) -> None:
        """Count what a hit saved."""
        self.saved_usd += usd

    def _down(self) -> bool:
        return self._down_until > time.monotonic()

    def _failed(self, operation: str, exc: BaseException) -> None:
        self.errors[operation] += 1
        if not self._down():
            log.warning(
                "response cache (%s) failed on %s: %s; requests go upstream for %.0fs",
                self.backend.name,
                operation,
                type(exc).__name__,
                self.settings.retry_s,
            )
        self._down_until = time.monotonic() + self.settings.retry_s

    def collector(self) -> Collector:
        """The cache's counters for /metrics, read at scrape time."""
        return _CacheCollector(self)

    async def close(self) -> None:
        """Close the backend's connections."""
        try:
            await self.backend.close()
        except Exception as exc:  # closing a backend that is down must not stop a shutdown
            log.warning("closing the response cache failed: %s", type(exc).__name__)


def _servable(entry: CacheEntry, ticket: CacheTicket, plan: RoutePlan, caller: Caller) -> bool:
    """Same tenant, and a deployment this request's plan (and so its key) may use."""
    if entry.tenant != ticket.tenant or entry.deployment not in plan.models:
        return False
    if caller.models is not None and entry.deployment not in caller.models:
        return False
    return (entry.chunks is not None) == ticket.stream and (entry.body is None) == ticket.stream


class _CacheCollector(Collector):
    def __init__(self, cache: ResponseCache):
        self._cache = cache

    def describe(self) -> Iterable[Metric]:
        return list(self._families())

    def collect(self) -> Iterable[Metric]:
        results, errors, stored, saved = self._families()
        cache = self._cache
        for result in ("hit", "semantic_hit", "miss", "bypass"):
            results.add_metric([result], cache.results[result])
        for operation in ("get", "put", "embed"):
            errors.add_metric([cache.backend.name, operation], cache.errors[operation])
        stored.add_metric([], cache.stored)
        saved.add_metric([], cache.saved_usd)
        return [results, errors, stored, saved]

    @staticmethod
    def _families() -> tuple[
        CounterMetricFamily, CounterMetricFamily, CounterMetricFamily, CounterMetricFamily
    ]:
        return (
            CounterMetricFamily(
                "parity_cache_requests",
                "Requests the response cache applied to; result is hit, semantic_hit, miss or "
                "bypass (sensitive data, not stored).",
                labels=["result"],
            ),
            CounterMetricFamily(
                "parity_cache_errors",
                "Response cache backend failures and timeouts (each one a miss, never a failed "
                "request), by backend and operation.",
                labels=["backend", "operation"],
            ),
            CounterMetricFamily("parity_cache_stores", "Answers written to the response cache."),
            CounterMetricFamily(
                "parity_cache_saved_usd", "What the cache's hits would have cost upstream."
            ),
        )
