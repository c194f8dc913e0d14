"""Reads from a streaming replica, and reading one's own writes there.

Where a replica is set, every write answers ``Provenance-LSN``: the position in PostgreSQL's WAL its
commit is at or before (``pg_current_wal_insert_lsn()`` read after the commit). A read that sends it back as
``Provenance-Read-After`` is answered by the replica once the replica has replayed that far, waited for
at most ``PROVENANCE_READ_WAIT_MS``, else by the primary. A read without it goes to the replica as it is.

The replica is left out, and the primary answers, with no error, when it does not take a connection
(down, or out of reach) or lags past ``PROVENANCE_READ_MAX_LAG`` seconds; each such read is counted in
``provenance_replica_fallbacks_total{reason}``, and the first of each reason a minute is logged.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, cast

import asyncpg
from litestar.datastructures import ResponseHeader
from litestar.enums import ParamType, ScopeType
from litestar.openapi.spec import OpenAPIType, Operation, Parameter, Schema
from litestar.routes import HTTPRoute

from service.api.metrics import READS, REPLICA_FALLBACKS
from service.api.requests import header_of
from service.errors import DATABASE_UNAVAILABLE, BadRequest
from service.model import END

if TYPE_CHECKING:
    from litestar import Litestar
    from litestar.types import ASGIApp, Message, Receive, Scope, Send

    from service.settings import Settings

log = logging.getLogger("provenance")

LSN_HEADER = "Provenance-LSN"
"""The response header of a write: the WAL position its commit is at or before."""
READ_AFTER_HEADER = "Provenance-Read-After"
"""The request header of a read: a ``Provenance-LSN`` the answer must reflect."""
_READ_AFTER_NAME = READ_AFTER_HEADER.lower().encode()
LSN_DESCRIPTION = (
    "Where this write's commit is in the database's log, on a server that reads from a replica. Send it back "
    "as `Provenance-Read-After` on the reads that must see this write."
)
READ_AFTER_DESCRIPTION = (
    "The `Provenance-LSN` a write answered: the answer reflects that write. Where reads go to a replica, "
    "one that has not replayed it yet is waited for briefly, then the primary answers. Without it the "
    "answer may lag a moment behind writes."
)
LSN = re.compile(r"[0-9A-Fa-f]{1,8}/[0-9A-Fa-f]{1,8}")
READ_METHODS = frozenset({"GET", "HEAD"})
PRIMARY_ONLY_PATHS = ("/ui", "/audit")
"""Reads that stay on the primary: the workspace's pages, which follow its own form posts (a POST, then a
redirect), and the audit log's, which seal the entries waiting first (a write)."""

COMMIT_LSN = "SELECT pg_current_wal_insert_lsn()::text"
# How far the replica has received and replayed the primary's WAL (NULL, NULL on a server not in recovery).
POSITIONS = """
SELECT (pg_last_wal_receive_lsn() - '0/0'::pg_lsn)::int8 AS received,
       (pg_last_wal_replay_lsn() - '0/0'::pg_lsn)::int8 AS replayed
"""
REPLAYED = """
SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END
    >= $1::text::pg_lsn
"""

ACQUIRE_TIMEOUT = 1.0
"""Seconds a read waits for a replica connection before the primary answers it."""
RETRY_DOWN_AFTER = 5.0
"""Seconds the replica is left out after it refused a connection, before it is tried again."""
LAG_CHECKED_EVERY = 1.0
"""Seconds a lag reading holds before the next read measures it again."""
POLL_SECONDS = 0.005
LOGGED_EVERY = 60.0


def read_after(scope: Scope) -> str | None:
    """The ``Provenance-Read-After`` of a request, checked; a malformed one is a 400, an empty one none."""
    token = header_of(scope, _READ_AFTER_NAME)
    if token is None or not (token := token.strip()):
        return None
    if not LSN.fullmatch(token):
        raise BadRequest(f"{READ_AFTER_HEADER} must be a {LSN_HEADER} a write answered, such as 0/16B3748")
    return token


def reads_from_replica(method: str, path: str) -> bool:
    """Whether a request may be answered by the replica: a read outside the workspace and the audit log."""
    return method in READ_METHODS and not path.startswith(PRIMARY_ONLY_PATHS)


