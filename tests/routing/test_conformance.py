"""What each backend can honour of a chat request (routing/conformance.py), on its own."""

from __future__ import annotations

from typing import Any

import pytest

from parity.catalog.deployment import Deployment, Engine, ProviderKind
from parity.catalog.registry import default_catalog
from parity.config import Settings
from parity.errors import InvalidField
from parity.routing.conformance import (
    Conformance,
    build_conformance,
    capabilities_of,
    output_limit,
)

LOCAL = Deployment(id="local/smollm2", provider=ProviderKind.LOCAL, context_window=2048)
LLAMA = Deployment(
    id="llama", provider=ProviderKind.OPENAI, base_url="http://h/v1", engine=Engine.LLAMA_CPP
)
VLLM = Deployment(id="vllm", provider=ProviderKind.OPENAI, base_url="http://h/v1")
CLAUDE = Deployment(id="claude", provider=ProviderKind.ANTHROPIC)
ASK: list[Any] = [{"role": "user", "content": "Hi"}]


def _fit(deployment: Deployment, drop: bool | list[str] = False, **fields: Any) -> Any:
    conformance = Conformance(
        {deployment.id: capabilities_of(deployment, drop_params=drop, output_limit=512)}
    )
    return conformance.fit(deployment.id, {"model": deployment.id, "messages": ASK, **fields})


def _refused(deployment: Deployment, **fields: Any) -> InvalidField:
    with pytest.raises(InvalidField) as caught:
        _fit(deployment, **fields)
    return caught.value


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("temperature", 2.5, "decimal_above_max_value"),
        ("temperature", -0.1, "decimal_below_min_value"),
        ("top_p", 1.01, "decimal_above_max_value"),
        ("presence_penalty", -3, "decimal_below_min_value"),
        ("frequency_penalty", 2.5, "decimal_above_max_value"),
        ("top_logprobs", 21, "decimal_above_max_value"),
    ],
)
def test_values_outside_openais_ranges_are_refused_on_every_backend(
    field: str, value: float, code: str
) -> None:
    for deployment in (LOCAL, VLLM, CLAUDE):
        error = _refused(deployment, **{field: value})
        assert (error.param, error.code, error.status) == (field, code, 400)
        assert str(value) in error.message


@pytest.mark.parametrize(
    ("field", "value"), [("temperature", 2), ("temperature", 0), ("top_p", 1), ("top_p", 0)]
)
def test_the_ends_of_each_range_are_allowed(field: str, value: float) -> None:
    assert _fit(VLLM, False, **{field: value}).dropped == ()


def test_n_is_refused_where_the_server_ignores_it_and_passed_on_where_it_does_not() -> None:
    for deployment in (LOCAL, LLAMA, CLAUDE):
        error = _refused(deployment, n=3)
        assert (error.param, error.code) == ("n", "unsupported_parameter")
        assert deployment.id in error.message
    fitted = _fit(VLLM, n=3)
    assert fitted.body["n"] == 3 and fitted.dropped == ()
    assert _fit(LOCAL, n=1).dropped == ()  # one choice is what every backend gives


def test_anthropic_refuses_what_it_would_have_dropped_without_a_word() -> None:
    assert _refused(CLAUDE, logprobs=True).param == "logprobs"
    assert _refused(CLAUDE, top_logprobs=2).param == "logprobs"
    assert _refused(CLAUDE, presence_penalty=0.5).param == "presence_penalty"
    assert _refused(CLAUDE, logit_bias={"50256": -100}).param == "logit_bias"
    # values that change nothing are no reason to refuse
    assert _fit(CLAUDE, presence_penalty=0, logprobs=False, logit_bias={}).dropped == ()
    # llama.cpp streams log probabilities (with top_logprobs), so they pass
    assert _fit(LOCAL, logprobs=True, top_logprobs=2, stream=True).dropped == ()


def test_max_tokens_past_the_limit_is_refused_in_openais_words() -> None:
    error = _refused(LOCAL, max_tokens=4096)
    assert error.param == "max_tokens"
    assert error.message == (
        "max_tokens is too large: 4096. This model supports at most 512 completion tokens, "
        "whereas you provided 4096."
    )
    assert _refused(LOCAL, max_completion_tokens=513).param == "max_completion_tokens"
    assert _fit(LOCAL, max_tokens=512).dropped == ()


def test_drop_params_drops_each_field_and_says_which() -> None:
    fitted = _fit(
        CLAUDE,
        drop=True,
        n=2,
        temperature=3,
        logprobs=True,
        top_logprobs=3,
        max_tokens=9999,
        top_p=0.5,
    )
    assert fitted.dropped == ("temperature", "n", "logprobs", "top_logprobs", "max_tokens")
    body = fitted.body
    assert "n" not in body and "temperature" not in body and "logprobs" not in body
    assert "top_logprobs" not in body
    assert body["max_tokens"] == 512  # lowered to the limit, not left out
    assert body["top_p"] == 0.5  # what was fine stays


def test_a_list_drops_only_the_fields_it_names() -> None:
    fitted = _fit(LOCAL, drop=["n"], n=4)
    assert fitted.dropped == ("n",) and "n" not in fitted.body
    error = _refused_with_drop(LOCAL, ["n"], n=4, temperature=9)
    assert error.param == "temperature"


def _refused_with_drop(deployment: Deployment, drop: list[str], **fields: Any) -> InvalidField:
    with pytest.raises(InvalidField) as caught:
        _fit(deployment, drop, **fields)
    return caught.value


def test_a_deployments_own_drop_params_wins_over_the_gateways() -> None:
    strict = LOCAL.model_copy(update={"drop_params": False})
    with pytest.raises(InvalidField):
        Conformance({"l": capabilities_of(strict, drop_params=True)}).fit(
            "l", {"messages": ASK, "n": 2}
        )
    lenient = LOCAL.model_copy(update={"drop_params": ["n"]})
    fitted = Conformance({"l": capabilities_of(lenient)}).fit("l", {"messages": ASK, "n": 2})
    assert fitted.dropped == ("n",)


def test_a_body_without_the_checked_fields_is_passed_on_as_it_is() -> None:
    body = {"model": "local/smollm2", "messages": ASK, "stream": True}
    assert Conformance({}).fit("local/smollm2", body).body is body


def test_the_output_limit_comes_from_what_is_known_never_from_the_default_window() -> None:
    catalog = default_catalog()
    assert output_limit(VLLM, None, None) is None  # the 8192 default is a guess
    assert output_limit(LOCAL, catalog.card("smollm2-135m-instruct"), 1024) == 1024
    gpt = Deployment(
        id="gpt-5.4", provider=ProviderKind.OPENAI, base_url="http://h/v1", card="gpt-5.4"
    )
    assert output_limit(gpt, catalog.card("gpt-5.4"), None) == 128_000
    own = gpt.model_copy(update={"max_output_tokens": 100})
    assert output_limit(own, catalog.card("gpt-5.4"), None) == 100


def test_the_gateway_builds_the_local_limit_from_n_ctx() -> None:
    settings = Settings(models=[LOCAL], local={"n_ctx": 1024}, drop_params=["max_tokens"])
    conformance = build_conformance(settings, {LOCAL.id: LOCAL})
    caps = conformance.capabilities(LOCAL.id)
    assert caps.output_limit == 1024 and caps.drop == frozenset({"max_tokens"})
    assert not caps.choices
