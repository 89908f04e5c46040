"""The response cache through a real gateway process, with the official openai SDK.

The fake vendor records every request it gets, so "served from the cache" is checked by the
upstream never seeing the second request, and the ledger rows say what each hit saved.
"""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import httpx
import openai
import pytest

from tests.conftest import GatewayFactory
from tests.fakes.fixtures import VendorFake
from tests.observability.scrape import scrape, value
from tests.servers import free_port, wait_for_rows

PRICE = {"input": 1000.0, "output": 1000.0}  # USD per million tokens: costs are easy to read
ENV = {"FAKE_KEY": "sk-test", "KEY_A": "sk-a", "KEY_B": "sk-b", "KEY_C": "sk-c"}
MESSAGES: list[Any] = [{"role": "user", "content": "What is the capital of France?"}]


def _model(vendor: VendorFake, model_id: str, upstream: str, residency: str = "on_prem") -> Any:
    return {
        "id": model_id,
        "provider": "openai",
        "base_url": vendor.openai_url,
        "api_key_env": "FAKE_KEY",
        "upstream_model": upstream,
        "residency": residency,
        "price": PRICE,
    }


def _client(url: str, key: str = "unused") -> openai.OpenAI:
    return openai.OpenAI(base_url=url, api_key=key, max_retries=0)


def _chat_calls(vendor: VendorFake) -> int:
    return sum(1 for r in vendor.received() if r["path"].endswith("/chat/completions"))


