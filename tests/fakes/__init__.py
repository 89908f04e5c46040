"""Protocol-faithful fakes for the upstreams that tests cannot reach (closed vendor APIs)."""
