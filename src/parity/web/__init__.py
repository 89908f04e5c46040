"""The dashboard served at /ui: ``build_ui(runtime)`` returns the ASGI app the gateway mounts."""

from parity.web.app import build_ui

__all__ = ["build_ui"]
