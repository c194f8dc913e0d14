"""What keeps the workspace's writes safe: the session cookie holding the key a person entered once,
the CSRF token every form carries, and cookies marked ``Secure`` whenever the page came over TLS.

The session is Litestar's client-side cookie session: AES-GCM seals it, so the key's secret in it can
be neither read nor altered by anyone without the server's secret, and it is ``HttpOnly`` and
``SameSite=Strict``. CSRF is Litestar's double-submit middleware (a signed token in a cookie and in
each form). Both apply to the pages only; the JSON API takes its key from the ``Authorization``
header, which no other site can make a browser send.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar.config.csrf import CSRFConfig
from litestar.connection import ASGIConnection
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.exceptions import SerializationException
from litestar.middleware import DefineMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.middleware.session.base import SessionMiddleware
from litestar.middleware.session.client_side import ClientSideSessionBackend, CookieBackendConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from service.settings import Settings

SESSION_COOKIE = "provenance-session"
CSRF_COOKIE = "provenance-csrf"
# A workday: the key is asked for again the next morning.
SESSION_SECONDS = 12 * 3600


def _derived(secret: str, purpose: str) -> bytes:
    """A 32-byte key for one purpose, derived from the server's one secret."""
    return hmac.new(secret.encode(), purpose.encode(), hashlib.sha256).digest()


def page_middleware(settings: Settings) -> list[DefineMiddleware]:
    """The pages' middleware, outermost first: Secure over TLS, the session, then CSRF."""
    secret = settings.session_secret or secrets.token_hex(32)
    session = CookieBackendConfig(
        secret=_derived(secret, "session"),
        key=SESSION_COOKIE,
        path="/ui",
        max_age=SESSION_SECONDS,
        httponly=True,
        samesite="strict",
    )
    csrf = CSRFConfig(
        secret=_derived(secret, "csrf").hex(),
        cookie_name=CSRF_COOKIE,
        cookie_path="/ui",
        cookie_httponly=True,
        cookie_samesite="strict",
    )
    return [
        DefineMiddleware(SecureOverTLS),
        # The backend is made when the middleware is (routers are deep-copied; its cipher cannot be).
        DefineMiddleware(_sessions, config=session),
        DefineMiddleware(CSRFMiddleware, config=csrf),
    ]


def _sessions(app: ASGIApp, config: CookieBackendConfig) -> SessionMiddleware[ClientSideSessionBackend]:
    return SessionMiddleware(app, backend=SealedSessions(config))


class SealedSessions(ClientSideSessionBackend):
    """Litestar's cookie backend, where a cookie that does not open is no session at all. Litestar's
    own lets a cookie whose sealed expiry was garbled through as a JSON error (a 500)."""

    async def load_from_connection(self, connection: ASGIConnection[Any, Any, Any, Any]) -> dict[str, Any]:
        try:
            return await super().load_from_connection(connection)
        except (SerializationException, ValueError, KeyError, TypeError):
            return {}


class SecureOverTLS:
    """Marks every cookie a page sets ``Secure`` when the request came over TLS (``https``, as the
    server sees it: behind a proxy, uvicorn's ``--proxy-headers`` makes that so)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("scheme") != "https":
            await self.app(scope, receive, send)
            return

        async def secure(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                cookies = headers.getall("set-cookie", [])
                if cookies:
                    del headers["set-cookie"]
                    for cookie in cookies:
                        marked = any(part.strip().lower() == "secure" for part in cookie.split(";")[1:])
                        headers.add("set-cookie", cookie if marked else f"{cookie}; Secure")
            await send(message)

        await self.app(scope, receive, secure)
