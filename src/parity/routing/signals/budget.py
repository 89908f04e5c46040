"""The budget signal: what this key and tenant spent today and this month, against budget."""

from __future__ import annotations

from typing import Any

from parity.routing.budget import SpendTracker
from parity.routing.plan import RouteRequest

__all__ = ["BudgetSignal"]


class BudgetSignal:
    """budget.exceeded, budget.key_day, budget.key_month, budget.tenant_day, …"""

    name = "budget"

    def __init__(self, tracker: SpendTracker):
        self._tracker = tracker

    def compute(self, request: RouteRequest) -> dict[str, Any]:
        """Spend and limits; ``exceeded`` when any limit is reached."""
        values: dict[str, Any] = {"exceeded": False, "over": []}
        for scope, name in (("key", request.caller.key_id), ("tenant", request.caller.tenant)):
            day, month = self._tracker.spent(scope, name)
            budget = self._tracker.budget(scope, name)
            values[f"{scope}_day"] = round(day, 6)
            values[f"{scope}_month"] = round(month, 6)
            if budget is None:
                continue
            values[f"{scope}_daily_budget"] = budget.daily_usd
            values[f"{scope}_monthly_budget"] = budget.monthly_usd
            for period, spent, limit in (
                ("daily", day, budget.daily_usd),
                ("monthly", month, budget.monthly_usd),
            ):
                if limit is not None and spent >= limit:
                    values["exceeded"] = True
                    values["over"].append(f"{scope} {name}: {period} ${spent:.4f} of ${limit:g}")
        return values
