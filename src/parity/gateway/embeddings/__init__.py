"""The embeddings door's wire: OpenAI's /v1/embeddings request and answer (see wire.py)."""
