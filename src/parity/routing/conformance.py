"""What a deployment can honour of a chat request: refuse what it cannot, or drop it when told.

A parameter a backend cannot honour used to be dropped without a word: ``n: 3`` came back as one
choice from llama.cpp, ``logprobs: true`` as ``logprobs: null`` from Anthropic, a ``max_tokens``
past the context was cut short by the server. Each is now a 400 ``invalid_request_error`` whose
``param`` names the field, as OpenAI answers a parameter its model does not take, before
anything is sent or held. Values outside OpenAI's published ranges (its OpenAPI document:
``temperature`` 0..2, ``top_p`` 0..1, the penalties -2..2, ``top_logprobs`` 0..20) are refused
the same way on every backend.

``drop_params`` (the gateway's, or a deployment's own; docs/api.md#conformance) turns a refusal
into a drop: the field is left out (``max_tokens`` is lowered to the limit instead), and the
names dropped go to the ``x-parity-dropped-params`` header and the ledger row's trace.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from parity.catalog.cards import ModelCard
from parity.catalog.deployment import DROP_PARAMS, Deployment, Engine, ProviderKind
from parity.config import Settings
from parity.errors import InvalidField

__all__ = [
    "Capabilities",
    "Conformance",
    "Fitted",
    "build_conformance",
    "capabilities_of",
    "output_limit",
]

_RANGES: tuple[tuple[str, float, float], ...] = (
    ("temperature", 0, 2),
    ("top_p", 0, 1),
    ("presence_penalty", -2, 2),
    ("frequency_penalty", -2, 2),
    ("top_logprobs", 0, 20),
)
"""OpenAI's published ranges (CreateChatCompletionRequest in its OpenAPI document)."""

_WATCHED = frozenset(
    {name for name, _, _ in _RANGES}
    | {"n", "logprobs", "logit_bias", "max_tokens", "max_completion_tokens"}
)
"""The fields a check reads: a body with none of them is passed on untouched."""

_LIMITS = ("max_tokens", "max_completion_tokens")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What one deployment's backend honours, and what it drops instead of refusing."""

    choices: bool = True  # n > 1
    logprobs: bool = True
    stream_logprobs: bool = True
    penalties: bool = True  # presence_penalty, frequency_penalty, logit_bias
    output_limit: int | None = None  # the most completion tokens one answer may ask for
    drop: frozenset[str] = frozenset()


@dataclass(slots=True)
class Fitted:
    """The body a deployment gets, and the fields dropped from it (empty: it is the input)."""

    body: dict[str, Any]
    dropped: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class _Problem:
    param: str
    message: str
    code: str
    fix: Any = None  # None: leave the field out; else the value to send instead


def _drop_set(value: bool | Sequence[str] | None) -> frozenset[str] | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return frozenset(DROP_PARAMS) if value else frozenset()
    return frozenset(value)


def capabilities_of(
    deployment: Deployment,
    *,
    drop_params: bool | Sequence[str] = False,
    output_limit: int | None = None,
) -> Capabilities:
    """A deployment's capabilities from its provider and engine (``engine: auto`` resolved).

    llama.cpp's server (llama-cpp-python 0.3.36) ignores ``n``; Anthropic's Messages API has no
    ``n``, no log probabilities and no penalties. OpenAI and other OpenAI-compatible servers
    (vLLM…) take them all.
    """
    drop = _drop_set(deployment.drop_params)
    drop = drop if drop is not None else _drop_set(drop_params) or frozenset()
    if deployment.provider is ProviderKind.ANTHROPIC:
        return Capabilities(
            choices=False,
            logprobs=False,
            stream_logprobs=False,
            penalties=False,
            output_limit=output_limit,
            drop=drop,
        )
    llama = deployment.provider is ProviderKind.LOCAL or deployment.engine is Engine.LLAMA_CPP
    return Capabilities(choices=not llama, output_limit=output_limit, drop=drop)


def _number(value: Any) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _ranges(body: dict[str, Any]) -> Iterable[_Problem]:
    for name, low, high in _RANGES:
        value = body.get(name)
        if not _number(value):
            continue  # absent, null, or a wrong type (refused by the door's type checks)
        if value > high:
            yield _Problem(
                name,
                f"Invalid '{name}': decimal above maximum value. Expected a value <= {high:g}, "
                f"but got {value} instead.",
                "decimal_above_max_value",
            )
        elif value < low:
            yield _Problem(
                name,
                f"Invalid '{name}': decimal below minimum value. Expected a value >= {low:g}, "
                f"but got {value} instead.",
                "decimal_below_min_value",
            )


def _unsupported(param: str, what: str, deployment: str) -> _Problem:
    return _Problem(
        param,
        f"Unsupported parameter: '{param}' ({what}) is not supported by '{deployment}'. "
        "Leave it out, or set drop_params to have Parity drop it (docs/api.md#conformance).",
        "unsupported_parameter",
    )


