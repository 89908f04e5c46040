"""Which deployment answers a request, and why."""
