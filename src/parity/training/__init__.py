"""Learned routers trained offline from gap-test verdicts."""
