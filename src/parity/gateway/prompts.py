"""What the ledger keeps of each prompt and answer: nothing, a redacted copy, or everything.

``ledger.prompts`` chooses. ``full`` keeps the client's body byte for byte and the answer text
(gap tests sample prompts from them); ``off`` keeps neither; ``redacted`` keeps both with every
entity the privacy detector finds replaced by a placeholder (``<CREDIT_CARD_1>``), the same
placeholder for the same value in the prompt and the answer. A redacted row reuses the plan's
privacy findings when routing already scanned the request; otherwise the detector runs here.
If a scan fails (for example a prompt longer than ``privacy.max_chars``) nothing is kept.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

import orjson

from parity.config import Settings
from parity.errors import ConfigError
from parity.routing.plan import RoutePlan
from parity.store.base import LedgerRow

if TYPE_CHECKING:
    from parity.privacy.detector import PrivacyDetector

__all__ = ["PromptStore"]

Mode = Literal["off", "redacted", "full"]


class PromptStore:
    """Applies ``ledger.prompts`` to ledger rows; built once per gateway."""

    def __init__(self, settings: Settings, detector: PrivacyDetector | None):
        """``detector``: the gateway's one detector; required when the mode is redacted."""
        self.mode: Mode = settings.ledger.prompts
        self.keep_raw = self.mode == "full"
        """Store the client's body as sent (full)."""
        self.keep_text = self.mode != "off"
        """Keep the answer text on the row (full, or redacted after masking)."""
        if self.mode == "redacted" and detector is None:
            raise ConfigError("ledger.prompts: redacted needs the gateway's privacy detector")
        self._detector = detector if self.mode == "redacted" else None

    def redact(self, row: LedgerRow, body: dict[str, Any] | None, plan: RoutePlan | None) -> None:
        """Fill a row's request body and mask its answer text (redacted mode only)."""
        if self._detector is None:
            return
        from parity.privacy.redact import mask_chat, mask_texts

        # Cleared first, so that nothing unmasked is kept if masking fails half-way.
        text, row.response_text, row.request_body = row.response_text, None, None
        if body is None:
            return
        findings = plan.findings if plan is not None and plan.findings is not None else None
        if findings is None:
            findings = self._detector.scan_chat(body)
        if findings.failed:
            return
        masked = mask_chat(body, findings)
        if text:
            answer = self._detector.scan([text])
            if answer.failed:
                return
            row.response_text = mask_texts([text], answer, vault=masked.vault)[0][0]
        row.request_body = orjson.dumps(masked.body)

    def shadow_text(self, text: str) -> str | None:
        """A shadow answer's text as the ledger may keep it."""
        if not self.keep_text:
            return None
        if self._detector is None:
            return text
        from parity.privacy.redact import mask_texts

        found = self._detector.scan([text])
        return None if found.failed else mask_texts([text], found)[0][0]
