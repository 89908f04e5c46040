"""Parity: one OpenAI-compatible gateway in front of open and closed models."""

__all__ = ["__version__"]

__version__ = "0.1.0"