def _features(body: dict[str, Any], caps: Capabilities, deployment: str) -> Iterable[_Problem]:
    n = body.get("n")
    if not caps.choices and isinstance(n, int) and n > 1:
        yield _unsupported("n", f"{n} choices", deployment)
    asked = body.get("logprobs") is True or body.get("top_logprobs") is not None
    if asked and not caps.logprobs:
        yield _unsupported("logprobs", "log probabilities", deployment)
        if body.get("top_logprobs") is not None:
            yield _unsupported("top_logprobs", "log probabilities", deployment)
    elif asked and body.get("stream") is True and not caps.stream_logprobs:
        yield _unsupported("logprobs", "log probabilities in a stream", deployment)
    if not caps.penalties:
        for name in ("presence_penalty", "frequency_penalty"):
            if _number(body.get(name)) and body[name] != 0:
                yield _unsupported(name, "a sampling penalty", deployment)
        if body.get("logit_bias"):
            yield _unsupported("logit_bias", "token biases", deployment)


def _limits(body: dict[str, Any], caps: Capabilities) -> Iterable[_Problem]:
    limit = caps.output_limit
    if limit is None:
        return
    for name in _LIMITS:
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > limit:
            yield _Problem(
                name,
                f"{name} is too large: {value}. This model supports at most {limit} "
                f"completion tokens, whereas you provided {value}.",
                "integer_above_max_value",
                fix=limit,
            )


_BOUNDS = {name: (low, high) for name, low, high in _RANGES}
_PENALTIES = frozenset({"presence_penalty", "frequency_penalty"})


_NUMERIC = (int, float)


def _in_range(key: str, value: Any, caps: Capabilities) -> bool:
    low, high = _BOUNDS[key]
    if type(value) in _NUMERIC and not low <= value <= high:  # another type: the door's
        return False
    if key == "top_logprobs":
        return caps.logprobs and caps.stream_logprobs
    return caps.penalties or key not in _PENALTIES or value == 0


def _fine(key: str, value: Any, caps: Capabilities) -> bool:
    """Whether one field needs no second look (the fast path of nearly every request)."""
    if value is None or value is False:
        return True
    if key in _BOUNDS:
        return _in_range(key, value, caps)
    if key in _LIMITS:
        limit = caps.output_limit
        return limit is None or type(value) is not int or value <= limit
    if key == "n":
        return caps.choices or type(value) is not int or value <= 1
    if key == "logit_bias":
        return caps.penalties or not value
    return caps.logprobs and caps.stream_logprobs  # logprobs: true


class Conformance:
    """Each deployment's capabilities; ``fit`` checks a body against one of them."""

    def __init__(self, capabilities: Mapping[str, Capabilities]):
        self._caps = dict(capabilities)

    def capabilities(self, name: str) -> Capabilities:
        """What ``name`` honours (everything, for a name it was not built with)."""
        return self._caps.get(name) or Capabilities()

    def fit(self, name: str, body: dict[str, Any]) -> Fitted:
        """The body ``name`` may be sent; InvalidField for the first field it cannot honour."""
        present = _WATCHED.intersection(body)
        if not present:
            return Fitted(body)
        caps = self.capabilities(name)
        for key in present:
            if not _fine(key, body[key], caps):
                break
        else:
            return Fitted(body)
        problems = [*_ranges(body), *_features(body, caps, name), *_limits(body, caps)]
        if not problems:
            return Fitted(body)
        refused = next((p for p in problems if p.param not in caps.drop), None)
        if refused is not None:
            raise InvalidField(refused.message, param=refused.param, code=refused.code)
        fitted = dict(body)
        for problem in problems:
            if problem.fix is None:
                fitted.pop(problem.param, None)
            else:
                fitted[problem.param] = problem.fix
        if "logprobs" in (p.param for p in problems):
            fitted.pop("top_logprobs", None)  # it needs logprobs: true
        return Fitted(fitted, tuple(dict.fromkeys(p.param for p in problems)))


def output_limit(deployment: Deployment, card: ModelCard | None, n_ctx: int | None) -> int | None:
    """The most completion tokens ``deployment`` takes in one answer; None when unknown.

    Its own ``max_output_tokens``, else the smallest of what is known: the card's max output
    (or its window), a ``context_window`` the config sets, and a local server's ``n_ctx``. The
    8192 a deployment gets when its config names no window is a guess, so it bounds nothing.
    """
    if deployment.max_output_tokens is not None:
        return deployment.max_output_tokens
    bounds: list[int] = []
    if "context_window" in deployment.model_fields_set:
        bounds.append(deployment.context_window)
    if card is not None and card.context is not None:
        bounds.append(card.context.max_output or card.context.tokens)
    if n_ctx is not None:
        bounds.append(n_ctx)
    return min(bounds) if bounds else None


def _card(card_id: str | None) -> ModelCard | None:
    if card_id is None:
        return None
    from parity.catalog.registry import default_catalog

    try:
        return default_catalog().card(card_id)
    except LookupError:  # the lifecycle check names an unknown card; here it bounds nothing
        return None


def build_conformance(settings: Settings, deployments: Mapping[str, Deployment]) -> Conformance:
    """Every deployment's capabilities, from the config and the catalog."""
    caps = {}
    for name, deployment in deployments.items():
        local = deployment.provider is ProviderKind.LOCAL
        limit = output_limit(
            deployment, _card(deployment.card), settings.local.n_ctx if local else None
        )
        caps[name] = capabilities_of(
            deployment, drop_params=settings.drop_params, output_limit=limit
        )
    return Conformance(caps)
