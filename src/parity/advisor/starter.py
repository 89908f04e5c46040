"""A starter parity.yaml from an Advice: the recommended deployments and a matching policy.

Open: everything on premises, sensitive data refused at any vendor. Closed: the cheapest
adequate API by default, structured output checked and escalated, hard prompts to the frontier
API the advice names (its summary in the header says the same).
Hybrid: private data stays local, structured output and hard prompts as for closed, the rest to
the local model with the frontier as fallback.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from parity.advisor.framework import Advice
from parity.advisor.votes import Recommendation
from parity.catalog.cards import ModelCard
from parity.economics.tco import self_host_cost
from parity.economics.usage import self_hosted_price

__all__ = ["starter_config", "starter_yaml", "write_starter_config"]

# How each vendor's API is reached with today's providers.
_VENDOR_WIRE: dict[str, dict[str, str]] = {
    "OpenAI": {
        "provider": "openai",
        "base_url": "https://api.openai.com/v1",
        "api_key_env": "OPENAI_API_KEY",
    },
    "Anthropic": {
        "provider": "anthropic",
        "base_url": "https://api.anthropic.com",
        "api_key_env": "ANTHROPIC_API_KEY",
    },
    "Google": {
        "provider": "openai",
        "base_url": "https://generativelanguage.googleapis.com/v1beta/openai/",
        "api_key_env": "GEMINI_API_KEY",
    },
}
LOCAL_BASE_URL = "http://127.0.0.1:8001/v1"  # vLLM / llama.cpp next to the gateway on :8000


def _closed(card: ModelCard) -> dict[str, Any]:
    wire = _VENDOR_WIRE.get(card.vendor)
    if wire is None or card.price is None:
        raise ValueError(f"no API wiring known for {card.id} ({card.vendor})")
    return {
        "id": card.id,
        **wire,
        "residency": "vendor",
        "context_window": card.context_tokens or 8192,
        "price": {"input": card.price.input, "output": card.price.output},
        "card": card.id,
    }


def _local(advice: Advice, card: ModelCard) -> dict[str, Any]:
    price = {"input": 0.0, "output": 0.0}
    comparison = advice.comparison
    if comparison is not None and advice.answers.tokens_per_day > 0:
        # The amortised all-in cost per token, so that the ledger's cost column is honest.
        share = comparison.hybrid.frontier_share if comparison.hybrid else 0.0
        local = comparison.workload.at(comparison.workload.input_tokens_per_day * (1 - share))
        if local.input_tokens_per_day > 0:
            per_m = self_hosted_price(self_host_cost(comparison.self_host.plan, local), local)
            price = {"input": round(per_m.input, 4), "output": round(per_m.output, 4)}
    return {
        "id": card.id,
        "provider": "openai",
        "base_url": LOCAL_BASE_URL,
        "upstream_model": card.id,
        "residency": "on_prem",
        "context_window": min(
            card.context_tokens or 8192, max(advice.answers.context_tokens, 8192)
        ),
        "price": price,
        "card": card.id,
    }


def starter_config(advice: Advice) -> dict[str, Any]:
    """The config mapping: deployments for the recommended lanes and a matching policy."""
    models: list[dict[str, Any]] = []
    local = advice.open_models[0].card if advice.open_models else None
    closed = [c.card for c in advice.closed_models]
    if advice.recommendation is not Recommendation.CLOSED and local is not None:
        models.append(_local(advice, local))
    if advice.recommendation is not Recommendation.OPEN:
        fallbacks = advice.policy.get("fallbacks")
        named = {advice.policy.get("default"), *(fallbacks if isinstance(fallbacks, list) else [])}
        # the strongest API, plus every one the advice's policy routes to
        models.extend(_closed(c) for i, c in enumerate(closed) if i == 0 or c.id in named)
    if not models:
        raise ValueError("the advice names no model that fits; nothing to write")
    config: dict[str, Any] = {"models": models}
    config.update(_policy(advice, models))
    return config


def _policy(advice: Advice, models: list[dict[str, Any]]) -> dict[str, Any]:
    """The routes and guards for the recommendation (see docs/routing.md)."""
    on_prem = [m["id"] for m in models if m["residency"] == "on_prem"]
    vendor = sorted(
        (m for m in models if m["residency"] == "vendor"),
        key=lambda m: (m["price"]["output"], m["price"]["input"]),
    )
    cheap = vendor[0]["id"] if vendor else None
    strong = _frontier(advice, vendor)
    if not vendor:  # open: everything stays on premises
        return {
            "enforce": {"sensitive_to_vendor": "reject"},
            "routes": {"parity/auto": {"default": {"route": on_prem[0], "keep_on_prem": True}}},
        }
    structured = {
        "name": "structured-output-cascade",
        "when": {"any": [{"shape.json": True}, {"shape.tools": True}]},
        "then": {
            "cascade": [on_prem[0] if on_prem else cheap, strong],
            "validators": ["json", "tool_calls", "not_empty", "not_refusal", "not_truncated"],
        },
    }
    hard = {
        "name": "hard-to-frontier",
        "when": {"difficulty.hard": True},  # the heuristic, or a trained router's threshold
        "then": {"route": strong, "fallbacks": on_prem[:1] or [m for m in [cheap] if m != strong]},
    }
    if not on_prem:  # closed: the cheapest adequate API, escalating to the strongest
        rules = [hard] if cheap != strong else []
        if cheap != strong:
            rules.insert(0, structured)
        default = {"route": cheap, "fallbacks": [strong] if strong != cheap else []}
        return {"routes": {"parity/auto": {"rules": rules, "default": default}}}
    private = {
        "name": "private-stays-local",
        "when": {"privacy.sensitive": True},
        "then": {"route": on_prem[0], "keep_on_prem": True},
    }
    return {
        "enforce": {"sensitive_to_vendor": "on_prem"},
        "routes": {
            "parity/auto": {
                "rules": [private, structured, hard],
                "default": {"route": on_prem[0], "fallbacks": [strong]},
            }
        },
    }


def _frontier(advice: Advice, vendor: list[dict[str, Any]]) -> str | None:
    """The API the advice escalates to (its comments name it), else the priciest listed."""
    fallbacks = advice.policy.get("fallbacks")
    named = fallbacks[0] if isinstance(fallbacks, list) and fallbacks else None
    ids = [m["id"] for m in vendor]
    if named in ids:
        return str(named)
    return ids[-1] if ids else None


def _header(advice: Advice) -> str:
    a = advice.answers
    lines = [
        "Starter config written by `parity advise`; check it with `parity config check FILE`.",
        f"Recommendation: {advice.recommendation.value}. {advice.headline}",
        f"Answers: sensitivity={a.sensitivity.value}, tokens/day={a.tokens_per_day:,.0f}, "
        f"traffic={a.traffic.value}, team={a.team.value}, customisation={a.customisation.value},",
        f"  difficulty={a.difficulty.value}, regulation={a.regulation.value}. "
        f"Catalog as of {advice.catalog_as_of}.",
        "",
        f"Routing policy: {advice.policy.get('summary', '')}",
    ]
    rules = advice.policy.get("rules")
    if isinstance(rules, list):
        lines.extend(f"  - {_rule_words(rule)}" for rule in rules)
    lines += [
        "",
        "On-prem deployments point at an OpenAI-compatible server (vLLM, llama.cpp, Ollama) on",
        f"{LOCAL_BASE_URL}; set upstream_model to the name it serves. Their price is the",
        "amortised self-hosting cost per 1M tokens at your volume, so the ledger shows real cost.",
    ]
    return "".join(f"# {line}\n" if line else "#\n" for line in lines)


def starter_yaml(advice: Advice) -> str:
    """The starter config as YAML text with an explanatory header."""
    body = yaml.safe_dump(starter_config(advice), sort_keys=False, allow_unicode=True)
    return _header(advice) + "\n" + body


def write_starter_config(advice: Advice, path: Path, *, overwrite: bool = False) -> Path:
    """Write the starter config to ``path`` (refuses to replace a file unless ``overwrite``)."""
    if path.exists() and not overwrite:
        raise FileExistsError(f"{path} exists; pass --force to replace it")
    path.write_text(starter_yaml(advice), encoding="utf-8")
    return path


def _rule_words(rule: Any) -> str:
    """A policy rule as a comment line: 'when X: to Y (on_prem)', never a Python dict."""
    if not isinstance(rule, dict):
        return str(rule)
    said = f"when {rule.get('when', 'always')}: to {rule.get('to', '?')}"
    extra = [f"{k} {v}" for k, v in rule.items() if k not in ("when", "to")]
    return said + (f" ({', '.join(extra)})" if extra else "")
