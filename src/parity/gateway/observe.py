"""What the gateway tells operators about each finished chat request: metrics and access log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from parity.gateway.logs import REQUEST_PROMPT, REQUEST_ROW
from parity.gateway.metrics import GatewayMetrics
from parity.routing.executor import Trace
from parity.store.base import LedgerRow

if TYPE_CHECKING:
    from parity.gateway.runtime import Runtime

__all__ = ["RequestObserver"]


class RequestObserver:
    """Called once per chat request with its finished ledger row and executor trace."""

    def __init__(self, metrics: GatewayMetrics | None, access_log: bool, log_prompts: bool):
        self.metrics = metrics
        self._access = access_log
        self._prompts = access_log and log_prompts

    @classmethod
    def build(cls, runtime: Runtime) -> RequestObserver | None:
        """The observer the settings ask for, or None when neither metrics nor access log is on."""
        settings = runtime.settings
        metrics = GatewayMetrics(runtime) if settings.metrics.enabled else None
        if metrics is None and not settings.logging.access:
            return None
        return cls(metrics, settings.logging.access, settings.logging.log_prompts)

    def finished(self, row: LedgerRow, trace: Trace, body: dict[str, Any] | None) -> None:
        """Count the request and hand its row (and prompt, if allowed) to the access log."""
        if self.metrics is not None:
            self.metrics.observe(row, trace)
        if self._access:
            REQUEST_ROW.set(row)
            if self._prompts and body is not None:
                REQUEST_PROMPT.set(_last_user_text(body))


def _last_user_text(body: dict[str, Any]) -> str | None:
    """The last user message's text, cut at 2,000 characters."""
    for message in reversed(body.get("messages") or []):
        if isinstance(message, dict) and message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                parts = [p.get("text") for p in content if isinstance(p, dict)]
                content = " ".join(p for p in parts if isinstance(p, str))
            return content[:2000] if isinstance(content, str) else None
    return None
