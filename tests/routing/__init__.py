"""Tests of routing: signals, policy, plans, redaction."""
