"""Feedback and task names through a real gateway, the openai SDK, curl-like httpx and the CLI."""

from __future__ import annotations

import json
from typing import Any

import httpx
import openai
import pytest

from parity.store.base import Feedback
from parity.store.feedback import summary
from tests.conftest import GatewayFactory
from tests.fakes.fixtures import VendorFake
from tests.security.common import (
    ADMIN_KEY,
    GATEWAY_ENV,
    create_key,
    eventually,
    gateway_config,
    parity,
    unique,
)
from tests.servers import wait_for_rows

HELLO = [{"role": "user", "content": "hello"}]


def _ask(url: str, key: str, **extra: Any) -> str:
    """One chat call with the openai SDK; its x-parity-request-id."""
    with openai.OpenAI(base_url=url, api_key=key, max_retries=0) as client:
        answer = client.chat.completions.with_raw_response.create(
            model="parity/auto",
            messages=HELLO,  # type: ignore[arg-type]
            **extra,
        )
    return str(answer.headers["x-parity-request-id"])


def _feedback(url: str, key: str | None, body: Any) -> httpx.Response:
    headers = {"authorization": f"Bearer {key}"} if key else {}
    return httpx.post(f"{url}/v1/feedback", json=body, headers=headers, timeout=10)


def test_task_names_reach_the_ledger_and_route_rules(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    config = gateway_config(vendor, ledger={"prompts": "full"})
    config["routes"]["parity/auto"]["rules"] = [
        {"name": "tickets", "when": {"task.name": "ticket-extract"}, "then": {"route": "pricey"}}
    ]
    gateway = gateway_factory(config, env={"FAKE_KEY": "sk-fake"})
    by_body = _ask(gateway.v1, "x", metadata={"task": "ticket-extract"})
    with openai.OpenAI(base_url=gateway.v1, api_key="x", max_retries=0) as client:
        raw = client.chat.completions.with_raw_response.create(
            model="parity/auto",
            messages=HELLO,  # type: ignore[arg-type]
            extra_headers={"x-parity-task": "summarise"},
        )
    by_header = raw.headers["x-parity-request-id"]
    plain = _ask(gateway.v1, "x")
    rows = wait_for_rows(gateway.ledger_url, {by_body, by_header, plain})
    assert rows[by_body].task == "ticket-extract" and rows[by_body].model_answered == "pricey"
    assert rows[by_header].task == "summarise" and rows[by_header].model_answered == "cheap"
    assert rows[plain].task is None
    assert rows[by_body].response_text  # ledger.prompts: full keeps the answer text

    bad = httpx.post(
        f"{gateway.v1}/chat/completions",
        json={"model": "parity/auto", "messages": HELLO, "metadata": {"task": "no spaces!"}},
        timeout=10,
    )
    assert bad.status_code == 400
    assert bad.json()["error"]["param"] == "metadata.task"

    logs = parity("logs", "--ledger", gateway.ledger_url, "--task", "summarise", "--json")
    assert logs.returncode == 0, logs.stderr
    assert [r["request_id"] for r in json.loads(logs.stdout)] == [by_header]
    usage = parity("usage", "--ledger", gateway.ledger_url, "--task", "ticket-extract", "--json")
    assert usage.returncode == 0, usage.stderr
    assert [(u["model"], u["requests"]) for u in json.loads(usage.stdout)] == [("pricey", 1)]


def test_feedback_over_http_follows_the_key_rules_and_shows_in_logs(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory(gateway_config(vendor), env=GATEWAY_ENV)
    alice, bob = unique("alice"), unique("bob")
    alice_key = create_key(gateway.ledger_url, alice)["key"]
    bob_key = create_key(gateway.ledger_url, bob)["key"]
    eventually(lambda: _feedback(gateway.url, bob_key, {}).status_code == 400)
    mine = _ask(gateway.v1, alice_key)

    # Sent at once: the row may still be in the writer's queue, and is waited for.
    done = _feedback(
        gateway.url, alice_key, {"request_id": mine, "good": False, "correction": "hi there"}
    )
    assert done.status_code == 201, done.text
    stored = done.json()
    assert stored["object"] == "feedback" and stored["key_id"] == alice
    assert stored["source"] == "user" and stored["id"].startswith("fb_")

    hidden = _feedback(gateway.url, bob_key, {"request_id": mine, "score": 1})
    assert hidden.status_code == 404
    assert hidden.json()["error"]["code"] == "request_not_found"
    assert _feedback(gateway.url, None, {"request_id": mine, "score": 1}).status_code == 401
    admin = _feedback(
        gateway.url, ADMIN_KEY, {"request_id": mine, "score": 0.5, "source": "reviewer:ann"}
    )
    assert admin.status_code == 201, admin.text
    for body, param in [
        ({"request_id": mine}, None),
        ({"request_id": mine, "score": 2}, "score"),
        ({"request_id": mine, "good": "yes"}, "good"),
        ({"request_id": mine, "good": True, "stars": 5}, None),
        ({"request_id": "../etc", "good": True}, "request_id"),
    ]:
        refused = _feedback(gateway.url, alice_key, body)
        assert refused.status_code == 400, (body, refused.text)
        assert refused.json()["error"]["param"] == param
    not_json = httpx.post(
        f"{gateway.url}/v1/feedback",
        content=b"{",
        headers={"authorization": f"Bearer {alice_key}"},
        timeout=10,
    )
    assert not_json.status_code == 400

    logs = parity("logs", "--ledger", gateway.ledger_url, "--json")
    assert logs.returncode == 0, logs.stderr
    row = next(r for r in json.loads(logs.stdout) if r["request_id"] == mine)
    assert [(f["source"], f["score"], f["good"]) for f in row["feedback"]] == [
        ("reviewer:ann", 0.5, None),
        ("user", None, False),
    ]
    assert summary([Feedback(**f) for f in row["feedback"]]) == "0.5 (+1)"


def test_the_feedback_cli_writes_to_the_ledger_and_refuses_bad_input(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory(gateway_config(vendor), env={"FAKE_KEY": "sk-fake"})
    request_id = _ask(gateway.v1, "x")
    wait_for_rows(gateway.ledger_url, {request_id})
    done = parity(
        "feedback", request_id, "--bad", "--label", "wrong-format", "--by", "ops",
        "--correction", '{"ok": true}', "--ledger", gateway.ledger_url, "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["label"] == "wrong-format"
    for args, words in [
        (["req_nope", "--good"], "no request 'req_nope'"),
        ([request_id], "at least one of"),
        ([request_id, "--good", "--bad"], "not both"),
        ([request_id, "--score", "1.5"], "score must be"),
    ]:
        failed = parity("feedback", *args, "--ledger", gateway.ledger_url)
        assert failed.returncode == 1, failed.stdout
        assert words in failed.stderr and len(failed.stderr.strip().splitlines()) == 1
    logs = parity("logs", "--ledger", gateway.ledger_url, "--json")
    (row,) = json.loads(logs.stdout)
    assert [f["source"] for f in row["feedback"]] == ["ops"]


@pytest.mark.parametrize("path", ["/openapi.json"])
def test_the_openapi_document_lists_feedback(
    path: str, vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    gateway = gateway_factory(gateway_config(vendor), env={"FAKE_KEY": "sk-fake"})
    document = httpx.get(gateway.url + path, timeout=10).json()
    operation = document["paths"]["/v1/feedback"]["post"]
    assert operation["operationId"] == "createFeedback"
    assert "FeedbackCreate" in document["components"]["schemas"]
