"""The wire: OpenAI-compatible HTTP, Anthropic Messages, and the embedded llama.cpp server."""