class Replica:
    """The replica's pool and what this process last learnt of it: down since when, lagging or not."""

    def __init__(self, pool: asyncpg.Pool, settings: Settings) -> None:
        self.pool = pool
        self.wait = settings.read_wait_ms / 1000
        self.max_lag = settings.read_max_lag
        self.down_until = 0.0
        self.lagging = False
        self.lag_checked_at = -LAG_CHECKED_EVERY
        self.unreplayed: deque[tuple[float, int]] = deque()
        """When this process first saw the replica receive WAL up to a position it has not replayed yet."""
        self.logged_at: dict[str, float] = {}

    async def caught_up(self, token: str | None) -> asyncpg.Connection | None:
        """A replica connection that has replayed ``token``; None, and counted, when the primary must answer."""
        now = time.monotonic()
        if now < self.down_until:
            self._fallback("down")
            return None
        if self.lagging and now - self.lag_checked_at < LAG_CHECKED_EVERY:
            self._fallback("lagging")
            return None
        try:
            async with asyncio.timeout(ACQUIRE_TIMEOUT):  # not acquire(timeout=): see service.db.pooled
                conn: asyncpg.Connection = await self.pool.acquire()
        except (*DATABASE_UNAVAILABLE, asyncpg.InterfaceError) as exc:
            self.down_until = time.monotonic() + RETRY_DOWN_AFTER
            self._fallback("down", exc)
            return None
        try:
            reason = await self._behind(conn, token)
        except (*DATABASE_UNAVAILABLE, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            await self.release(conn)
            self.down_until = time.monotonic() + RETRY_DOWN_AFTER
            self._fallback("down", exc)
            return None
        if reason is not None:
            await self.release(conn)
            self._fallback(reason)
            return None
        READS.labels(server="replica").inc()
        return conn

    async def release(self, conn: asyncpg.Connection) -> None:
        """Give a connection back; one the replica dropped is only closed."""
        try:
            await self.pool.release(conn)
        except Exception as exc:
            log.debug("a replica connection could not be reset: %r", exc)

    async def _behind(self, conn: asyncpg.Connection, token: str | None) -> str | None:
        """``lagging`` past the limit, ``behind`` the token after the wait, or None: the replica may answer."""
        now = time.monotonic()
        if now - self.lag_checked_at >= LAG_CHECKED_EVERY:
            positions = await conn.fetchrow(POSITIONS)
            self.lagging = self._lag(now, positions["received"], positions["replayed"]) > self.max_lag
            self.lag_checked_at = now
        if self.lagging:
            return "lagging"
        if token is None:
            return None
        deadline = now + self.wait
        while not await conn.fetchval(REPLAYED, token):
            if time.monotonic() >= deadline:
                return "behind"
            await asyncio.sleep(POLL_SECONDS)
        return None

    def _lag(self, now: float, received: int | None, replayed: int | None) -> float:
        """Seconds since the replica received the oldest WAL it has not replayed, as far as this process saw.

        Not the age of the last transaction replayed: after a quiet hour, the first write would look an
        hour late until it is replayed."""
        if received is None or replayed is None:
            self.unreplayed.clear()
            return 0.0
        while self.unreplayed and self.unreplayed[0][1] <= replayed:
            self.unreplayed.popleft()
        if received > replayed and (not self.unreplayed or self.unreplayed[-1][1] < received):
            self.unreplayed.append((now, received))
        return now - self.unreplayed[0][0] if self.unreplayed else 0.0

    def _fallback(self, reason: str, exc: BaseException | None = None) -> None:
        REPLICA_FALLBACKS.labels(reason=reason).inc()
        READS.labels(server="primary").inc()
        now = time.monotonic()
        if now - self.logged_at.get(reason, -LOGGED_EVERY) >= LOGGED_EVERY:
            self.logged_at[reason] = now
            log.warning("reads go to the primary: the replica is %s%s", WHY[reason], f" ({exc!r})" if exc else "")


WHY = {
    "down": "not taking connections",
    "lagging": "lagging past PROVENANCE_READ_MAX_LAG",
    "behind": "behind a write a read asked for, past PROVENANCE_READ_WAIT_MS",
}


class CommitToken:
    """Adds ``Provenance-LSN`` to the answer of a write that succeeded: the primary's WAL position read,
    as the answer starts, on the connection the write used, still lent to the request then
    (``service/api/connections.py``). Installed only where a replica is set: without one every read
    sees every write, and the token would cost each write a round trip for nothing."""

    def __init__(self, app: ASGIApp, lent_to: Callable[[Scope], asyncpg.Connection | None]) -> None:
        self.app = app
        self.lent_to = lent_to

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] in READ_METHODS:
            await self.app(scope, receive, send)
            return

        async def send_with_token(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                lsn = await self._commit_lsn(scope)
                if lsn is not None:
                    message["headers"] = [*message.get("headers", []), (b"provenance-lsn", lsn.encode())]
            await send(message)

        await self.app(scope, receive, send_with_token)

    async def _commit_lsn(self, scope: Scope) -> str | None:
        """The WAL position after the request's write, on its connection; None if it used none."""
        conn = self.lent_to(scope)
        if conn is None or conn.is_in_transaction():
            return None
        try:
            lsn: str = await conn.fetchval(COMMIT_LSN)
        except Exception as exc:  # the answer stands; only its token is missing
            log.debug("the commit's LSN could not be read: %r", exc)
            return None
        return lsn


LSN_RESPONSE_HEADER = ResponseHeader(
    name=LSN_HEADER, description=LSN_DESCRIPTION, value="0/16B3748", documentation_only=True
)
READ_AFTER_PARAMETER = Parameter(
    name=READ_AFTER_HEADER,
    param_in=ParamType.HEADER,
    required=False,
    description=READ_AFTER_DESCRIPTION,
    # Empty is allowed, and means no token: a client may send the header before its first write.
    schema=Schema(type=OpenAPIType.STRING, pattern=f"^({LSN.pattern})?{END}", examples=["0/16B3748"]),
)


def document_read_your_writes(app: Litestar) -> None:
    """Document ``Provenance-LSN`` on the answers of every write of the API, and ``Provenance-Read-After``
    on every read that may go to the replica (of those that use the database): one place, rather than on
    each of their handlers."""
    seen: set[int] = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if id(handler) in seen or not handler.resolve_include_in_schema():
                continue
            if "conn" not in handler.parsed_fn_signature.parameters:  # answered without the database
                continue
            seen.add(id(handler))
            if handler.http_methods <= READ_METHODS:
                if reads_from_replica("GET", route.path):
                    handler.operation_class = _with_read_after(handler.operation_class)
            else:
                handler.response_headers = [*(handler.response_headers or []), LSN_RESPONSE_HEADER]


def _with_read_after(operation_class: type[Operation]) -> type[Operation]:
    """``operation_class`` with the ``Provenance-Read-After`` parameter after its own."""

    @dataclass
    class ReadOperation(operation_class):  # type: ignore[valid-type,misc]  # a class chosen per handler
        def __post_init__(self) -> None:
            if post_init := getattr(super(), "__post_init__", None):
                post_init()
            operation = cast("Operation", self)
            operation.parameters = [*(operation.parameters or []), READ_AFTER_PARAMETER]

    return ReadOperation
