"""The app's connections: the pools opened in its lifespan (the primary's, and a replica's where
``PROVENANCE_READ_DATABASE_URL`` is set), and one pooled connection per request as a dependency: a read's
from the replica when it has caught up (``service/api/reads.py``), else the primary's."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, NamedTuple

import asyncpg
from litestar.di import NamedDependency

from service.api.reads import Replica, read_after, reads_from_replica
from service.db import create_pool, create_replica_pool, take, warn_if_not_durable
from service.db import give_back as db_give_back
from service.embedded import embedded_url
from service.settings import AppSettings, Settings

if TYPE_CHECKING:
    from litestar import Litestar, Request
    from litestar.types import Scope

log = logging.getLogger("service.db")

Conn = NamedDependency[asyncpg.Connection]
"""A handler parameter receiving the request's pooled connection."""


def pool_lifespan(settings: Settings) -> Any:
    """A lifespan context that opens the pool into ``app.state.pool`` and closes it at shutdown.

    Without ``database_url`` the embedded server is started (or joined) here, not at import. At
    shutdown, which uvicorn begins once the requests in flight have finished, the pool waits for its
    connections to come back, for at most ``command_timeout``, then closes them.
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        database_url = settings.database_url
        if database_url is None:
            database_url = await asyncio.to_thread(embedded_url, settings.data_dir)
        app.state.pool = await create_pool(database_url, settings)
        await warn_if_not_durable(app.state.pool, settings)
        app.state.replica = None
        if settings.read_database_url is not None:
            app.state.replica = Replica(await create_replica_pool(settings.read_database_url, settings), settings)
        try:
            yield
        finally:
            if app.state.replica is not None:
                await app.state.replica.pool.close()
            try:
                # Cancelled by the deadline, close() terminates the connections still out.
                await asyncio.wait_for(app.state.pool.close(), timeout=settings.command_timeout)
            except TimeoutError:
                log.warning("connections still in use after %ss; the pool was terminated", settings.command_timeout)

    return lifespan


class Lent(NamedTuple):
    """The connection lent to a request, and where it goes back: the primary's pool, or the replica."""

    conn: asyncpg.Connection
    pool: asyncpg.Pool
    replica: Replica | None


LENT = "provenance.lent"
"""Where a request's ASGI state keeps the connection lent to it, until ``give_back``."""


async def provide_connection(request: Request[Any, Any, Any], settings: AppSettings) -> asyncpg.Connection:
    """One pooled connection per request that needs the database, waited for at most a deadline: the
    replica's for a read it can answer, else the primary's. It stays the request's until its answer has
    gone: ``Front``, which every request passes, gives it back then (``give_back``), answered or failed.

    Not a generator dependency, given back by Litestar before the answer is sent: for each request
    Litestar made a group of clean-ups, a context stack and the generator's steps, 9% of a one-row
    read's instructions (bench/README.md, "Why the code is as it is").

    The app's state is read from the request: asked for as a parameter, Litestar would copy it into a
    new ``State`` for every request. The settings are taken as a dependency, though they are in the
    state too, so that Litestar resolves them before the connection and not beside it: Litestar
    resolves the dependencies of one level side by side, in an anyio task group with a task each, and
    a handler taking the connection and the settings (a trace) paid for two tasks a request
    (bench/README.md). The actor and the statement trace's statistics are resolved after the
    connection for the same reason: a request's dependencies come one at a time, settings,
    connection, actor, idempotency."""
    lent: Lent | None = request.scope["state"].get(LENT)
    if lent is not None:  # the key's check lent it (``lend``)
        return lent.conn
    state = request.app.state
    if reads_from_replica(request.method, request.scope["path"]):
        # Checked with or without a replica, so that a malformed token is a 400 wherever it is sent.
        token = read_after(request.scope)
        replica: Replica | None = state.get("replica")
        if replica is not None and (conn := await replica.caught_up(token)) is not None:
            request.scope["state"][LENT] = Lent(conn, replica.pool, replica)
            return conn
    return await lend(request.scope, state.pool, settings.acquire_timeout)


async def lend(scope: Scope, pool: asyncpg.Pool, timeout: float) -> asyncpg.Connection:
    """A connection of the primary's ``pool``, lent to the request of ``scope`` until ``give_back``. The
    key's check of a write calls it before the dependencies are resolved, so that the key is read on
    the connection the write then uses, rather than on one taken and given back for that alone."""
    conn = await take(pool, timeout)
    scope["state"][LENT] = Lent(conn, pool, None)
    return conn


def lent_to(scope: Scope) -> asyncpg.Connection | None:
    """The connection lent to the request of ``scope``, if one is."""
    lent: Lent | None = scope["state"].get(LENT)
    return None if lent is None else lent.conn


async def give_back(scope: Scope) -> None:
    """Give back the connection lent to the request of ``scope``, if any: reset, an open transaction
    rolled back. Its answer has gone, so a connection PostgreSQL dropped meanwhile is only logged."""
    lent: Lent | None = scope["state"].pop(LENT, None)
    if lent is None:
        return
    if lent.replica is not None:
        await lent.replica.release(lent.conn)
        return
    try:
        await db_give_back(lent.pool, lent.conn)
    except Exception as exc:
        log.warning("a connection could not be reset after its request: %r", exc)
