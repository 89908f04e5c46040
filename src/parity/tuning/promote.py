"""Move the routing: a rule sending the task to the tuned model, the teacher as the cascade's
fallback, and what that rule would have saved on the ledger's real traffic.

The rule is a cascade: the tuned model answers first, and when its answer fails the rule's
validators (``not_empty``, ``not_truncated``, and ``json`` when every held-out answer is JSON)
the teacher answers instead. The economics price the task's ledger rows three ways: what was
spent, everything on the tuned model, and the cascade, where the share of requests the tuned
model got wrong in the blind evaluation is assumed to escalate and pay for both calls.
"""

from __future__ import annotations

from typing import Any

import orjson

from parity.catalog.deployment import Deployment
from parity.economics.usage import counterfactuals, total_row
from parity.errors import ConfigError
from parity.store.base import Ledger, RowFilter
from parity.tuning.examples import Example

__all__ = ["cascade_rule", "insert_rule", "savings", "validators_for"]


def validators_for(heldout: list[Example]) -> list[str]:
    """The cascade's checks: json too when every kept answer is a JSON document."""
    checks = ["not_empty", "not_truncated"]
    try:
        for example in heldout:
            orjson.loads(example.answer)
    except orjson.JSONDecodeError:
        return checks
    return ["json", *checks]


def cascade_rule(task: str, tuned: str, teacher: str, validators: list[str]) -> dict[str, Any]:
    """The route rule, as it goes into parity.yaml."""
    return {
        "name": f"tuned-{task}",
        "when": {"task.name": task},
        "then": {"cascade": [tuned, teacher], "validators": validators},
    }


def insert_rule(route: str, rule: dict[str, Any]) -> Any:
    """A config change that puts ``rule`` first in ``route`` (replacing one of its name)."""

    def change(data: dict[str, Any]) -> None:
        routes = data.setdefault("routes", {})
        if route not in routes:
            raise ConfigError(f"the config has no route '{route}' (--route)")
        rules = [r for r in routes[route].get("rules", []) if r.get("name") != rule["name"]]
        routes[route]["rules"] = [rule, *rules]

    return change


def savings(
    ledger: Ledger,
    task: str,
    *,
    tuned: Deployment,
    teacher: Deployment,
    tuned_score: float | None,
    since: float | None = None,
) -> dict[str, Any]:
    """The task's ledger traffic priced as spent, all-tuned, and through the cascade."""
    rows = ledger.rows(RowFilter(task=task, since=since, limit=10_000_000))
    if not rows:
        return {"requests": 0}
    total = total_row(counterfactuals(rows, teacher.price, tuned.price))
    wrong = 1.0 - tuned_score if tuned_score is not None else 1.0
    cascade = total.all_local_usd + wrong * total.all_frontier_usd
    return {
        "requests": total.requests,
        "input_tokens": total.input_tokens,
        "output_tokens": total.output_tokens,
        "spent_usd": total.spent_usd,
        "all_teacher_usd": total.all_frontier_usd,
        "all_tuned_usd": total.all_local_usd,
        "escalated_share": wrong,
        "cascade_usd": cascade,
        "saving_usd": total.spent_usd - cascade,
        "note": "tokens as recorded; escalations pay both calls; the tuned model costs its "
        "deployment's price (set one for amortised hardware, or it reads as free)",
    }
