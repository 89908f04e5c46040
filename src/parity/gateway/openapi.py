"""The OpenAPI 3.0 document of every endpoint the gateway serves, at GET /openapi.json.

It is built once at start-up from the gateway's own route table: an operation is listed only when
the gateway serves it, and a test checks that every served route has an operation here. The
chat request's ``model`` is an enum of the configured models and routes, because any other name is
answered 404. Every error response is OpenAI's error body (components/schemas/Error).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from parity import __version__
from parity.gateway.openapi_admin import ADMIN_OPERATIONS, admin_schemas
from parity.gateway.openapi_doors import DOOR_OPERATIONS, door_schemas
from parity.gateway.openapi_embeddings import EMBEDDINGS_OPERATIONS, embeddings_schemas
from parity.gateway.openapi_feedback import FEEDBACK_OPERATIONS, feedback_schemas
from parity.gateway.openapi_schemas import error_responses, json_content, schemas

__all__ = ["OPERATIONS", "build_openapi", "openapi_bytes"]

Operation = dict[str, Any]

_JSON = "application/json"
_CHAT_ERRORS = (400, 401, 403, 404, 408, 413, 429, 431, 500, 502, 503, 504)
_SSE_EVENT = {
    "type": "object",
    "description": "One event: data is a chat.completion.chunk as JSON, or [DONE].",
    "properties": {"data": {"type": "string"}},
}
_OPEN_WITHOUT_KEYS = (
    ["chat"],
    ["completions"],
    ["embeddings"],
    ["models"],
    ["feedback"],
    ["responses"],
    ["messages"],
)
_PARITY_HEADERS = {
    "x-parity-request-id": {"description": "The request's id, also in the ledger and logs."},
    "x-parity-model": {"description": "The deployment that answered ('none' on early errors)."},
    "x-parity-route": {"description": "Which rule chose the model, and why."},
}


def _chat(operation_id: str, summary: str) -> Operation:
    ok = {
        "description": "The completion; with stream=true, server-sent events ending [DONE].",
        "headers": _PARITY_HEADERS,
        "content": {
            _JSON: {"schema": {"$ref": "#/components/schemas/ChatCompletion"}},
            "text/event-stream": {"schema": _SSE_EVENT},
        },
    }
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": ["chat"],
        "requestBody": {"required": True, **json_content("ChatCompletionRequest")},
        "responses": {"200": ok, **error_responses(*_CHAT_ERRORS)},
        "security": [{"bearer": []}, {"x-api-key": []}],
    }


def _get(operation_id: str, summary: str, ok: dict[str, Any], tag: str) -> Operation:
    return {
        "operationId": operation_id,
        "summary": summary,
        "tags": [tag],
        "responses": {"200": ok, **error_responses()},
    }


def _probes() -> dict[tuple[str, str], Operation]:
    ready = {"description": "Ready.", **json_content("Readiness")}
    readyz = _get("readiness", "Whether the gateway can serve requests.", ready, "health")
    readyz["responses"]["503"] = {
        "description": "Not ready (same body).",
        **json_content("Readiness"),
    }
    metrics = {
        "description": "Prometheus text exposition format.",
        "content": {"text/plain": {"schema": {"type": "string"}}},
    }
    document = {"description": "This document.", **json_content({"type": "object"})}
    return {
        ("/healthz", "GET"): _get(
            "health",
            "The process answers.",
            {"description": "OK.", **json_content("Health")},
            "health",
        ),
        ("/readyz", "GET"): readyz,
        ("/metrics", "GET"): _get("metrics", "Prometheus metrics.", metrics, "health"),
        ("/openapi.json", "GET"): _get("openapi", "This OpenAPI document.", document, "meta"),
    }


def _operations() -> dict[tuple[str, str], Operation]:
    models = {"description": "Deployments and route aliases.", **json_content("ModelList")}
    list_models = _get(
        "listModels", "Models and routes the calling key may name.", models, "models"
    )
    list_models["responses"].update(error_responses(401))
    list_models["security"] = [{"bearer": []}, {"x-api-key": []}]
    model = {"description": "The model.", **json_content("Model")}
    get_model = _get(
        "retrieveModel", "One model or route the calling key may name.", model, "models"
    )
    get_model["parameters"] = [
        {
            "name": "model",
            "in": "path",
            "required": True,
            "description": "A model id or route; ids have slashes (local/smollm2), sent as is "
            "or as %2F. Any other id, or one the key may not use, is 404 model_not_found.",
            "schema": {"type": "string"},
        }
    ]
    get_model["responses"].update(error_responses(401, 404))
    get_model["security"] = list_models["security"]
    return {
        ("/v1/chat/completions", "POST"): _chat("createChatCompletion", "Chat completion."),
        ("/chat/completions", "POST"): _chat("createChatCompletionAlias", "Alias without /v1."),
        ("/v1/models", "GET"): list_models,
        ("/v1/models/{model}", "GET"): get_model,
        **_probes(),
        **ADMIN_OPERATIONS,
        **FEEDBACK_OPERATIONS,
        **DOOR_OPERATIONS,
        **EMBEDDINGS_OPERATIONS,
    }


OPERATIONS = _operations()
"""Every operation the gateway can serve, by (path template, method)."""


def _security_schemes() -> dict[str, Any]:
    return {
        "bearer": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer"},
        "x-api-key": {"type": "apiKey", "in": "header", "name": "x-api-key"},
    }


def build_openapi(
    routes: Mapping[str, Iterable[str]],
    *,
    deployments: list[str],
    aliases: list[str],
    auth_required: bool,
    embedders: Mapping[str, int] | None = None,
    chatless: Iterable[str] = (),
) -> dict[str, Any]:
    """The document for ``routes`` (path template -> methods) as this gateway serves them.

    ``deployments`` and ``aliases`` are the model names a request may give; ``embedders`` the
    deployments that serve embeddings (with their ``max_inputs``), ``chatless`` those that
    serve no chat. ``auth_required`` says whether chat calls and the model list need a key
    (any key exists); admin operations always do. Routes without an entry in OPERATIONS are
    left out (a test guards against that).
    """
    embedders = embedders or {}
    no_chat = set(chatless)
    chat = [name for name in deployments if name not in no_chat] + aliases
    max_inputs = min(embedders.values(), default=2048)
    paths: dict[str, dict[str, Operation]] = {}
    for path, methods in routes.items():
        for method in methods:
            operation = copy.deepcopy(OPERATIONS.get((path, method)))
            if operation is None:
                continue
            if not auth_required and operation.get("tags") in _OPEN_WITHOUT_KEYS:
                operation = {k: v for k, v in operation.items() if k != "security"}
            paths.setdefault(path, {})[method.lower()] = operation
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "Parity gateway",
            "version": __version__,
            "description": "OpenAI-compatible gateway; errors use OpenAI's error body.",
        },
        "paths": paths,
        "components": {
            "schemas": {
                **schemas(chat),
                **admin_schemas(deployments, aliases),
                **feedback_schemas(),
                **door_schemas(chat),
                **embeddings_schemas(list(embedders), max_inputs),
            },
            "securitySchemes": _security_schemes(),
        },
    }


def openapi_bytes(routes: Mapping[str, Iterable[str]], **names: Any) -> bytes:
    """build_openapi() serialised, ready to send."""
    return orjson.dumps(build_openapi(routes, **names))
