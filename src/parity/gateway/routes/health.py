"""GET /healthz (the process answers) and GET /readyz (it can serve requests)."""

from __future__ import annotations

from typing import Any

from parity.gateway.runtime import Runtime

__all__ = ["readiness"]


def readiness(runtime: Runtime) -> tuple[int, dict[str, Any]]:
    """Status code and body for /readyz: 503 until started, or while the local model is down."""
    models = runtime.model_health()
    writer = runtime.writer
    ledger = {
        "url": runtime.settings.ledger.url,
        "written": writer.written if writer else 0,
        "write_failures": writer.failures if writer else 0,
    }
    local_down = any(state == "down" for state in models.values())
    ready = runtime.ready and not local_down
    body: dict[str, Any] = {
        "status": "ready" if ready else "not_ready",
        "models": models,
        "ledger": ledger,
    }
    if runtime.local is not None:
        body["local_model"] = {
            "pid": runtime.local.pid,
            "url": runtime.local.base_url,
            "restarts": runtime.local.restarts,
            "model_path": str(runtime.local.model_path),
        }
    return (200 if ready else 503), body
