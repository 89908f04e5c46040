"""The privacy signal as routing rules see it: privacy.sensitive, privacy.classes, …

Detection itself lives in ``parity.privacy``; this adapter fails closed when the detector raises.
"""

from __future__ import annotations

from typing import Any

from parity.privacy.detector import PrivacyDetector, PrivacyFindings
from parity.routing.plan import RouteRequest

__all__ = ["PrivacySignal"]


class PrivacySignal:
    """privacy.sensitive, privacy.classes, privacy.failed, privacy.reason, privacy.entities."""

    name = "privacy"

    def __init__(self, detector: PrivacyDetector):
        self.detector = detector

    def findings(self, request: RouteRequest) -> PrivacyFindings:
        """Scan the request; any failure counts as sensitive."""
        try:
            return self.detector.scan_chat(request.body)
        except Exception as exc:
            return PrivacyFindings(
                data_classes=frozenset(), failed=True, reason=f"detector failed: {exc}"
            )

    def compute(self, request: RouteRequest) -> dict[str, Any]:
        """The data classes found, without their values."""
        findings = self.findings(request)
        summary = findings.trace()
        return {
            "sensitive": findings.sensitive,
            "classes": summary["data_classes"],
            "entities": summary["entities"],
            "failed": findings.failed,
            "reason": findings.reason,
            "_findings": findings,
        }
