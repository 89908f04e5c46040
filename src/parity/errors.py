"""One exception tree for all of Parity.

Every error knows the HTTP status and OpenAI-style ``type`` it maps to, and upstream errors know
whether a retry could help. Errors are typed where they enter (the providers), never sorted later
by matching message text.

    ParityError                      500 internal_error
    ├── ConfigError                  (CLI: bad parity.yaml; never reaches HTTP)
    │   └── InputError               (CLI: a bad flag or input file, not the config)
    ├── RequestError                 400 invalid_request_error
    │   ├── InvalidJSON              400
    │   ├── InvalidField             400  (missing or malformed field; ``param`` names it)
    │   ├── ContextLengthExceeded    400  (code context_length_exceeded, param messages; the
    │   │                                  prompt does not fit: never retried, nor fallen back)
    │   ├── BodyTooLarge             413
    │   ├── BodyTimeout              408  (the body did not arrive in time)
    │   ├── HeadersTooLarge          431
    │   ├── UnknownModel             404 model_not_found
    │   ├── Conflict                 409 (e.g. a key name that exists already)
    │   ├── NotFound                 404 not_found_error (unknown path or record)
    │   └── MethodNotAllowed         405 (code method_not_allowed; the allow header)
    ├── AuthError                    401 authentication_error
    ├── PermissionDenied             403 permission_error
    ├── PolicyRejected               403 / 429 (a routing rule or budget refused the request)
    ├── GuardBlocked                 400 invalid_request_error, code content_policy_violation
    │                                    (a safety guard found a category the route blocks)
    ├── LimitExceeded                429 (the caller's own budget or rate limit)
    │   ├── BudgetExceeded           429 insufficient_quota, code budget_exceeded
    │   └── RateLimitExceeded        429 rate_limit_error, code rate_limit_exceeded (+ retry-after)
    ├── Unavailable                  503 (not ready, shutting down, no healthy deployment)
    │   └── GuardUnavailable         503 code guard_unavailable (guard failed; fail closed)
    └── UpstreamError                502 upstream_error       retryable: no
        ├── UpstreamTimeout          504                      retryable: yes
        ├── UpstreamConnectError     502                      retryable: yes
        ├── UpstreamRateLimited      429 (+ retry-after)      retryable: yes
        ├── UpstreamServerError      502 (upstream 5xx)       retryable: yes
        ├── UpstreamBadRequest       400 (upstream 4xx; a 400 keeps the upstream's param
        │                                and code)               retryable: no
        ├── UpstreamAuthError        502 (Parity's key)       retryable: no
        └── UpstreamProtocolError    502 (bad body, broken stream) retryable: yes
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

__all__ = [
    "AuthError",
    "BodyTimeout",
    "BodyTooLarge",
    "BudgetExceeded",
    "ConfigError",
    "Conflict",
    "ContextLengthExceeded",
    "GuardBlocked",
    "GuardUnavailable",
    "HeadersTooLarge",
    "InputError",
    "InvalidField",
    "InvalidJSON",
    "LimitExceeded",
    "MethodNotAllowed",
    "NotFound",
    "ParityError",
    "PermissionDenied",
    "PolicyRejected",
    "RateLimitExceeded",
    "RequestError",
    "Unavailable",
    "UnknownModel",
    "UpstreamAuthError",
    "UpstreamBadRequest",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamProtocolError",
    "UpstreamRateLimited",
    "UpstreamServerError",
    "UpstreamTimeout",
]


class ParityError(Exception):
    """Base of every error Parity raises on purpose."""

    status: ClassVar[int] = 500
    type: ClassVar[str] = "internal_error"
    retryable: ClassVar[bool] = False

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.param = param
        self.code = code

    @property
    def kind(self) -> str:
        """The class name, stored in the ledger's error_type column."""
        return type(self).__name__

    def body(self) -> dict[str, Any]:
        """The OpenAI-style error body."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
            }
        }

    def headers(self) -> list[tuple[bytes, bytes]]:
        """Extra response headers (retry-after for rate limits)."""
        return []


class ConfigError(ParityError):
    """A configuration file or flag is invalid; ``line`` points into the YAML when known."""

    type = "config_error"

    def __init__(self, message: str, *, line: int | None = None, path: str | None = None):
        super().__init__(message)
        self.line = line
        self.path = path

    def __str__(self) -> str:
        where = self.path or "config"
        if self.line is not None:
            where = f"{where}:{self.line}"
        return f"{where}: {self.message}"


class InputError(ConfigError):
    """A flag or an input file (prompts, a run directory, labels) is invalid: not parity.yaml.

    Printed as ``PATH:LINE: message`` when it points into a file, else as the bare message,
    so a user is never told "config:" about something that is not their config.
    """

    type = "input_error"

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        return f"{where}: {self.message}"


class RequestError(ParityError):
    status = 400
    type = "invalid_request_error"


class InvalidJSON(RequestError):
    pass


class InvalidField(RequestError):
    pass


class ContextLengthExceeded(RequestError):
    """The prompt (with the completion asked for) does not fit the model's context window.

    OpenAI's own answer, field for field: 400, ``invalid_request_error``, param ``messages``,
    code ``context_length_exceeded``. A client's mistake: never retried, never counted toward a
    breaker, never answered by a fallback. ``deployment`` names the model that refused it.
    """

    def __init__(self, message: str, *, deployment: str = "", upstream_status: int | None = None):
        super().__init__(message, param="messages", code="context_length_exceeded")
        self.deployment = deployment
        self.upstream_status = upstream_status


_CLOSE = [(b"connection", b"close")]


class BodyTooLarge(RequestError):
    status = 413

    def headers(self) -> list[tuple[bytes, bytes]]:
        """Close the connection: the rest of an unread body is not worth receiving."""
        return list(_CLOSE)


class BodyTimeout(RequestError):
    """The client sent its body too slowly (a slow drip): server.body_timeout_s passed."""

    status = 408
    type = "timeout_error"

    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(_CLOSE)


class HeadersTooLarge(RequestError):
    """The request headers, taken together, are larger than server.max_header_bytes."""

    status = 431

    def headers(self) -> list[tuple[bytes, bytes]]:
        return list(_CLOSE)


class UnknownModel(RequestError):
    status = 404

    def __init__(self, model: str, known: list[str]):
        shown = ", ".join(known[:20])
        super().__init__(
            f"The model '{model}' does not exist here. Known models: {shown}",
            param="model",
            code="model_not_found",
        )


class Conflict(RequestError):
    status = 409
    type = "conflict_error"


class NotFound(RequestError):
    status = 404
    type = "not_found_error"


class MethodNotAllowed(RequestError):
    """The path exists, the method does not: typed as OpenAI does, never as not found."""

    status = 405

    def __init__(self, message: str, *, allow: str = ""):
        super().__init__(message, code="method_not_allowed")
        self.allow = allow

    def headers(self) -> list[tuple[bytes, bytes]]:
        """RFC 9110: a 405 names the methods the resource supports."""
        return [(b"allow", self.allow.encode())] if self.allow else []


class AuthError(ParityError):
    status = 401
    type = "authentication_error"


class PermissionDenied(ParityError):
    status = 403
    type = "permission_error"


class PolicyRejected(ParityError):
    """A routing rule, a licence filter or a budget refused the request."""

    type = "policy_rejected"

    def __init__(self, message: str, *, status: int = 403, code: str | None = None):
        super().__init__(message, code=code)
        self._status = status

    @property
    def http_status(self) -> int:
        return self._status


class GuardBlocked(ParityError):
    """A safety guard found a category the route blocks, in the request or in the answer.

    ``stage`` is ``input`` or ``output``; ``categories`` the codes found (e.g. ``["S1"]``).
    """

    status = 400
    type = "invalid_request_error"

    def __init__(self, message: str, *, stage: str, categories: list[str]):
        super().__init__(
            message,
            param="messages" if stage == "input" else None,
            code="content_policy_violation",
        )
        self.stage = stage
        self.categories = categories


class LimitExceeded(ParityError):
    """The caller's own budget or rate limit refused the request before any upstream call."""

    status = 429


