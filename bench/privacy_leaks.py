"""Leaks through the real gateway: generated prompts sent to ``parity serve`` under a keep-local
policy, with a recording fake vendor as the upstream of both deployments.

The config: an on-prem deployment and a vendor deployment (both the fake vendor, told apart by
their upstream model names), ``enforce.sensitive_to_vendor: on_prem`` and a route whose rule
keeps ``privacy.sensitive`` on premises. A leak is a sensitive prompt whose text reached the
vendor deployment; a clean prompt that went to the on-prem one was kept local for nothing.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fakes.fixtures import start_vendor_fake  # noqa: E402
from tests.servers import start_gateway  # noqa: E402

ROUTE = "parity/private"


def config(vendor_url: str, ner_model: str | None) -> dict[str, Any]:
    """Two deployments on the recording fake, and the keep-local policy."""

    def deployment(name: str, upstream: str, residency: str) -> dict[str, Any]:
        return {"id": name, "provider": "openai", "base_url": vendor_url, "residency": residency,
                "api_key_env": "FAKE_KEY", "upstream_model": upstream,
                "price": {"input": 1.0, "output": 2.0}}  # fmt: skip

    privacy: dict[str, Any] = {"ner_model": ner_model} if ner_model else {}
    return {
        "models": [
            deployment("on-prem", "on-prem-upstream", "on_prem"),
            deployment("vendor", "vendor-upstream", "vendor"),
        ],
        "enforce": {"sensitive_to_vendor": "on_prem"},
        "privacy": privacy,
        "retry": {"attempts": 1, "max_retry_after_s": 0},
        "routes": {
            ROUTE: {
                "rules": [
                    {
                        "name": "private-stays-local",
                        "when": {"privacy.sensitive": True},
                        "then": {"route": "on-prem", "keep_on_prem": True},
                    }
                ],
                "default": "vendor",
            }
        },
    }


def leaks(
    rows: Sequence[dict[str, Any]], sensitive: set[str], ner_model: str | None
) -> dict[str, Any]:
    """Send every row through a real gateway; count what reached the vendor deployment."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        vendor_proc, vendor = start_vendor_fake(folder / "vendor.log")
        gateway = start_gateway(folder, config(vendor.openai_url, ner_model),
                                env={"FAKE_KEY": "sk-fake"})  # fmt: skip
        try:
            sent: dict[str, dict[str, Any]] = {}
            with httpx.Client(timeout=60, trust_env=False) as client:
                for index, row in enumerate(rows):
                    marker = f"[{index}]"
                    text = f"{marker} {row['text']}"
                    body = {"model": ROUTE, "messages": [{"role": "user", "content": text}]}
                    answer = client.post(f"{gateway.v1}/chat/completions", json=body)
                    answer.raise_for_status()
                    sent[marker] = row
            received = vendor.received()
        finally:
            gateway.stop()
            vendor_proc.kill()
            vendor_proc.wait()
            if vendor_proc.stdout is not None:
                vendor_proc.stdout.close()
    at_vendor: set[str] = set()
    at_prem: set[str] = set()
    for request in received:
        payload = request.get("body") or {}
        content = str((payload.get("messages") or [{}])[-1].get("content", ""))
        marker = content.split(" ", 1)[0]
        (at_vendor if payload.get("model") == "vendor-upstream" else at_prem).add(marker)
    leaked = [m for m, r in sent.items() if _sensitive(r, sensitive) and m in at_vendor]
    clean = [m for m, r in sent.items() if r["kind"] == "clean"]
    kept = [m for m in clean if m in at_prem]
    return {
        "prompts": len(sent),
        "sensitive_prompts": sum(_sensitive(r, sensitive) for r in sent.values()),
        "leaked": len(leaked),
        "leaked_examples": [sent[m]["text"][:160] for m in leaked[:10]],
        "clean_prompts": len(clean),
        "clean_kept_local": len(kept),
        "unanswered": len(sent) - len(at_vendor | at_prem),
    }


def _sensitive(row: dict[str, Any], types: set[str]) -> bool:
    return any(span["type"] in types for span in row["spans"])
