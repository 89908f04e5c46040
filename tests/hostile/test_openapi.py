"""GET /openapi.json: served by the gateway, true to its route table, and a valid OpenAPI 3 doc."""

from __future__ import annotations

import httpx

from parity.config import Settings
from parity.gateway.app import Gateway
from parity.gateway.openapi import OPERATIONS, build_openapi
from tests.hostile.conftest import ADMIN_KEY
from tests.servers import GatewayProcess

_METHODS = {"get", "post", "put", "patch", "delete", "head", "options"}


def _served(document: dict[str, object]) -> set[tuple[str, str]]:
    paths = document["paths"]
    assert isinstance(paths, dict)
    return {
        (path, method.upper())
        for path, item in paths.items()
        for method in item
        if method in _METHODS
    }


def test_every_route_is_documented_and_every_operation_is_served() -> None:
    settings = Settings.model_validate({"models": [], "metrics": {"enabled": True}})
    table = Gateway(settings, {"PARITY_ADMIN_KEY": ADMIN_KEY}).route_table()
    routes = {(path, method) for path, methods in table.items() for method in methods}
    assert routes - set(OPERATIONS) == set(), "served but not documented"
    assert set(OPERATIONS) - routes == set(), "documented but not served"


def test_the_document_lists_only_what_is_served() -> None:
    document = build_openapi({"/healthz": ["GET"]}, deployments=[], aliases=[], auth_required=False)
    assert _served(document) == {("/healthz", "GET")}


def test_the_gateway_serves_its_document(hostile_gateway: GatewayProcess) -> None:
    answer = httpx.get(f"{hostile_gateway.url}/openapi.json", timeout=5)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    document = answer.json()
    assert document["openapi"].startswith("3.0")
    assert ("/v1/chat/completions", "POST") in _served(document)
    model = document["components"]["schemas"]["ChatCompletionRequest"]["properties"]["model"]
    assert model["enum"] == ["gpt-fake", "gpt-fake-2", "parity/auto"]
    chat = document["paths"]["/v1/chat/completions"]["post"]
    assert chat["security"], "keys exist, so chat calls need one"


def test_a_wrong_method_is_405_with_allow(hostile_gateway: GatewayProcess) -> None:
    answer = httpx.post(f"{hostile_gateway.url}/openapi.json", timeout=5)
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET"
    assert set(answer.json()["error"]) == {"message", "type", "param", "code"}
