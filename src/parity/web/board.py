"""What every dashboard page shares: the gateway's runtime, URL prefix, templates, runs folder."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from parity.config import Settings
from parity.gateway.auth import Authenticator
from parity.gateway.runtime import Runtime
from parity.routing.plan import Caller
from parity.store.base import Ledger

__all__ = ["NAV", "Dashboard", "runs_dir_from", "template_environment", "usd"]

RUNS_ENV = "PARITY_RUNS_DIR"

NAV = (
    ("overview", "Overview", "/"),
    ("requests", "Requests", "/requests"),
    ("privacy", "Privacy audit", "/privacy"),
    ("guards", "Safety guards", "/guards"),
    ("gaptests", "Gap tests", "/gaptests"),
    ("router", "Router", "/router"),
    ("costs", "Costs", "/costs"),
    ("canary", "Canary", "/canary"),
)
"""(key, label, path under the prefix) of each page in the navigation, in order."""


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def usd(value: Any) -> str:
    """Dollars as the dashboard prints them: cents above $1, significant digits below."""
    if _missing(value):
        return "–"
    amount = float(value)
    if abs(amount) >= 100:
        return f"${amount:,.0f}"
    if abs(amount) >= 1:
        return f"${amount:,.2f}"
    return f"${amount:.6f}".rstrip("0").rstrip(".") if amount else "$0"


def _pct(value: Any, digits: int = 1) -> str:
    return "–" if _missing(value) else f"{float(value) * 100:.{digits}f}%"


def _num(value: Any, digits: int = 0) -> str:
    return "–" if _missing(value) else f"{float(value):,.{digits}f}"


def _ms(value: Any) -> str:
    return "–" if _missing(value) else f"{float(value):,.1f} ms"


def _when(ts: Any) -> str:
    if _missing(ts):
        return "–"
    return datetime.fromtimestamp(float(ts), UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def template_environment() -> Environment:
    """The Jinja2 environment of the dashboard: package templates, autoescaped, strict."""
    env = Environment(
        loader=PackageLoader("parity.web", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html",), default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(usd=usd, pct=_pct, num=_num, ms=_ms, when=_when)
    return env


def runs_dir_from(env: Mapping[str, str]) -> Path:
    """The gap-test runs folder: $PARITY_RUNS_DIR, else ./runs (where the docs put runs)."""
    return Path(env.get(RUNS_ENV) or "runs").expanduser().resolve()


@dataclass(slots=True)
class Dashboard:
    """The dashboard's shared state; pages receive it at construction, never from a global."""

    runtime: Runtime
    prefix: str
    runs_dir: Path
    templates: Jinja2Templates

    @property
    def settings(self) -> Settings:
        return self.runtime.settings

    @property
    def auth(self) -> Authenticator:
        return self.runtime.auth

    @property
    def ledger(self) -> Ledger:
        return self.runtime.ledger

    def url(self, path: str = "") -> str:
        """A dashboard path: ``url('/requests')`` -> ``/ui/requests``."""
        return f"{self.prefix}{path}" or "/"

    def render(
        self,
        request: Request,
        name: str,
        context: Mapping[str, Any],
        *,
        status: int = 200,
        active: str = "",
    ) -> Response:
        """A page from ``templates/name`` with the navigation and who is signed in."""
        caller: Caller | None = getattr(request.state, "caller", None)
        base = {
            "ui": self.prefix,
            "nav": [(key, label, self.url(path)) for key, label, path in NAV],
            "active": active,
            "auth_enabled": self.auth.enabled,
            "caller": caller,
        }
        return self.templates.TemplateResponse(request, name, {**base, **context}, status)
