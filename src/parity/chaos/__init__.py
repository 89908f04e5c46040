"""The chaos upstream: an OpenAI-compatible server that injects faults at set rates.

A test tool for users' fallback configs (``parity chaos``), and what Parity's own fault tests
run against. It sits beside ``gateway/`` as a service; nothing on the request path imports it.
"""