def test_a_repeated_request_is_answered_from_the_cache_and_the_ledger_says_what_it_saved(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    config = {
        "models": [_model(vendor, "fake", "echo-model")],
        "cache": {"routes": {"fake": {"ttl_s": 60}}},
    }
    gw = gateway_factory(config, env=ENV)
    client = _client(gw.v1)
    first = client.chat.completions.with_raw_response.create(
        model="fake", messages=MESSAGES, user="alice"
    )
    # Differs only in a non-semantic field (user): the same entry.
    second = client.chat.completions.with_raw_response.create(
        model="fake", messages=MESSAGES, user="bob"
    )
    assert first.headers["x-parity-cache"] == "miss"
    assert second.headers["x-parity-cache"] == "hit"
    assert second.parse().choices[0].message.content == first.parse().choices[0].message.content
    assert second.parse().model == "fake"
    assert _chat_calls(vendor) == 1
    fresh = client.chat.completions.with_raw_response.create(
        model="fake", messages=MESSAGES, extra_headers={"cache-control": "no-cache"}
    )
    assert fresh.headers["x-parity-cache"] == "miss"  # the client asked for a fresh answer
    assert _chat_calls(vendor) == 2
    other = client.chat.completions.with_raw_response.create(
        model="fake", messages=MESSAGES, temperature=0.5
    )
    assert other.headers["x-parity-cache"] == "miss"  # a sampling parameter is in the key
    assert _chat_calls(vendor) == 3

    ids = [r.headers["x-parity-request-id"] for r in (first, second)]
    rows = wait_for_rows(gw.ledger_url, set(ids))
    miss, hit = rows[ids[0]], rows[ids[1]]
    assert miss.cache == "miss" and miss.cost_usd and miss.cost_usd > 0
    assert hit.cache == "hit" and hit.cost_usd == 0.0 and hit.input_tokens == 0
    assert hit.cost_saved_usd == pytest.approx(miss.cost_usd)
    assert hit.model_answered == "fake" and hit.status == 200
    assert hit.trace is not None and hit.trace["attempts"] == []
    samples = scrape(gw.url)
    assert value(samples, "parity_cache_requests_total", result="hit") == 1
    assert value(samples, "parity_cache_requests_total", result="miss") == 3
    assert value(samples, "parity_cache_saved_usd_total") == pytest.approx(miss.cost_usd)
    usage = subprocess.run(
        [sys.executable, "-m", "parity", "usage", "--ledger", gw.ledger_url],
        capture_output=True,
        text=True,
        check=True,
        env=gw.env,
    )
    assert f"response cache: 1 hits saved ${miss.cost_usd:.4f}" in usage.stdout


def test_a_stream_is_cached_and_replayed_as_a_stream(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    config = {"models": [_model(vendor, "fake", "echo-model")], "cache": {"routes": {"fake": {}}}}
    gw = gateway_factory(config, env=ENV)
    client = _client(gw.v1)
    texts, words = [], []
    for _ in range(2):
        raw = client.chat.completions.with_raw_response.create(
            model="fake", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        words.append(raw.headers["x-parity-cache"])
        chunks = list(raw.parse())
        texts.append("".join(c.choices[0].delta.content or "" for c in chunks if c.choices))
        assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens > 0
    assert words == ["miss", "hit"]
    assert texts[0] == texts[1] and texts[0]
    assert _chat_calls(vendor) == 1
    plain = client.chat.completions.with_raw_response.create(model="fake", messages=MESSAGES)
    assert plain.headers["x-parity-cache"] == "miss"  # a stream's entry is not a whole answer


def test_tenants_keys_and_sensitive_requests_never_share_an_answer(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    config = {
        "models": [
            _model(vendor, "down", "error-500"),
            _model(vendor, "up", "echo-model"),
            _model(vendor, "vendor", "echo-model", residency="vendor"),
        ],
        "routes": {"parity/auto": {"default": {"route": "down", "fallbacks": ["up"]}}},
        "retry": {"attempts": 1},
        "keys": [
            {"id": "a", "key_env": "KEY_A", "tenant": "acme"},
            {"id": "b", "key_env": "KEY_B", "tenant": "acme", "models": ["down"]},
            {"id": "c", "key_env": "KEY_C", "tenant": "globex"},
        ],
        "cache": {"routes": {"parity/auto": {}, "vendor": {}}},
    }
    gw = gateway_factory(config, env=ENV)
    a, b, c = (_client(gw.v1, f"sk-{name}") for name in "abc")
    answer = a.chat.completions.with_raw_response.create(model="parity/auto", messages=MESSAGES)
    assert answer.headers["x-parity-model"] == "up"  # the first deployment failed over
    again = a.chat.completions.with_raw_response.create(model="parity/auto", messages=MESSAGES)
    assert again.headers["x-parity-cache"] == "hit"
    other_tenant = c.chat.completions.with_raw_response.create(
        model="parity/auto", messages=MESSAGES
    )
    assert other_tenant.headers["x-parity-cache"] == "miss"
    # Same tenant, same plan head, but key b may not use 'up', which gave the cached answer.
    with pytest.raises(openai.APIStatusError) as refused:
        b.chat.completions.create(model="parity/auto", messages=MESSAGES)
    assert refused.value.response.headers["x-parity-cache"] == "miss"

    secret: list[Any] = [{"role": "user", "content": "Mail jane.doe@example.com the invoice"}]
    for _ in range(2):
        raw = a.chat.completions.with_raw_response.create(model="vendor", messages=secret)
        assert raw.headers["x-parity-cache"] == "bypass"
    rows = wait_for_rows(gw.ledger_url, {raw.headers["x-parity-request-id"]})
    assert next(iter(rows.values())).cache == "bypass"
    vendor_calls = [r for r in vendor.received() if "jane.doe" in str(r.get("body"))]
    assert len(vendor_calls) == 2


def test_replicas_share_a_redis_cache_and_a_redis_that_is_down_means_no_cache(
    vendor: VendorFake, gateway_factory: GatewayFactory, redis_prefix: str
) -> None:
    def config(url: str) -> dict[str, Any]:
        cache = {"backend": "redis", "redis_url": url, "redis_prefix": redis_prefix}
        return {
            "models": [_model(vendor, "fake", "echo-model")],
            "cache": {**cache, "routes": {"fake": {}}},
        }

    one = gateway_factory(config("redis://127.0.0.1:6379/0"), env=ENV)
    two = gateway_factory(config("redis://127.0.0.1:6379/0"), env=ENV)
    first = _client(one.v1).chat.completions.with_raw_response.create(
        model="fake", messages=MESSAGES
    )
    assert first.headers["x-parity-cache"] == "miss"
    deadline = time.monotonic() + 5  # the write happens just after the answer
    while True:
        second = _client(two.v1).chat.completions.with_raw_response.create(
            model="fake", messages=MESSAGES
        )
        if second.headers["x-parity-cache"] == "hit" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert second.headers["x-parity-cache"] == "hit"

    nobody = f"redis://127.0.0.1:{free_port()}/0"
    down = gateway_factory(config(nobody), env=ENV)
    started = time.monotonic()
    for _ in range(3):
        raw = _client(down.v1).chat.completions.with_raw_response.create(
            model="fake", messages=MESSAGES
        )
        assert raw.status_code == 200 and raw.headers["x-parity-cache"] == "miss"
    assert time.monotonic() - started < 10
    samples = scrape(down.url)
    assert value(samples, "parity_cache_errors_total", backend="redis", operation="get") >= 1
    assert "response cache (redis) failed on get" in down.output()


def test_the_cache_table_lives_in_a_shared_postgres_ledger(
    vendor: VendorFake, gateway_factory: GatewayFactory, postgres_url: str
) -> None:
    config = {
        "models": [_model(vendor, "fake", "echo-model")],
        "ledger": {"url": postgres_url},
        "cache": {"keys": {"a": {"ttl_s": 30}}},
        "keys": [{"id": "a", "key_env": "KEY_A"}, {"id": "b", "key_env": "KEY_B"}],
    }
    one, two = gateway_factory(config, env=ENV), gateway_factory(config, env=ENV)
    body = {"model": "fake", "messages": MESSAGES, "max_tokens": 7}
    words = []
    for gw, key in ((one, "sk-a"), (two, "sk-a"), (two, "sk-b")):
        for _ in range(50):
            raw = httpx.post(
                f"{gw.v1}/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}
            )
            if key == "sk-b" or raw.headers.get("x-parity-cache") != "miss" or gw is one:
                break
            time.sleep(0.05)  # the first gateway's write is in flight
        assert raw.status_code == 200
        words.append(raw.headers.get("x-parity-cache"))
    assert words == ["miss", "hit", None]  # key b did not opt in


def test_a_cache_scope_that_names_nothing_is_a_config_error_at_its_line(tmp_path: Any) -> None:
    from parity.config.loading import check_config_file

    path = tmp_path / "parity.yaml"
    path.write_text(
        "models:\n"
        "  - id: fake\n"
        "    provider: openai\n"
        "    base_url: http://127.0.0.1:9/v1\n"
        "cache:\n"
        "  routes:\n"
        "    fakee: {}\n"
    )
    (problem,) = check_config_file(path)
    assert problem.line == 7 and "'fakee' is neither a route alias nor a listed model" in str(
        problem
    )
    path.write_text("cache:\n  backend: redis\n  routes: {parity/auto: {}}\n")
    (problem,) = check_config_file(path)
    assert problem.line == 2 and "needs cache.redis_url or limits.redis_url" in problem.message


def test_the_semantic_cache_serves_a_rephrased_question_and_never_another_context(
    vendor: VendorFake, gateway_factory: GatewayFactory
) -> None:
    pytest.importorskip("sentence_transformers", reason="needs parity[embed]")
    config = {
        "models": [_model(vendor, "fake", "echo-model")],
        "cache": {"routes": {"fake": {}}, "semantic": {"enabled": True}},
    }
    gw = gateway_factory(config, env=ENV)
    client = _client(gw.v1)

    def ask(*turns: str) -> Any:
        messages: list[Any] = [
            {"role": "user" if i % 2 == 0 else "assistant", "content": t}
            for i, t in enumerate(turns)
        ]
        return client.chat.completions.with_raw_response.create(model="fake", messages=messages)

    first = ask("What is the capital of France?")
    assert first.headers["x-parity-cache"] == "miss"
    time.sleep(0.5)  # the answer and its vector are stored after the response
    similar = ask("Tell me the capital city of France.")
    assert similar.headers["x-parity-cache"].startswith("hit; similarity=0.9")
    assert similar.parse().choices[0].message.content == "Echo: What is the capital of France?"
    assert ask("What is the capital of Germany?").headers["x-parity-cache"] == "miss"
    # The same last question after another conversation is never the same request.
    context = ask("We talk about Texas.", "Sure.", "Tell me the capital city of France.")
    assert context.headers["x-parity-cache"] == "miss"
    rows = wait_for_rows(gw.ledger_url, {similar.headers["x-parity-request-id"]})
    (row,) = rows.values()
    assert row.cache == "hit" and row.trace is not None
    assert row.trace["cache"]["similarity"] > 0.9
    samples = scrape(gw.url)
    assert value(samples, "parity_cache_requests_total", result="semantic_hit") == 1
