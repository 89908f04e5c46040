"""Model cards, deployments, licences, prices and hardware fit.

- ``deployment``: where a model runs (on_prem | vendor), how to reach it, its price per token.
- ``cards``: ``ModelCard`` (openness tier, licence, size, context, prices, benchmark claims),
  every figure with its source.
- ``license``: ``LicenseTerms``, ``OrgProfile`` and ``check_license()``, the routing layer's
  pure licence signal.
- ``hardware``: memory for weights and KV cache, and which GPUs hold it.
- ``registry``: ``Catalog`` / ``default_catalog()``, loaded from ``data/*.yaml`` in the package.
"""
