"""Who may call what: the API-key check every route passes, and the ``actor`` its writes record.

Each route says what it needs in ``opt={"scope": ...}``: ``"public"`` (no key), ``"read"``,
``"write"`` or ``"admin"``. A route that says nothing needs ``read`` for GET and HEAD and ``write``
for every other method, so a new write route is guarded even if its author forgets (deny by
default). ``read`` routes are open to anyone while ``Settings.public_reads`` holds; a key that is
sent is checked all the same, so a revoked key is a 401 wherever it is used.

The workspace's pages (``opt={"session_key": True}``) take the key a person entered once from their
session cookie instead of a header; the same rules then apply to it.
"""

from __future__ import annotations

from typing import Any, Literal

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler
from litestar.openapi.spec import SecurityRequirement, SecurityScheme

from service.api.connections import Conn, lend
from service.api.requests import header_of
from service.api.strict import strict_json_body
from service.db import pooled
from service.domain import keys
from service.domain.keys import ApiKey, Scope
from service.errors import Forbidden, Unauthorized

Access = Scope | Literal["public"]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
SESSION_KEY = "key"
"""Where a page's session keeps the secret of the key entered on ``/ui/key``."""

SECURITY_SCHEME = "bearerAuth"
BEARER: list[SecurityRequirement] = [{SECURITY_SCHEME: []}]
"""The ``security`` of an operation that needs a key."""

BEARER_SCHEME = SecurityScheme(
    type="http",
    scheme="bearer",
    description="An API key, sent as `Authorization: Bearer <key>`. Make one with "
    "`provenance keys create --name NAME --scope read|write|admin`.",
)

Actor = NamedDependency[str]
"""A handler parameter receiving the name of the request's API key: who makes a write."""


def required_access(connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler) -> Access:
    """What the route declares in ``opt["scope"]``, else ``read`` for safe methods and ``write`` for the rest."""
    declared: Access | None = route_handler.opt.get("scope")
    if declared is not None:
        return declared
    return "read" if connection.scope.get("method", "GET") in SAFE_METHODS else "write"


def bearer_token(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The token of ``Authorization: Bearer <token>``; None without the header, 401 when it has another shape."""
    header = header_of(connection.scope, b"authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or " " in token or not keys.looks_like_secret(token):
        raise Unauthorized("the Authorization header must be `Bearer <key>` with a key of this service", key_sent=True)
    return token


async def authenticate(connection: ASGIConnection[Any, Any, Any, Any], token: str) -> ApiKey:
    """The unrevoked key of ``token``, by one indexed query; 401 otherwise."""
    state = connection.app.state
    if connection.scope.get("method", "GET") in SAFE_METHODS:  # a read may go to a replica: its key is read apart
        async with pooled(state.pool, state.settings.acquire_timeout) as conn:
            key = await keys.authenticate(conn, token)
    else:  # a write goes to the primary: on the connection it will use
        key = await keys.authenticate(await lend(connection.scope, state.pool, state.settings.acquire_timeout), token)
    if key is None:
        raise Unauthorized("the API key is unknown or revoked", key_sent=True)
    return key


async def require_api_key(connection: ASGIConnection[Any, Any, Any, Any], route_handler: BaseRouteHandler) -> None:
    """Let the request through if its key reaches the route's scope; 401 or 403 if not."""
    needed = required_access(connection, route_handler)
    if needed == "public":
        return
    token = bearer_token(connection)
    if token is None and route_handler.opt.get("session_key"):
        token = connection.session.get(SESSION_KEY)
    if token is None:
        if needed == "read" and connection.app.state.settings.public_reads:
            return
        raise Unauthorized("this operation needs an API key: send `Authorization: Bearer <key>`", key_sent=False)
    key = await authenticate(connection, token)
    if not key.grants(needed):
        raise Forbidden(f"this operation needs a key with the {needed} scope; this key has {key.scope}", needed=needed)
    connection.state.api_key = key


def provide_actor(request: Request[Any, Any, Any], conn: Conn) -> str:
    """The name of the key the guard let through: the actor a write records.

    Resolved after the connection, which it does not use, so that Litestar resolves a write's
    dependencies one at a time rather than side by side (``provide_connection`` says why). Every
    route that takes the actor takes the connection too; one that did not would be lent one."""
    key: ApiKey | None = request.state.get("api_key")
    if key is None:  # only a route declared public or read could get here without a key
        raise Unauthorized("this operation needs an API key: send `Authorization: Bearer <key>`", key_sent=False)
    return key.name


async def admit(request: Request[Any, Any, Any]) -> None:
    """The first step of every HTTP request once routed (the app's ``before_request``): its key against
    the route's scope, then its query and body held strictly (``service.api.strict``).

    A hook and not a Litestar guard, for what a guard costs: Litestar hands each guard a copy of the
    route handler, made for every request (``authorize_connection``), 6% of a one-row read's time in
    the benchmark's profile. A hook runs for HTTP routes only; the one other kind the app has, the
    static files of the pages, is public.
    """
    await require_api_key(request, request.route_handler)
    await strict_json_body(request)
