"""``gaptest run --via URL``: the models of a running gateway, asked through its own endpoint.

Each model is asked by its id at the gateway's ``/v1/chat/completions``, so the gateway's
providers, its embedded llama.cpp server, its keys, budgets and ledger all apply, and no second
server is started. Residency, prices and context windows come from the gateway's
``/v1/models``, so sensitive prompts are still kept from ``vendor`` models and costs are
counted. The key, when the gateway has keys, is read from an environment variable and sent as
``Authorization: Bearer``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import aiohttp
import orjson

from parity.catalog.deployment import Deployment, Price, ProviderKind, Residency
from parity.errors import AuthError, InputError, Unavailable, UnknownModel

__all__ = ["DEFAULT_KEY_ENV", "gateway_base", "gateway_deployments"]

DEFAULT_KEY_ENV = "PARITY_API_KEY"


def gateway_base(url: str) -> str:
    """The gateway's OpenAI base URL (``…/v1``) from what a user types."""
    base = url.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise InputError(
            f"--via needs an http(s) URL such as http://127.0.0.1:8000/v1, got {url!r}"
        )
    return base if base.endswith("/v1") else base + "/v1"


async def _model_list(base: str, key: str | None, timeout_s: float) -> list[dict[str, Any]]:
    headers = {"accept": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {key}"
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(f"{base}/models", headers=headers) as response,
        ):
            raw = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise Unavailable(
            f"no gateway answers at {base} ({type(exc).__name__}: {exc}); "
            "start one with 'parity serve' or leave out --via"
        ) from exc
    if status == 401:
        raise AuthError(f"the gateway at {base} wants a key: put one in ${DEFAULT_KEY_ENV}")
    if status != 200:
        raise Unavailable(f"the gateway at {base} answered {status} to GET /v1/models")
    try:
        data = orjson.loads(raw).get("data")
    except (orjson.JSONDecodeError, AttributeError) as exc:
        raise Unavailable(f"{base}/models is not a model list: {raw[:200]!r}") from exc
    if not isinstance(data, list):
        raise Unavailable(f"{base}/models is not a model list: {raw[:200]!r}")
    return [d for d in data if isinstance(d, dict) and isinstance(d.get("id"), str)]


def _deployment(entry: dict[str, Any], base: str, key_env: str, timeout_s: float) -> Deployment:
    listed = entry.get("price")
    price: dict[str, Any] = listed if isinstance(listed, dict) else {}
    residency = entry.get("residency")
    return Deployment(
        id=entry["id"],
        provider=ProviderKind.OPENAI,
        base_url=base,
        api_key_env=key_env,
        upstream_model=entry["id"],
        # An alias (parity/auto) carries no residency: treat it as leaving the premises.
        residency=Residency(residency) if residency in ("on_prem", "vendor") else Residency.VENDOR,
        context_window=int(entry.get("context_window") or 8192),
        price=Price(input=float(price.get("input") or 0), output=float(price.get("output") or 0)),
        timeout_s=timeout_s,
    )


async def gateway_deployments(
    url: str,
    env: Mapping[str, str],
    model_ids: Iterable[str],
    *,
    key_env: str = DEFAULT_KEY_ENV,
    timeout_s: float = 300.0,
) -> dict[str, Deployment]:
    """A deployment per model id, each reached through the gateway at ``url``."""
    base = gateway_base(url)
    listed = {d["id"]: d for d in await _model_list(base, env.get(key_env), 10.0)}
    out: dict[str, Deployment] = {}
    for model_id in dict.fromkeys(model_ids):
        entry = listed.get(model_id)
        if entry is None:
            raise UnknownModel(model_id, sorted(listed))
        out[model_id] = _deployment(entry, base, key_env, timeout_s)
    return out
