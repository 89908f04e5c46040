"""OpenTelemetry spans of the gateway, with the GenAI semantic conventions (parity[otel])."""