class BudgetExceeded(LimitExceeded):
    """Spent plus held would reach one of the key's or tenant's budgets."""

    type = "insufficient_quota"

    def __init__(self, message: str, *, retry_after: float | None = None):
        super().__init__(message, code="budget_exceeded")
        self.retry_after = retry_after

    def headers(self) -> list[tuple[bytes, bytes]]:
        if self.retry_after is None:
            return []
        return [(b"retry-after", str(max(1, math.ceil(self.retry_after))).encode())]


class RateLimitExceeded(LimitExceeded):
    """The key's requests or tokens per minute are used up; ``retry_after`` says for how long."""

    type = "rate_limit_error"

    def __init__(self, message: str, *, retry_after: float | None):
        super().__init__(message, code="rate_limit_exceeded")
        self.retry_after = retry_after

    def headers(self) -> list[tuple[bytes, bytes]]:
        if self.retry_after is None:
            return []
        return [(b"retry-after", str(max(1, math.ceil(self.retry_after))).encode())]


class Unavailable(ParityError):
    status = 503
    type = "service_unavailable"
    retryable = True


class GuardUnavailable(Unavailable):
    """The route's safety guard failed, timed out or answered garbage; the route fails closed."""

    def __init__(self, message: str):
        super().__init__(message, code="guard_unavailable")


class UpstreamError(ParityError):
    """The upstream model server failed; ``deployment`` names which one."""

    status = 502
    type = "upstream_error"

    def __init__(
        self,
        message: str,
        *,
        deployment: str = "",
        upstream_status: int | None = None,
        code: str | None = None,
        param: str | None = None,
    ):
        super().__init__(message, param=param, code=code)
        self.deployment = deployment
        self.upstream_status = upstream_status


class UpstreamTimeout(UpstreamError):
    status = 504
    type = "upstream_timeout"
    retryable = True


class UpstreamConnectError(UpstreamError):
    type = "upstream_connect_error"
    retryable = True


class UpstreamRateLimited(UpstreamError):
    status = 429
    type = "rate_limit_error"
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        deployment: str = "",
        upstream_status: int | None = 429,
        retry_after: float | None = None,
    ):
        super().__init__(message, deployment=deployment, upstream_status=upstream_status)
        self.retry_after = retry_after

    def headers(self) -> list[tuple[bytes, bytes]]:
        if self.retry_after is None:
            return []
        return [(b"retry-after", str(max(0, round(self.retry_after))).encode())]


class UpstreamServerError(UpstreamError):
    type = "upstream_server_error"
    retryable = True


class UpstreamBadRequest(UpstreamError):
    status = 400
    type = "invalid_request_error"


class UpstreamAuthError(UpstreamError):
    type = "upstream_auth_error"


class UpstreamProtocolError(UpstreamError):
    type = "upstream_protocol_error"
    retryable = True


def http_status(error: ParityError) -> int:
    """The status to answer with (PolicyRejected chooses its own)."""
    if isinstance(error, PolicyRejected):
        return error.http_status
    return error.status
