"""The app's connections: the pool opened in its lifespan, and one pooled connection per request as a dependency."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import asyncpg
from litestar.di import NamedDependency

from service.db import create_pool, pooled, warn_if_not_durable
from service.embedded import embedded_url

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.datastructures import State

    from service.settings import Settings

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
        try:
            yield
        finally:
            try:
                # Cancelled by the deadline, close() terminates the connections still out.
                await asyncio.wait_for(app.state.pool.close(), timeout=settings.command_timeout)
            except TimeoutError:
                log.warning("connections still in use after %ss; the pool was terminated", settings.command_timeout)

    return lifespan


async def provide_connection(state: State) -> AsyncIterator[asyncpg.Connection]:
    """One pooled connection per request that needs the database, waited for at most a deadline."""
    async with pooled(state.pool, state.settings.acquire_timeout) as conn:
        yield conn
