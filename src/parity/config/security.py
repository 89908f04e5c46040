"""Settings for who may call the gateway and how much: keys, admin access, budgets, rate limits."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from parity.config.routing import Budget

__all__ = ["AuthSettings", "LimitSettings"]


class AuthSettings(BaseModel):
    """API keys stored in the ledger database, and the admin key."""

    model_config = ConfigDict(extra="forbid")

    admin_key_env: str = Field(
        "PARITY_ADMIN_KEY",
        description="Environment variable holding the admin key, which guards /admin and /ui.",
    )
    keys_refresh_s: float = Field(
        5.0,
        gt=0,
        description="How often keys are re-read from the database, so that a key revoked on one "
        "replica is refused by all within this many seconds.",
    )
    stored_keys: bool = Field(
        True,
        description="Accept the keys made with 'parity keys create' (the api_keys table of the "
        "ledger database). Once any is stored, every request needs a key.",
    )


class LimitSettings(BaseModel):
    """Shared budgets and rate limits: spend in the ledger database, rates in Redis."""

    model_config = ConfigDict(extra="forbid")

    redis_url: str | None = Field(
        None,
        description="redis://HOST:PORT/DB shared by replicas for rate limits; "
        "None: counted in this process only.",
    )
    redis_prefix: str = Field(
        "parity:", description="Prefix of every Redis key Parity writes (one per key and limit)."
    )
    redis_timeout_s: float = Field(
        0.25, gt=0, description="Longest wait for Redis on one request before it counts as down."
    )
    redis_retry_s: float = Field(
        5.0,
        gt=0,
        description="After Redis fails, count rates in this process for this long, then retry.",
    )
    on_store_error: Literal["allow", "refuse"] = Field(
        "allow",
        description="When Redis or the budget tables cannot be reached: 'allow' admits the request "
        "(rates fall back to this process's counters, budgets go unchecked; a warning is logged), "
        "'refuse' answers 503.",
    )
    tenants: dict[str, Budget] = Field(
        default_factory=dict,
        description="Hard spend limits per tenant, enforced before any upstream call (429 when "
        "reached). A key's own limits are its daily_usd/monthly_usd; the budgets: section only "
        "feeds the routing signal.",
    )
    hold_ttl_s: float = Field(
        600.0,
        gt=0,
        description="A budget hold not settled after this long (its replica crashed) stops "
        "counting; keep it above the longest request.",
    )
    output_reserve_tokens: int = Field(
        1024,
        gt=0,
        description="Completion tokens a request without max_tokens is assumed to use when its "
        "worst-case cost is held (budgets) and its tokens are counted (tpm) before the answer.",
    )
