"""The tune example's teacher: a local OpenAI-compatible vendor that extracts tickets correctly.

    python -m tests.fakes.ticket_teacher --port 8790

It answers a generated support ticket (``parity.tuning.ticket_example``) with its right JSON,
read from the ticket's closed vocabulary by ``solve``; anything else gets a refusal. It stands
in for a frontier model, which cannot be reached from here. It is the drifting upstream's
server (a real socket in a thread of the calling process) with another answer and no drift.
"""

from __future__ import annotations

import argparse
import threading
from typing import Any

from parity.tuning.ticket_example import solve
from tests.fakes.drifting import DriftingUpstream

__all__ = ["TicketTeacher", "example_config"]


class TicketTeacher(DriftingUpstream):
    """Start with ``start()``; ``url`` is the OpenAI base URL (…/v1)."""

    def __init__(self) -> None:
        super().__init__(degrade_after=None)

    def _answer(self, text: str) -> str:
        return solve(text) or "I can only read support tickets."


def example_config(teacher_url: str, **local: Any) -> dict[str, Any]:
    """The example's parity.yaml: SmolLM2 and the teacher, traffic to the teacher, prompts kept,
    training on premises (this machine)."""
    return {
        "models": [
            {
                "id": "local/smollm2",
                "provider": "local",
                "residency": "on_prem",
                "card": "smollm2-135m-instruct",
            },
            {
                "id": "teacher",
                "provider": "openai",
                "base_url": teacher_url,
                "price": {"input": 2.5, "output": 10.0},
            },
        ],
        "routes": {"parity/auto": {"default": "teacher"}},
        "ledger": {"prompts": "full"},
        "local": {"n_ctx": 1024, **local},
        "tune": {"on_premises": True},
    }


def main() -> None:
    """Serve the teacher until killed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    teacher = TicketTeacher().start(args.port)
    print(f"READY {teacher.url}", flush=True)
    threading.Event().wait()


if __name__ == "__main__":
    main()
