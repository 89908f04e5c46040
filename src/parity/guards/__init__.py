"""Safety guards for open models: Llama Guard or OpenAI moderation on a route's input and output.

``GuardSet`` is built once from the settings; ``GuardSet.for_route`` gives a route's
``GuardCheck``, whose ``check_input`` / ``check_output`` return an ``Outcome`` (and ``enforce``
raises for a block or a fail-closed error); ``StreamGuard`` checks a stream as it goes.
See docs/guards.md.
"""

from parity.guards.check import GuardCheck, Outcome, last_user_text, prompt_text
from parity.guards.client import (
    GuardClient,
    LlamaGuardClient,
    ModerationClient,
    Verdict,
    parse_llama_guard,
    parse_moderation,
)
from parity.guards.guardset import GuardSet
from parity.guards.stream import StreamGuard

__all__ = [
    "GuardCheck",
    "GuardClient",
    "GuardSet",
    "LlamaGuardClient",
    "ModerationClient",
    "Outcome",
    "StreamGuard",
    "Verdict",
    "last_user_text",
    "parse_llama_guard",
    "parse_moderation",
    "prompt_text",
]
