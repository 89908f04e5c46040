"""Blind judging in the browser with the keyboard only; verdicts land in RUN/human.jsonl exactly as
the terminal judge writes them, and the terminal judge reads them back."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import orjson

from parity.evaluation.judges.human import human_verdicts, pending_comparisons
from parity.evaluation.rundir import RunDir
from tests.web.browsing import signed_in
from tests.web.conftest import ADMIN_KEY, RUN_NAME, World, cli

KEYS = ["a", "b", "t", "s", "a", "b"]
CHOICE = {"a": "A", "b": "B", "t": "tie", "s": "skip"}
FIELDS = {"v", "item", "judge", "shown", "choice", "winner", "ui", "ts"}


def _lines(world: World, judge: str) -> list[dict[str, Any]]:
    path = RunDir(world.run_dir).human_path
    if not path.exists():
        return []
    found = [orjson.loads(line) for line in path.read_bytes().splitlines() if line.strip()]
    return [line for line in found if line["judge"] == judge]


def _decide(visit: Any, run: RunDir, expected: dict[str, tuple[str, str]], key: str) -> str:
    """Check the comparison on screen is blind and the sides are right, then press ``key``."""
    page = visit.page
    models = run.read_manifest().model_ids
    assert not any(m in page.content() for m in models), "a model name leaked into the page"
    prompt = page.locator(".prompt").inner_text()
    item = next(i for i in run.items() if i.prompt.strip() == prompt.strip())
    answers = run.answers()
    for label, model in zip("AB", expected[item.id], strict=True):
        shown = page.get_by_test_id(f"answer-{label}").inner_text().strip()
        assert shown == answers[(item.id, model)].text.strip()
    with page.expect_navigation():
        page.keyboard.press(key)
    return item.id


def _progress(visit: Any) -> tuple[int, int]:
    label = visit.page.locator("#progress-label").inner_text()
    match = re.fullmatch(r"Comparison (\d+) of (\d+)", label.strip())
    assert match, label
    return int(match.group(1)), int(match.group(2))


def test_a_keyboard_session_resumes_and_stores_what_the_terminal_judge_stores(
    world: World, browser: Any
) -> None:
    run = RunDir(world.run_dir)
    models = run.read_manifest().model_ids
    queue, done = pending_comparisons(run, "human:kbd", models)
    assert done == 0 and len(queue) == len(KEYS)
    expected = {c.item.id: c.shown for c in queue}
    order: list[str] = []
    with signed_in(browser, world) as visit:
        page = visit.page
        visit.open(f"/gaptests/{RUN_NAME}")
        page.locator("#as").focus()
        page.keyboard.press("Control+A")
        page.keyboard.type("kbd")
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert _progress(visit) == (1, len(KEYS))
        visit.shot("judge")
        for key in KEYS[:3]:
            order.append(_decide(visit, run, expected, key))
        assert len(_lines(world, "human:kbd")) == 3
        visit.open(f"/gaptests/{RUN_NAME}")  # stop, and come back later
        visit.open(f"/gaptests/{RUN_NAME}/judge?as=kbd")
        assert _progress(visit) == (4, len(KEYS))
        assert page.locator("#progress").get_attribute("value") == "3"
        for key in KEYS[3:]:
            order.append(_decide(visit, run, expected, key))
        assert page.locator("#finished").is_visible()
        tally = page.locator("table", has_text="revealed").inner_text()
        assert any(m in tally for m in models)
        visit.shot("judge-finished")
        visit.open(f"/gaptests/{RUN_NAME}")
        page.get_by_role("button", name="Rebuild the report").focus()
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert visit.errors == [] and visit.outside() == []

    lines = _lines(world, "human:kbd")
    assert [line["item"] for line in lines] == order
    for line, key in zip(lines, KEYS, strict=True):
        assert set(line) == FIELDS and line["v"] == 1 and line["ui"] == "web"
        assert tuple(line["shown"]) == expected[line["item"]]
        assert line["choice"] == CHOICE[key]
        winner = {"A": line["shown"][0], "B": line["shown"][1], "tie": "tie"}.get(line["choice"])
        assert line["winner"] == winner
    # The terminal judge's own readers see the web verdicts: nothing left, 5 verdicts (1 skip).
    outcome = json.loads(cli("gaptest", "judge", str(world.run_dir), "--as", "kbd", "--json"))
    assert outcome["remaining"] == 0 and outcome["decided"] == 0
    mine = [v for v in human_verdicts(run) if v.judge == "human:kbd"]
    assert len(mine) == len(KEYS) - KEYS.count("s")
    report = json.loads((run.report_dir / "report.json").read_text())
    assert report["judges"]["human:kbd"] == len(mine)


def test_a_repeated_post_records_one_verdict(world: World) -> None:
    headers = {"authorization": f"Bearer {ADMIN_KEY}"}
    url = f"{world.ui}/gaptests/{RUN_NAME}/judge"
    with httpx.Client(headers=headers, trust_env=False, timeout=10) as client:
        page = client.get(url, params={"as": "twice"})
        token = re.search(r'name="comparison" value="([0-9a-f]+)"', page.text)
        assert token
        form = {"as": "twice", "comparison": token.group(1), "choice": "A"}
        first, second = client.post(url, data=form), client.post(url, data=form)
        assert first.status_code == second.status_code == 303
        bad = client.post(url, data={**form, "comparison": "0" * 20, "choice": "B"})
        assert bad.status_code == 303
    lines = _lines(world, "human:twice")
    assert len(lines) == 1 and lines[0]["choice"] == "A" and lines[0]["ui"] == "web"


def test_skipped_comparisons_come_back_once_when_asked(world: World) -> None:
    headers = {"authorization": f"Bearer {ADMIN_KEY}"}
    url = f"{world.ui}/gaptests/{RUN_NAME}/judge"
    token = re.compile(r'name="comparison" value="([0-9a-f]+)"')

    def judge_all(client: httpx.Client, params: dict[str, str], choices: list[str]) -> None:
        page = client.get(url, params=params, follow_redirects=True)
        for choice in choices:
            found = token.search(page.text)
            assert found, page.text
            form = {**dict(page.url.params), "comparison": found.group(1), "choice": choice}
            page = client.post(url, data=form, follow_redirects=True)
        assert "All judged" in page.text

    with httpx.Client(headers=headers, trust_env=False, timeout=10) as client:
        judge_all(client, {"as": "skipper"}, ["skip"] * len(KEYS))
        done = client.get(url, params={"as": "skipper"})
        assert "All judged" in done.text and "Every comparison was skipped" in done.text
        judge_all(client, {"as": "skipper", "skipped": "1"}, ["A"] + ["skip"] * (len(KEYS) - 1))
    choices = [line["choice"] for line in _lines(world, "human:skipper")]
    assert choices == ["skip"] * len(KEYS) + ["A"] + ["skip"] * (len(KEYS) - 1)
