"""Cost of ownership, break-even volume and usage counterfactuals.

- ``tco``: API, self-hosted and hybrid cost per year (``Workload``, ``ApiPricing``,
  ``SelfHostPlan``, ``compare()``).
- ``breakeven``: the crossover volume in closed form (``break_even()``, ``hybrid_break_even()``).
- ``scenario``: a scenario from plain inputs and the catalog, with every figure's source.
- ``sensitivity``: one assumption moved at a time.
- ``plots``: the log-log cost curve with the crossover marked (matplotlib, optional).
- ``usage``: per day x key x route, spent vs all-frontier vs all-local, from ledger rows.
"""
