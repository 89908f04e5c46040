"""The dashboard's door: every page needs an admin key when the gateway has keys configured.

A browser signs in once through a form; the key goes into an HttpOnly, SameSite=Strict cookie
scoped to the dashboard's path, and is checked again with the gateway's own ``Authenticator`` on
every request, so a key revoked with ``parity keys revoke`` stops working within the gateway's
key refresh (a key removed from the config, at the next restart) without any session store.
SameSite=Strict keeps other sites from riding the cookie into a form post. Scripts and tools
can send ``Authorization: Bearer KEY`` instead. With no keys configured the dashboard is open,
and every page says so.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from parity.errors import AuthError
from parity.routing.plan import Caller
from parity.web.board import Dashboard
from parity.web.forms import FormTooLarge, form_fields, local_path

__all__ = ["COOKIE", "AdminGate", "SignIn"]

COOKIE = "parity_ui_key"

_SECURITY_HEADERS = (
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)


def _with_security_headers(send: Send) -> Send:
    """Add the dashboard's headers to a response unless the page set its own."""

    async def wrapped(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers: list[tuple[bytes, bytes]] = list(message.get("headers", []))
            present = {name.lower() for name, _ in headers}
            headers += [(k, v) for k, v in _SECURITY_HEADERS if k not in present]
            message = {**message, "headers": headers}
        await send(message)

    return wrapped


def presented_key(request: Request) -> bytes | None:
    """The Authorization header as sent, or one built from the sign-in cookie."""
    header = request.headers.get("authorization")
    if header:
        return header.encode("latin-1")
    cookie = request.cookies.get(COOKIE)
    return b"Bearer " + cookie.encode("latin-1", "replace") if cookie else None


class AdminGate:
    """ASGI middleware: pages pass only for admin callers (or anyone when no keys are set)."""

    def __init__(self, app: ASGIApp, board: Dashboard) -> None:
        self.app = app
        self.board = board
        self._open = (board.url("/static/"), board.url("/login"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _with_security_headers(send)
        path: str = scope["path"]
        if path.startswith(self._open[0]) or path == self._open[1]:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        refusal: Response | None = None
        caller = Caller()
        try:
            caller = self.board.auth.caller(presented_key(request))
        except AuthError as exc:
            refusal = self._sign_in_page(request, str(exc.message), 401)
        else:
            if self.board.auth.enabled and not caller.admin:
                refusal = self._sign_in_page(
                    request, f"the key '{caller.key_id}' is not an admin key", 403
                )
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        state: MutableMapping[str, Any] = scope.setdefault("state", {})
        state["caller"] = caller
        await self.app(scope, receive, send)

    def _sign_in_page(self, request: Request, problem: str, status: int) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        sent_key = COOKIE in request.cookies or "authorization" in request.headers
        response = self.board.render(
            request,
            "login.html",
            {"next": target, "problem": problem if sent_key or status == 403 else ""},
            status=status,
        )
        if status == 401:
            response.headers["www-authenticate"] = 'Bearer realm="parity dashboard"'
        return response


class SignIn:
    """GET/POST /login and POST /logout."""

    def __init__(self, board: Dashboard) -> None:
        self.board = board

    def routes(self) -> list[BaseRoute]:
        return [
            Route("/login", self.form, methods=["GET"], name="login"),
            Route("/login", self.submit, methods=["POST"]),
            Route("/logout", self.logout, methods=["POST"], name="logout"),
        ]

    async def form(self, request: Request) -> Response:
        if not self.board.auth.enabled:
            return RedirectResponse(self.board.url("/"), status_code=303)
        target = local_path(request.query_params.get("next", ""), self.board.prefix, "")
        return self.board.render(request, "login.html", {"next": target, "problem": ""})

    async def submit(self, request: Request) -> Response:
        try:
            fields = await form_fields(request)
        except FormTooLarge:
            return Response("form too large", status_code=413)
        key = fields.get("key", "").strip()
        target = local_path(fields.get("next", ""), self.board.prefix, self.board.url("/"))
        try:
            caller = self.board.auth.caller(b"Bearer " + key.encode("utf-8"))
        except AuthError as exc:
            return self.board.render(
                request, "login.html", {"next": target, "problem": exc.message}, status=401
            )
        if self.board.auth.enabled and not caller.admin:
            problem = f"the key '{caller.key_id}' is not an admin key"
            return self.board.render(
                request, "login.html", {"next": target, "problem": problem}, status=403
            )
        response = RedirectResponse(target, status_code=303)
        if self.board.auth.enabled:
            response.set_cookie(
                COOKIE,
                key,
                path=self.board.prefix or "/",
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse(self.board.url("/login"), status_code=303)
        response.delete_cookie(
            COOKIE, path=self.board.prefix or "/", httponly=True, samesite="strict"
        )
        return response
