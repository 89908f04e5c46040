"""POST /v1/embeddings in the OpenAPI document: what gateway/embeddings/wire.py takes.

The request schema is what the parser checks, so that the fuzzer's valid requests are answered
and its invalid ones refused; what only a given deployment refuses (MiniLM: token ids, other
``dimensions``, an input over its word pieces; llama.cpp: token ids, ``dimensions``; each
deployment's ``max_inputs``) is said in the description. The answer is OpenAI's
CreateEmbeddingResponse, which the tests check against OpenAI's published document.
"""

from __future__ import annotations

from typing import Any

from parity.gateway.embeddings.wire import MAX_DIMENSIONS
from parity.gateway.openapi_schemas import error_responses, json_content

__all__ = ["EMBEDDINGS_OPERATIONS", "embeddings_schemas"]

Schema = dict[str, Any]

_TOKEN = {"type": "integer", "minimum": 0, "maximum": 2**31 - 1}
_HEADERS = {
    "x-parity-request-id": {"description": "The request's id, also in the ledger and logs."},
    "x-parity-model": {"description": "The deployment that answered ('none' on early errors)."},
}


def _request(models: list[str], max_inputs: int) -> Schema:
    model: Schema = {
        "type": "string",
        "minLength": 1,
        "description": "A deployment that serves embeddings (serves: [embeddings]).",
    }
    if models:
        model["enum"] = models  # any other name is a 404, or a 400 when it serves no embeddings
    many = {"minItems": 1, "maxItems": max_inputs}
    text = {"type": "string", "minLength": 1}
    return {
        "type": "object",
        "required": ["model", "input"],
        "description": "Refused by some deployments only (400 naming the field): token ids "
        "and dimensions by MiniLM (other than 384) and by llama.cpp; an input over the "
        "deployment's context_window (MiniLM: 256 word pieces, code context_length_exceeded); "
        "more inputs than its max_inputs. Fields not listed here pass to the upstream.",
        "properties": {
            "model": model,
            "input": {
                "oneOf": [
                    text,
                    {"type": "array", **many, "items": text},
                    {"type": "array", "minItems": 1, "items": _TOKEN},
                    {
                        "type": "array",
                        **many,
                        "items": {"type": "array", "minItems": 1, "items": _TOKEN},
                    },
                ]
            },
            # OpenAPI 3.0.3: a nullable enum lists null among its values
            "encoding_format": {
                "type": "string",
                "enum": ["float", "base64", None],
                "nullable": True,
                "default": "float",
            },
            "dimensions": {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_DIMENSIONS,
                "nullable": True,
            },
            "user": {"type": "string", "nullable": True},
        },
    }


def _answer() -> Schema:
    embedding = {
        "type": "object",
        "required": ["object", "index", "embedding"],
        "properties": {
            "object": {"type": "string", "enum": ["embedding"]},
            "index": {"type": "integer"},
            "embedding": {
                "oneOf": [
                    {"type": "array", "items": {"type": "number"}},
                    {"type": "string", "description": "base64 of little-endian float32s"},
                ]
            },
        },
    }
    usage = {
        "type": "object",
        "required": ["prompt_tokens", "total_tokens"],
        "properties": {
            "prompt_tokens": {"type": "integer"},
            "total_tokens": {"type": "integer"},
        },
    }
    return {
        "type": "object",
        "required": ["object", "data", "model", "usage"],
        "description": "OpenAI's CreateEmbeddingResponse; model is the deployment that answered.",
        "properties": {
            "object": {"type": "string", "enum": ["list"]},
            "data": {"type": "array", "items": embedding},
            "model": {"type": "string"},
            "usage": usage,
        },
    }


def embeddings_schemas(models: list[str], max_inputs: int = 2048) -> dict[str, Schema]:
    """The door's component schemas; ``models`` the deployments that embed."""
    return {"EmbeddingsRequest": _request(models, max_inputs), "EmbeddingList": _answer()}


_CREATE = {
    "operationId": "createEmbedding",
    "summary": "Embeddings of the input, by a deployment that serves them.",
    "tags": ["embeddings"],
    "requestBody": {"required": True, **json_content("EmbeddingsRequest")},
    "responses": {
        "200": {
            "description": "One vector per input, in input order.",
            "headers": _HEADERS,
            **json_content("EmbeddingList"),
        },
        **error_responses(400, 401, 403, 404, 408, 413, 429, 500, 502, 503, 504),
    },
    "security": [{"bearer": []}, {"x-api-key": []}],
}

EMBEDDINGS_OPERATIONS: dict[tuple[str, str], dict[str, Any]] = {("/v1/embeddings", "POST"): _CREATE}
"""The door's operation by (path template, method)."""
