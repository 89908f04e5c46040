"""Settings of the response cache (docs/cache.md) and of OpenTelemetry tracing.

The cache is off until a route or a key opts in: ``cache.routes`` names route aliases or
deployment ids a client asks for, ``cache.keys`` names API key ids. Either one opting in caches
the request; either one saying ``enabled: false`` keeps it out.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["CacheScope", "CacheSettings", "SemanticCacheSettings", "TracingSettings"]


class CacheScope(BaseModel):
    """One route's or one key's part in the cache."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        True, description="Cache this route's (or key's) answers; false keeps it out."
    )
    ttl_s: float | None = Field(
        None, gt=0, description="How long an answer is served again (None: cache.ttl_s)."
    )


class SemanticCacheSettings(BaseModel):
    """Answers for requests that are only similar: off by default (docs/cache.md, its risks)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        False,
        description="On an exact miss, serve the answer of a stored request whose last user "
        "message embeds within threshold and whose every other field is identical (needs "
        "parity[embed]; vectors live in this process only).",
    )
    threshold: float = Field(
        0.9, gt=0, le=1, description="Cosine similarity of the last user messages at least."
    )
    max_entries: int = Field(
        10000, gt=0, description="Vectors kept in memory at most; the oldest go first."
    )


class CacheSettings(BaseModel):
    """The exact-match response cache: opt-in per route and per key, never across tenants."""

    model_config = ConfigDict(extra="forbid")

    backend: Literal["database", "redis"] = Field(
        "database",
        description="database: the ledger's database (SQLite by default, or PostgreSQL), table "
        "response_cache; redis: a Redis that replicas share (cache.redis_url).",
    )
    redis_url: str | None = Field(
        None, description="redis://HOST:PORT/DB for backend redis (None: limits.redis_url)."
    )
    redis_prefix: str = Field("parity:cache:", description="Prefix of every cache key in Redis.")
    ttl_s: float = Field(
        3600.0, gt=0, description="How long an answer is served again, unless a scope says."
    )
    timeout_s: float = Field(
        0.25,
        gt=0,
        description="Longest wait for the backend on one request; past it the request is a "
        "miss, answered upstream, and the outage is logged and counted.",
    )
    retry_s: float = Field(
        5.0, gt=0, description="After the backend fails, skip it for this long, then retry."
    )
    max_entry_bytes: int = Field(
        1024 * 1024, gt=0, description="Answers larger than this are not stored."
    )
    store_sensitive: bool = Field(
        False,
        description="Also cache requests the privacy signal found sensitive data in (their "
        "answers then sit in the cache, within the tenant). Off: they always go upstream.",
    )
    routes: dict[str, CacheScope] = Field(
        default_factory=dict,
        description="Route aliases or deployment ids (as clients name them) whose answers are "
        "cached.",
    )
    keys: dict[str, CacheScope] = Field(
        default_factory=dict,
        description="API key ids (config or stored keys) whose answers are cached.",
    )
    semantic: SemanticCacheSettings = Field(
        default_factory=SemanticCacheSettings,
        description="The semantic cache on local embeddings (off).",
    )

    @property
    def enabled(self) -> bool:
        """Whether any scope opts in."""
        return any(s.enabled for s in (*self.routes.values(), *self.keys.values()))


class TracingSettings(BaseModel):
    """OpenTelemetry spans with the GenAI semantic conventions (docs/observability.md)."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(
        False, description="Emit spans (needs parity[otel]); off: no tracing code runs."
    )
    endpoint: str = Field(
        "http://127.0.0.1:4318/v1/traces",
        description="The OTLP/HTTP traces endpoint of a collector.",
    )
    service_name: str = Field("parity", description="The service.name resource attribute.")
    timeout_s: float = Field(
        2.0, gt=0, description="Longest one export may take (exports run off the request path)."
    )
    max_queue: int = Field(
        2048,
        gt=0,
        description="Spans waiting for export at most; past it new spans are dropped and counted.",
    )
    propagate: bool = Field(
        True, description="Send the W3C traceparent header to upstream deployments."
    )
