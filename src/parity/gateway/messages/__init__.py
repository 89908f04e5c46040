"""The Anthropic Messages API front door: its wire, event stream and error format."""
