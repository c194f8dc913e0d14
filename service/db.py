"""The asyncpg pool: its connections' set-up, one acquired within a deadline, and the retry policy of writes."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import date, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

import asyncpg
import msgspec

from service.errors import DATABASE_UNAVAILABLE, Unavailable
from service.repositories import server as server_repo
from service.settings import Settings

log = logging.getLogger(__name__)
operator_log = logging.getLogger("provenance")
"""Where what the operator must act on is logged."""
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


# The binary formats, so that COPY (bulk import) can write JSON columns too: json's is its text,
# jsonb's a version byte (1) and its text.
JSONB_VERSION = b"\x01"


def _encode_jsonb(value: Any) -> bytes:
    return JSONB_VERSION + msgspec.json.encode(value)


def _decode_jsonb(data: bytes) -> Any:
    return msgspec.json.decode(memoryview(data)[1:])


# Dates as PostgreSQL counts them, days from 2000-01-01. asyncpg's own codec stores Python's first and
# last dates (0001-01-01, 9999-12-31) as -infinity and infinity, which then read back as no date at all:
# an affiliation since 0001-01-01 made its source unreadable (a 500 the fuzzer found).
POSTGRES_EPOCH = date(2000, 1, 1)


def _encode_date(value: date) -> tuple[int]:
    return ((value - POSTGRES_EPOCH).days,)


def _decode_date(value: tuple[int]) -> date:
    return POSTGRES_EPOCH + timedelta(days=value[0])


async def _init_connection(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec(
        "json", encoder=msgspec.json.encode, decoder=msgspec.json.decode, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec(
        "jsonb", encoder=_encode_jsonb, decoder=_decode_jsonb, schema="pg_catalog", format="binary"
    )
    await conn.set_type_codec("date", encoder=_encode_date, decoder=_decode_date, schema="pg_catalog", format="tuple")


def statement_cache_size(pooler: str) -> int:
    """How many prepared statements asyncpg keeps per connection: 100 (its default) straight to PostgreSQL,
    none behind a pooler in transaction mode.

    A cached statement is a named one, prepared on the server connection of one transaction; PgBouncer
    (1.18, in transaction mode) hands the next transaction any server connection, where that name is
    unknown ("prepared statement __asyncpg_stmt_1__ does not exist"). With no cache asyncpg uses the
    unnamed statement and sends its Parse again with each Bind, Execute and Sync: the first round trip
    (Parse, Describe) ends with a Flush, not a Sync, so PgBouncer keeps the server connection until the
    Sync that ends the second, and no statement outlives its own round trips. Each query is then parsed
    and planned at each run: the cost docs/scaling.md measures.
    """
    return 0 if pooler == "pgbouncer" else 100


async def connect(database_url: str, *, pooler: str | None = None) -> asyncpg.Connection:
    """One connection with the same codecs as the pool's, for commands outside the app; ``pooler``
    (else ``PROVENANCE_POOLER``) says whether a pooler in transaction mode is in between."""
    if pooler is None:
        pooler = Settings.from_env().pooler
    conn = await asyncpg.connect(database_url, statement_cache_size=statement_cache_size(pooler))
    await _init_connection(conn)
    return conn


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Reset nothing more when a connection goes back to the pool (asyncpg still rolls back an open
    transaction first).

    asyncpg's default reset sends one more round trip per request (unlock session advisory locks,
    close cursors, unlisten, reset settings), about a quarter of the server's time on a one-row read.
    The service leaves none of these behind: its advisory locks are transaction-scoped, its ``SET``s
    ``LOCAL``, and it neither listens nor keeps cursors outside a transaction.
    """


class Turns:
    """A pool's connections handed out first come, first served, each wait bounded by a deadline.

    asyncpg's pool lets a request that asks while a connection is idle take it ahead of those already
    waiting, and a waiter woken for a connection that another took meanwhile goes back to the end of
    the line. Under load some requests lost that race again and again: at 32 connections on a pool of
    10, the one-row read's p99 was ten times its p50, a bare app's four (bench/README.md, "Why the code
    is as it is"). Here a request waits in line whenever anyone waits, and a connection given back goes
    to the first in line, never to the next to ask.

    Deadlines are kept by one timer for the whole line, which runs only while someone waits and ends
    the waits past their deadline every ``SWEEP_SECONDS``, rather than by a timer set and cancelled
    for each request (under load most requests wait).
    """

    SWEEP_SECONDS = 0.05

    def __init__(self, size: int) -> None:
        self.free = size
        self.waiting: deque[tuple[float, asyncio.Future[None]]] = deque()
        """Each waiting request's deadline (the loop's clock) and its turn, in the order they asked."""
        self._sweeping = False

    async def take(self, deadline: float) -> None:
        """Wait for this request's turn: at once when a connection is free and no one waits;
        ``TimeoutError`` once the loop's clock passes ``deadline`` (within ``SWEEP_SECONDS``)."""
        if self.free > 0 and not self.waiting:
            self.free -= 1
            return
        loop = asyncio.get_running_loop()
        turn: asyncio.Future[None] = loop.create_future()
        entry = (deadline, turn)
        self.waiting.append(entry)
        if not self._sweeping:
            self._sweeping = True
            loop.call_later(self.SWEEP_SECONDS, self._sweep, loop)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled() and turn.exception() is None:
                self.give()  # given a turn, then cancelled before taking it: the next in line has it
            else:  # cancelled while in line (a wait past its deadline the sweep has taken out already)
                with contextlib.suppress(ValueError):
                    self.waiting.remove(entry)
            raise

    def give(self) -> None:
        """A turn ends: the first in line gets it, else it is free."""
        if self.waiting:
            self.waiting.popleft()[1].set_result(None)
        else:
            self.free += 1

    def _sweep(self, loop: asyncio.AbstractEventLoop) -> None:
        """End the waits past their deadline; again in a while, as long as anyone waits."""
        now = loop.time()
        if any(deadline <= now for deadline, _ in self.waiting):
            kept: deque[tuple[float, asyncio.Future[None]]] = deque()
            for deadline, turn in self.waiting:
                if deadline <= now:
                    turn.set_exception(TimeoutError())
                else:
                    kept.append((deadline, turn))
            self.waiting = kept
        if self.waiting:
            loop.call_later(self.SWEEP_SECONDS, self._sweep, loop)
        else:
            self._sweeping = False


