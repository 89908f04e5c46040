"""The cache key: the tenant, the deployment and the request normalised to canonical JSON.

Fields that do not change the answer (who the end user is, metadata, storage and tracing hints)
are left out, so two requests that differ only there share an entry; everything else, sampling
parameters and ``stream`` included, is part of the key.
"""

from __future__ import annotations

import hashlib
from typing import Any

import orjson

__all__ = ["NON_SEMANTIC", "cache_key", "normalised"]

NON_SEMANTIC = frozenset(
    {
        "user",
        "metadata",
        "store",
        "safety_identifier",
        "prompt_cache_key",
        "prompt_cache_retention",
        "service_tier",
    }
)
"""Chat-completions fields left out of the key: they never change the answer's content."""


def normalised(body: dict[str, Any]) -> bytes:
    """The body minus non-semantic fields, as canonical JSON (sorted keys, no spaces)."""
    kept = {k: v for k, v in body.items() if k not in NON_SEMANTIC and v is not None}
    return orjson.dumps(kept, option=orjson.OPT_SORT_KEYS)


def cache_key(tenant: str, deployment: str, body: dict[str, Any]) -> str:
    """The hex SHA-256 of the tenant, the deployment and the normalised body."""
    digest = hashlib.sha256()
    for part in (tenant.encode(), deployment.encode()):
        digest.update(len(part).to_bytes(4, "big"))  # length-prefixed: no two splits collide
        digest.update(part)
    digest.update(normalised(body))
    return digest.hexdigest()
