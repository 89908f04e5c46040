"""The response cache: exact-match answers per tenant and deployment (docs/cache.md)."""
