"""Every dashboard page in a real browser, against a real gateway with real rows in its ledger."""

from __future__ import annotations

import json
import re
from typing import Any

from parity.catalog.registry import default_catalog
from parity.config import load_settings
from parity.economics.breakeven import break_even
from parity.economics.scenario import CostInputs, build_scenario
from parity.economics.usage import counterfactual_prices, counterfactuals, total_row
from parity.web.board import usd
from tests.web.browsing import Visit, signed_in
from tests.web.conftest import PRIVATE_PROMPT, RUN_NAME, SECRET_PROMPT, World


def _charts_drawn(visit: Visit) -> int:
    canvases = visit.page.locator("canvas[data-chart]")
    count: int = canvases.count()
    for i in range(count):
        assert canvases.nth(i).get_attribute("data-drawn") == "true"
    return count


def _row_with(world: World, text: str) -> Any:
    return next(r for r in world.rows if r.request_body and text in r.request_body.decode())


def _check_overview(visit: Visit, world: World) -> None:
    response = visit.open("/")
    assert response.status == 200
    page = visit.page
    assert page.get_by_test_id("requests").inner_text() == str(len(world.rows))
    settings = load_settings(world.gateway.home.parent / "parity.yaml")
    (frontier_id, frontier), (_, local) = counterfactual_prices(settings.models)
    total = total_row(counterfactuals(world.rows, frontier, local))
    cards = page.locator("dl.cards").inner_text()
    assert usd(total.spent_usd) in cards and usd(total.saving_usd) in cards
    assert f"All {frontier_id} would have cost" in cards
    latency = page.locator("table", has_text="time to first byte").inner_text()
    answered = {r.model_answered for r in world.rows if r.model_answered}
    assert all(model in latency for model in answered) and "all models" in latency
    errors = [r for r in world.rows if r.status >= 400]
    assert errors and errors[0].request_id in page.locator("#main").inner_text()
    assert _charts_drawn(visit) == 3
    estimated = [r for r in world.rows if r.usage_estimated]
    assert estimated, "the streamed request to 'uncounted' should have estimated usage"
    note = page.get_by_test_id("estimated-note").inner_text()
    assert f"{len(estimated)} of {len(world.rows)} requests" in note and "estimate" in note
    visit.shot("overview")


def _check_requests(visit: Visit, world: World) -> None:
    page = visit.page
    visit.open("/requests")
    assert page.locator("#ledger tbody tr").count() == len(world.rows)
    visit.shot("requests")
    page.locator("#q").fill("zebra-marker")
    with page.expect_navigation():
        page.locator("#q").press("Enter")
    marked = _row_with(world, "zebra-marker")
    rows = page.locator("#ledger tbody tr")
    assert rows.count() == 1 and marked.request_id in rows.first.inner_text()
    uncounted = next(r for r in world.rows if r.usage_estimated)
    visit.open("/requests")
    cells = page.locator("#ledger tbody tr", has_text=uncounted.request_id).locator("td.n")
    assert [c.inner_text().endswith("~") for c in cells.all()][-2:] == [True, True]  # tokens, cost
    counted = page.locator("#ledger tbody tr", has_text=world.rows[0].request_id).inner_text()
    assert "~" not in counted or world.rows[0].usage_estimated
    assert "estimated" in page.get_by_test_id("estimated-note").inner_text()
    visit.open(f"/requests/{uncounted.request_id}?at={uncounted.ts}")
    detail = page.locator("#main").inner_text()
    assert "(estimated: the upstream reported no usage" in detail
    assert "(from estimated tokens)" in detail
    visit.open("/requests?errors=1")
    failed = [r for r in world.rows if r.status >= 400]
    assert page.locator("#ledger tbody tr").count() == len(failed)
    private = _row_with(world, PRIVATE_PROMPT)
    visit.open("/requests")
    with page.expect_navigation():
        page.get_by_role("link", name=private.request_id).click()
    main = page.locator("#main").inner_text()
    assert (private.trace or {})["rule"] == "private-stays-local"
    assert "private-stays-local" in main and "local-llama" in main
    assert "privacy" in page.locator("table", has_text="Signals computed").inner_text()
    assert "jane.doe@example.com" in page.locator("#request-body").inner_text()
    visit.shot("request-detail")


def _check_privacy(visit: Visit, world: World) -> None:
    visit.open("/privacy")
    page = visit.page
    leaks = [r for r in world.rows if r.data_classes and "vendor" in r.sent_to]
    assert len(leaks) == 1 and SECRET_PROMPT in leaks[0].request_body.decode()  # type: ignore[union-attr]
    assert page.get_by_test_id("leaks").inner_text() == str(len(leaks))
    main = page.locator("#main").inner_text()
    assert leaks[0].request_id in main
    for data_class in {c for r in world.rows for c in r.data_classes}:
        assert data_class in main
    assert _charts_drawn(visit) == 1
    visit.shot("privacy")


def _check_gaptests(visit: Visit, world: World) -> None:
    page = visit.page
    report = json.loads((world.run_dir / "report" / "report.json").read_text())
    visit.open("/gaptests")
    listing = page.locator("#main").inner_text()
    assert RUN_NAME in listing and report["pairs"][0]["conclusion"] in listing
    visit.shot("gaptests")
    visit.open(f"/gaptests/{RUN_NAME}")
    assert report["pairs"][0]["conclusion"] in page.locator("#main").inner_text()
    visit.shot("gaptest-run")
    with page.expect_navigation():
        page.get_by_role("link", name="Open the full report").click()
    assert page.locator("svg").count() >= 1
    visit.shot("gaptest-report")


def _check_router(visit: Visit, world: World) -> None:
    visit.open("/router")
    manifest = json.loads((world.router / "manifest.json").read_text())
    assert visit.page.get_by_test_id("threshold").inner_text() == f"{manifest['threshold']:.4f}"
    assert manifest["version"] in visit.page.locator("#main").inner_text()
    assert _charts_drawn(visit) == 2
    visit.shot("router")


def _break_even_text(**inputs: Any) -> str:
    scenario, _ = build_scenario(default_catalog(), CostInputs(**inputs))
    be = break_even(scenario.pricing, scenario.plan, scenario.workload)
    assert be.input_tokens_per_day is not None
    return f"Break-even: {be.input_tokens_per_day / 1e6:,.1f}M input tokens a day"


def _check_costs(visit: Visit) -> None:
    page = visit.page
    visit.open("/costs")
    assert _break_even_text(tokens_per_day=10e6) in page.get_by_test_id("break-even").inner_text()
    assert _charts_drawn(visit) == 1
    visit.shot("costs")
    page.locator("#f-tokens_m").fill("100")
    page.locator("#f-engineer_fte").fill("0.5")
    with page.expect_navigation():
        page.locator("#f-engineer_fte").press("Enter")
    page.wait_for_selector("body[data-charts-ready]")
    assert re.search(r"tokens_m=100\b", page.url)
    expected = _break_even_text(tokens_per_day=100e6, engineer_fte=0.5)
    assert expected in page.get_by_test_id("break-even").inner_text()
    visit.shot("costs-edited")


def test_every_page_shows_the_real_data_and_loads_nothing_from_outside(
    world: World, browser: Any
) -> None:
    with signed_in(browser, world) as visit:
        _check_overview(visit, world)
        _check_requests(visit, world)
        _check_privacy(visit, world)
        _check_gaptests(visit, world)
        _check_router(visit, world)
        _check_costs(visit)
        assert visit.outside() == []
        assert visit.errors == []
    shots = sorted(p.name for p in world.shots.glob("*.png"))
    assert len(shots) >= 10, shots
