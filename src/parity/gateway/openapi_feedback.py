"""POST /v1/feedback in the OpenAPI document (docs/api.md has the same shapes)."""

from __future__ import annotations

from typing import Any

from parity.gateway.openapi_schemas import error_responses, json_content
from parity.store.feedback import MAX_CORRECTION, REQUEST_ID

__all__ = ["FEEDBACK_OPERATIONS", "feedback_schemas"]

Schema = dict[str, Any]

_LABEL = "^[^\\x00-\\x1f\\x7f]{1,64}$"
_SOURCE = "^[^\\x00-\\x1f\\x7f]{1,128}$"


def feedback_schemas() -> dict[str, Schema]:
    """FeedbackCreate and Feedback."""
    fields: dict[str, Schema] = {
        "request_id": {"type": "string", "pattern": REQUEST_ID.pattern},
        "score": {"type": "number", "minimum": 0, "maximum": 1, "nullable": True},
        "good": {"type": "boolean", "nullable": True},
        "label": {"type": "string", "pattern": _LABEL, "nullable": True},
        "correction": {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_CORRECTION,
            "nullable": True,
        },
        "source": {"type": "string", "pattern": _SOURCE, "nullable": True},
    }
    create: Schema = {
        "type": "object",
        "required": ["request_id"],
        "additionalProperties": False,
        "properties": fields,
        "anyOf": [
            {"required": [name], "properties": {name: {"not": {"type": "null"}}}}
            for name in ("score", "good", "label", "correction")
        ],
        "description": "At least one of score, good, label or correction; source says who gave "
        "it (default 'user').",
    }
    stored: Schema = {
        "type": "object",
        "required": ["object", "id", "request_id", "ts", "source"],
        "properties": {
            "object": {"type": "string", "enum": ["feedback"]},
            "id": {"type": "string"},
            "ts": {"type": "number"},
            "key_id": {"type": "string", "nullable": True},
            **fields,
        },
    }
    return {"FeedbackCreate": create, "Feedback": stored}


def _operations() -> dict[tuple[str, str], Schema]:
    created = {"description": "Stored.", **json_content("Feedback")}
    operation: Schema = {
        "operationId": "createFeedback",
        "summary": "Feedback on one request's answer: a score, verdict, label or correction.",
        "tags": ["feedback"],
        "requestBody": {"required": True, **json_content("FeedbackCreate")},
        "responses": {"201": created, **error_responses(400, 401, 404, 408, 413)},
        "security": [{"bearer": []}, {"x-api-key": []}],
    }
    return {("/v1/feedback", "POST"): operation}


FEEDBACK_OPERATIONS = _operations()
"""The feedback operation by (path template, method)."""
