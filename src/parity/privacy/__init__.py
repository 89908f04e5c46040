"""Privacy detection: which sensitive data a text carries, and masking it.

One :class:`~parity.privacy.detector.PrivacyDetector` is built per gateway (by
``gateway/runtime.py``, with :func:`build_detector`) and handed to whatever needs it: the router's
privacy signal, the prompt store (``ledger.prompts: redacted``) and ``parity tune``. Masking
(:mod:`parity.privacy.redact`) works from its findings.

The modules: ``detector`` (the scan), ``pii``, ``address``, ``dates``, ``context``, ``phi``,
``secrets``, ``custom`` and ``ner`` (the recognizers), ``validators`` (Luhn, mod-97, SSN
rules…), ``presidio`` (confirmation by Presidio's recognizers), ``types`` (the data-class
vocabulary, no I/O), ``chat`` (the texts of a chat body) and ``redact`` (placeholders and their
restoration). Presidio and phonenumbers are the ``parity[privacy]`` extra; importing this
package alone needs neither.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from parity.errors import ConfigError

if TYPE_CHECKING:
    from parity.config.privacy import PrivacySettings
    from parity.privacy.detector import PrivacyDetector

__all__ = ["build_detector"]


def build_detector(settings: PrivacySettings, need: str) -> PrivacyDetector:
    """The detector for ``settings``; a ConfigError saying ``need`` when the extra is absent."""
    try:
        from parity.privacy.detector import PrivacyDetector
    except ImportError as exc:
        raise ConfigError(
            f"{need} needs privacy detection, which is not installed "
            f"(pip install 'parity[privacy]'): {exc}"
        ) from exc
    return PrivacyDetector(settings)
