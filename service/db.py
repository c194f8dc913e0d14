"""The asyncpg pool, made in the app's lifespan, and the connection dependency."""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

import asyncpg
import msgspec
from litestar.di import NamedDependency

from service.database import embedded_url

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.datastructures import State

    from service.settings import Settings

log = logging.getLogger(__name__)
P = ParamSpec("P")
T = TypeVar("T")

RETRYABLE: tuple[type[Exception], ...] = (
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    # a migration altered a table under a cached statement; asyncpg has dropped the cache
    asyncpg.InvalidCachedStatementError,
)
ATTEMPTS = 3


def retrying(
    write: Callable[Concatenate[asyncpg.Connection, P], Awaitable[T]],
) -> Callable[Concatenate[asyncpg.Connection, P], Awaitable[T]]:
    """Run a write that opens its own transaction again when PostgreSQL rolled it back for a
    serialization failure or a deadlock (or a stale cached statement), up to three times.

    Inside a caller's transaction nothing is retried: the whole transaction is lost, so the error
    goes up to whoever opened it.
    """

    @functools.wraps(write)
    async def retried(conn: asyncpg.Connection, /, *args: P.args, **kwargs: P.kwargs) -> T:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return await write(conn, *args, **kwargs)
            except RETRYABLE as exc:
                if conn.is_in_transaction() or attempt == ATTEMPTS:
                    raise
                name = getattr(write, "__qualname__", repr(write))
                log.info("retrying %s after %s (attempt %d)", name, type(exc).__name__, attempt)
        raise AssertionError("unreachable")

    return retried


Conn = NamedDependency[asyncpg.Connection]
"""A handler parameter receiving the request's pooled connection."""


# The binary formats, so that COPY (bulk import) can write JSON columns too: json's is its text,
# jsonb's a version byte (1) and its text.
JSONB_VERSION = b"\x01"


def _encode_jsonb(value: Any) -> bytes:
    return JSONB_VERSION + msgspec.json.encode(value)


def _decode_jsonb(data: bytes) -> Any:
    return msgspec.json.decode(memoryview(data)[1:])


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "json", encoder=msgspec.json.encode, decoder=msgspec.json.decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )


async def connect(database_url: str) -> asyncpg.Connection:
    """One connection with the same codecs as the pool's, for commands outside the app."""
    conn = await asyncpg.connect(database_url)
    await _init_connection(conn)
    return conn


async def create_pool(database_url: str, settings: Settings) -> asyncpg.Pool:
    """A pool of connections with JSON codecs and a deadline on every command."""
    pool = await asyncpg.create_pool(
        database_url,
        min_size=settings.pool_min_size,
        max_size=settings.pool_max_size,
        command_timeout=settings.command_timeout,
        init=_init_connection,
    )
    assert pool is not None
    return pool


def pool_lifespan(settings: Settings) -> Any:
    """A lifespan context that opens the pool into ``app.state.pool`` and closes it at shutdown.

    Without ``database_url`` the embedded server is started (or joined) here, not at import.
    """

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        database_url = settings.database_url
        if database_url is None:
            database_url = await asyncio.to_thread(embedded_url, settings.data_dir)
        app.state.pool = await create_pool(database_url, settings)
        try:
            yield
        finally:
            await app.state.pool.close()

    return lifespan


async def provide_connection(state: State) -> AsyncIterator[asyncpg.Connection]:
    """One pooled connection per request that needs the database, waited for at most a deadline."""
    async with state.pool.acquire(timeout=state.settings.acquire_timeout) as conn:
        yield conn
