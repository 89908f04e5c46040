"""Playwright helpers for the dashboard tests: a signed-in page that records what it loaded."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.web.conftest import ADMIN_KEY, World

__all__ = ["Visit", "signed_in"]


@dataclass
class Visit:
    """A browser page plus every URL it requested and every console error it raised."""

    page: Any
    world: World
    requested: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def open(self, path: str) -> Any:
        """Load a dashboard path and wait until its charts are drawn; returns the response."""
        response = self.page.goto(self.world.ui + path)
        self.page.wait_for_selector("body[data-charts-ready]")
        return response

    def shot(self, name: str) -> Path:
        """A full-page screenshot under the test's screenshots folder, after checking that the
        page fits a laptop screen's width (no sideways scrolling)."""
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= self.page.viewport_size["width"], f"{name} is {width}px wide"
        path = self.world.shots / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def outside(self) -> list[str]:
        """Requests that left the gateway (there must be none)."""
        return [u for u in self.requested if not u.startswith((self.world.gateway.url, "data:"))]


@contextmanager
def signed_in(browser: Any, world: World, *, key: str = ADMIN_KEY) -> Iterator[Visit]:
    """A fresh browser context, signed in through the login form with the keyboard."""
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    visit = Visit(page, world)
    page.on("request", lambda request: visit.requested.append(request.url))
    page.on("console", lambda m: visit.errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda error: visit.errors.append(str(error)))
    try:
        page.goto(world.ui + "/login")
        page.keyboard.type(key)  # the key field has autofocus
        with page.expect_navigation():
            page.keyboard.press("Enter")
        yield visit
    finally:
        context.close()