class Pool(asyncpg.Pool):  # type: ignore[misc]
    """asyncpg's pool with ``Turns`` of its size, which ``pooled`` takes its connections by."""

    __slots__ = ("turns",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.turns = Turns(kwargs["max_size"])


async def _pool(database_url: str, settings: Settings, *, min_size: int, **options: Any) -> Pool:
    """A ``Pool`` with asyncpg's defaults, the settings' size and deadline, and the app's codecs."""
    pool: Pool = await Pool(
        database_url,
        min_size=min_size,
        max_size=settings.pool_max_size,
        max_queries=50_000,  # asyncpg.create_pool's defaults
        max_inactive_connection_lifetime=300.0,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        command_timeout=settings.command_timeout,
        init=_init_connection,
        reset=_keep_session,
        **options,
    )
    return pool


async def create_pool(database_url: str, settings: Settings) -> Pool:
    """A pool of connections with JSON codecs and a deadline on every command.

    Statements are prepared and cached per connection (asyncpg's default ``statement_cache_size`` of
    100), so each query a request makes is parsed and planned once per connection; behind a pooler in
    transaction mode (``PROVENANCE_POOLER=pgbouncer``) nothing is cached (``statement_cache_size``).
    """
    cache = statement_cache_size(settings.pooler)
    return await _pool(database_url, settings, min_size=settings.pool_min_size, statement_cache_size=cache)


async def create_replica_pool(database_url: str, settings: Settings) -> Pool:
    """A pool on the replica, connecting only when a read asks: a replica down at start-up is no error."""
    return await _pool(database_url, settings, min_size=0)


# What each setting costs when it is off, should PostgreSQL or its machine crash.
DURABILITY_LOSSES = {
    "fsync": "a crash of the machine can lose writes already answered 201, and corrupt the database",
    "synchronous_commit": "a crash can lose writes answered 201 in the moment before it",
}


async def take(pool: asyncpg.Pool, timeout: float) -> asyncpg.Connection:
    """A connection of the pool, in its turn (``Turns``), waited for at most ``timeout`` seconds; give
    it back with ``give_back``.

    The deadline is kept by the turns while the request waits in line, then by ``asyncio.timeout``
    should the pool have to open a connection; not by asyncpg's own ``acquire(timeout=...)``, which
    runs each acquisition in a task of its own (``wait_for``) and cost a one-row read about a fifth of
    its time in the benchmark. A deadline passed is a ``TimeoutError``, and the wait ends cleanly.
    """
    turns: Turns | None = getattr(pool, "turns", None)  # a pool not made by create_pool has none
    if turns is None:
        async with asyncio.timeout(timeout):
            return await pool.acquire()
    deadline = asyncio.get_running_loop().time() + timeout
    await turns.take(deadline)
    try:
        if pool.get_idle_size() > 0:
            # A connection open and idle: taking it neither waits nor connects (nearly every request).
            return await pool.acquire()
        async with asyncio.timeout_at(deadline):  # it may have to connect
            return await pool.acquire()
    except BaseException:
        turns.give()
        raise


def waiting(pool: asyncpg.Pool) -> int:
    """Requests waiting in line for a connection of ``pool``, for the metrics."""
    turns: Turns | None = getattr(pool, "turns", None)
    return 0 if turns is None else len(turns.waiting)


async def give_back(pool: asyncpg.Pool, conn: asyncpg.Connection) -> None:
    """Return a connection ``take`` took, reset (an open transaction rolled back), and end its turn.

    When resetting it fails, PostgreSQL dropped it in the middle of the request and asyncpg closes it;
    the error is raised, the turn ends all the same."""
    try:
        await pool.release(conn)
    finally:
        if (turns := getattr(pool, "turns", None)) is not None:
            turns.give()


@asynccontextmanager
async def pooled(pool: asyncpg.Pool, timeout: float) -> AsyncIterator[asyncpg.Connection]:
    """A connection of the pool (``take``), given back after the block (``give_back``).

    When resetting it fails, PostgreSQL dropped it in the middle of the block: the database is
    unavailable (503), unless the block had already failed of its own.
    """
    conn = await take(pool, timeout)
    try:
        yield conn
    except BaseException:
        try:
            await give_back(pool, conn)
        except Exception as exc:
            log.warning("a connection could not be reset after a failed request: %r", exc)
        raise
    try:
        await give_back(pool, conn)
    except Exception as exc:
        raise Unavailable("the database dropped the connection") from exc


async def warn_if_not_durable(pool: asyncpg.Pool, settings: Settings) -> None:
    """Log a warning for each of ``fsync`` and ``synchronous_commit`` that PostgreSQL runs with off."""
    try:
        async with pooled(pool, settings.acquire_timeout) as conn:
            durability = await server_repo.durability(conn)
    except DATABASE_UNAVAILABLE as exc:
        operator_log.warning("could not read fsync and synchronous_commit: %r", exc)
        return
    for name, loss in DURABILITY_LOSSES.items():
        if durability[name] == "off":
            operator_log.warning("PostgreSQL runs with %s=off: %s", name, loss)
