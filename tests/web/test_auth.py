"""The dashboard's door: no page without an admin key when keys are configured; open, and saying
so, when none are."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.fixtures import VendorFake
from tests.servers import start_gateway
from tests.web.browsing import signed_in
from tests.web.conftest import ADMIN_KEY, RUN_NAME, USER_KEY, World

PAGES = [
    "",
    "/",
    "/requests",
    "/requests?q=jane",
    "/privacy",
    "/gaptests",
    f"/gaptests/{RUN_NAME}",
    f"/gaptests/{RUN_NAME}/report.html",
    f"/gaptests/{RUN_NAME}/judge?as=intruder",
    "/router",
    "/costs",
    "/canary",
    "/no-such-page",
]


def _get(world: World, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(world.ui + path, headers=headers, trust_env=False, follow_redirects=False)


def _secrets(world: World) -> list[str]:
    """Strings only a signed-in admin may see: request ids, prompts, the run's model names."""
    models = ["gpt-4-1106-preview", "Mixtral"]
    return [r.request_id for r in world.rows] + ["jane.doe", "4111", *models]


@pytest.mark.parametrize("path", PAGES)
def test_every_page_refuses_callers_without_an_admin_key(world: World, path: str) -> None:
    anonymous = _get(world, path)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Bearer")
    assert 'name="key"' in anonymous.text
    assert "parity keys create NAME --admin" in anonymous.text  # where an admin key comes from
    wrong = _get(world, path, {"authorization": "Bearer sk-nobody"})
    assert wrong.status_code == 401 and "invalid API key" in wrong.text
    user = _get(world, path, {"authorization": f"Bearer {USER_KEY}"})
    assert user.status_code == 403 and "not an admin key" in user.text
    user_cookie = httpx.get(world.ui + path, cookies={"parity_ui_key": USER_KEY}, trust_env=False)
    assert user_cookie.status_code == 403
    for refused in (anonymous, wrong, user, user_cookie):
        assert not any(secret in refused.text for secret in _secrets(world))
        assert refused.headers["cache-control"] == "no-store"
    admin = _get(world, path, {"authorization": f"Bearer {ADMIN_KEY}"})
    assert admin.status_code == {"": 307, "/no-such-page": 404}.get(path, 200)


def test_posts_are_refused_too_and_nothing_is_written(world: World) -> None:
    human = world.run_dir / "human.jsonl"
    before = human.read_bytes() if human.exists() else b""
    judge = httpx.post(
        f"{world.ui}/gaptests/{RUN_NAME}/judge",
        data={"as": "intruder", "comparison": "x", "choice": "A"},
        headers={"authorization": f"Bearer {USER_KEY}"},
        trust_env=False,
    )
    rebuild = httpx.post(f"{world.ui}/gaptests/{RUN_NAME}/report", trust_env=False)
    assert judge.status_code == 403 and rebuild.status_code == 401
    assert (human.read_bytes() if human.exists() else b"") == before


def test_the_browser_signs_in_with_a_strict_http_only_cookie_and_signs_out(
    world: World, browser: Any
) -> None:
    context = browser.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    try:
        response = page.goto(world.ui + "/privacy")
        assert response.status == 401 and page.locator("#key").is_visible()
        page.screenshot(path=str(world.shots / "login.png"), full_page=True)
        page.keyboard.type(USER_KEY)
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert "is not an admin key" in page.locator("[role=alert]").inner_text()
        page.locator("#key").fill(ADMIN_KEY)
        with page.expect_navigation():
            page.locator("#key").press("Enter")
        assert page.url == world.ui + "/privacy"
        assert "Signed in with key admin" in page.locator("header").inner_text()
        (cookie,) = context.cookies()
        assert cookie["name"] == "parity_ui_key" and cookie["httpOnly"] is True
        assert cookie["sameSite"] == "Strict" and cookie["path"] == "/ui"
        assert page.evaluate("document.cookie") == ""  # scripts cannot read the key
        with page.expect_navigation():
            page.get_by_role("button", name="Sign out").click()
        assert context.cookies() == []
        assert page.goto(world.ui + "/").status == 401
    finally:
        context.close()


def test_an_admin_sees_who_is_signed_in_on_every_page(world: World, browser: Any) -> None:
    with signed_in(browser, world) as visit:
        for path in ("/", "/requests", "/privacy", "/gaptests", "/router", "/costs"):
            visit.open(path)
            assert "Signed in with key admin" in visit.page.locator("header").inner_text()
            assert visit.page.locator(".banner").count() == 0


def test_without_keys_the_dashboard_is_open_and_says_so(
    vendor_fake: VendorFake, tmp_path: Path, browser: Any
) -> None:
    config = {
        "models": [
            {
                "id": "local",
                "provider": "openai",
                "base_url": vendor_fake.openai_url,
                "api_key_env": "FAKE_KEY",
                "upstream_model": "gpt-4o",
                "residency": "on_prem",
            }
        ]
    }
    gateway = start_gateway(tmp_path, config, env={"FAKE_KEY": "sk-fake"})
    try:
        assert httpx.get(f"{gateway.url}/ui/login", trust_env=False).status_code == 303
        context = browser.new_context(viewport={"width": 1366, "height": 800})
        try:
            page = context.new_page()
            assert page.goto(f"{gateway.url}/ui/").status == 200
            banner = page.locator(".banner").inner_text()
            assert "open" in banner and "no API keys are configured" in banner
            assert "parity keys create NAME --admin" in banner and "PARITY_ADMIN_KEY" in banner
            page.goto(f"{gateway.url}/ui/router")
            assert "No learned router is configured" in page.locator("#main").inner_text()
            page.screenshot(path=str(tmp_path / "open-router.png"), full_page=True)
        finally:
            context.close()
    finally:
        gateway.stop()


def test_static_files_are_served_without_a_key(world: World) -> None:
    # Styles and the vendored Chart.js hold no data; the sign-in page needs them.
    for path in ("/static/ui.css", "/static/vendor/chart.umd.min.js"):
        assert _get(world, path).status_code == 200
