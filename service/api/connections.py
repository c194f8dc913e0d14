"""The app's connections: the pools opened in its lifespan (the primary's, and a replica's where
``PROVENANCE_READ_DATABASE_URL`` is set), and one pooled connection per request as a dependency: a read's
from the replica when it has caught up (``service/api/reads.py``), else the primary's."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import asyncpg
from litestar.di import NamedDependency

from service.api.reads import COMMIT_LSN, READ_METHODS, Replica, read_after, reads_from_replica
from service.db import create_pool, create_replica_pool, pooled, warn_if_not_durable
from service.embedded import embedded_url
from service.settings import AppSettings, Settings

if TYPE_CHECKING:
    from litestar import Litestar, Request

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


async def provide_connection(
    request: Request[Any, Any, Any], settings: AppSettings
) -> AsyncIterator[asyncpg.Connection]:
    """One pooled connection per request that needs the database, waited for at most a deadline: the
    replica's for a read it can answer, else the primary's. After a write, where a replica is set, its
    commit's position in the WAL is left in the request's state for ``Provenance-LSN``.

    The app's state is read from the request: asked for as a parameter, Litestar would copy it into a
    new ``State`` for every request. The settings are taken as a dependency, though they are in the
    state too, so that Litestar resolves them before the connection and not beside it: Litestar
    resolves the dependencies of one level side by side, in an anyio task group with a task each, and
    a handler taking the connection and the settings (a trace) paid for two tasks a request
    (bench/README.md). The actor and the statement trace's statistics are resolved after the
    connection for the same reason: a request's dependencies come one at a time, settings,
    connection, actor, idempotency."""
    state = request.app.state
    if reads_from_replica(request.method, request.scope["path"]):
        # Checked with or without a replica, so that a malformed token is a 400 wherever it is sent.
        token = read_after(request.scope)
        replica: Replica | None = state.get("replica")
        if replica is not None and (conn := await replica.caught_up(token)) is not None:
            try:
                yield conn
            finally:
                await replica.release(conn)
            return
    async with pooled(state.pool, settings.acquire_timeout) as conn:
        yield conn
        # Only where reads may go to a replica: without one every read sees every write, and the token
        # would cost each write a round trip for nothing.
        if state.get("replica") is not None and request.method not in READ_METHODS and not conn.is_in_transaction():
            try:
                request.state.commit_lsn = await conn.fetchval(COMMIT_LSN)
            except Exception as exc:  # the answer stands; only its token is missing
                log.debug("the commit's LSN could not be read: %r", exc)
