"""Idempotent POSTs: with an ``Idempotency-Key``, a write runs once and its retries get its first answer.

After Stripe and the IETF Idempotency-Key draft. Every POST handler hands its write to
``Idempotency.run``; without the header the write runs as it always did. With it, in one transaction:

1. try the key's advisory lock (never waiting) and look up the key's stored answer, which is
   scoped per API key and kept ``RETENTION``;
2. stored with the same fingerprint (method, path and body bytes): replay it, the same status,
   headers and body bytes, with ``Idempotent-Replayed: true``; stored with another: 422;
   not stored while the lock is held elsewhere: the first request is still running, 409;
3. otherwise run the write in a savepoint (re-run there after a deadlock, still holding the lock),
   store its answer with the key, purge a batch of expired keys, and commit: the key is stored
   exactly when the write is.

A write that fails (a problem) rolls back and stores nothing, so a corrected retry may use the same key.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Annotated, Any, NamedTuple

import asyncpg
from litestar import MediaType, Request, Response
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import HeaderParameter
from litestar.serialization import get_serializer
from litestar.utils.helpers import get_enum_string_value

from service.api.auth import Actor
from service.db import ATTEMPTS, RETRYABLE
from service.errors import FieldError, IdempotencyKeyInUse, IdempotencyKeyReused, InvalidInput
from service.repositories import idempotency as repo

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
RETENTION_HOURS = 24
RETENTION = timedelta(hours=RETENTION_HOURS)
"""How long a key's answer is replayed; older answers are ignored and purged."""
PURGE_BATCH = 100
"""Expired keys each idempotent write deletes at most: more than it adds, so the table stays bounded."""

# A bare key, or one as a Structured Field string (the draft's form): visible ASCII but `"` and `\`.
KEY_PATTERN = r'^(?:[!#-\[\]-~]{1,255}|"[!#-\[\]-~]{1,255}")$(?!\n)'
KEY = re.compile(KEY_PATTERN)

IdempotencyKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name=HEADER,
        # Documented only: parse_key checks it, to name the header in the 422 rather than a variable.
        schema_extra={"pattern": KEY_PATTERN},
        description='Makes retries of this write safe: a key of 1 to 255 visible ASCII characters (not `"` '
        'or `\\`), bare or quoted (`"key"`, the same key), unique per write, e.g. a UUID. The same key '
        f"with the same body within {RETENTION_HOURS} hours replays the first answer (same status, headers "
        "and body, plus `Idempotent-Replayed: true`) and stores nothing new; with another body it is a 422; "
        "while the first request is still running, a 409 with `Retry-After`. Keys are scoped per API key. "
        "A write that failed stored no key: retry it, corrected, with the same key.",
    ),
]

REPLAYED_HEADER = ResponseHeader(
    name=REPLAYED,
    description="`true` on an answer replayed for a repeated `Idempotency-Key`; absent on a first answer.",
    value="true",  # documents the header as a string; only replays carry it
    documentation_only=True,
)

Write = Callable[[asyncpg.Connection], Awaitable[Response[Any]]]
"""A POST handler's write and its answer, run on the request's connection."""

StreamedWrite = Callable[[AsyncIterator[bytes]], Awaitable[Response[Any]]]
"""A POST handler's write reading its body as it streams, and its answer."""


def fingerprint(method: str, path: str, body: bytes) -> bytes:
    """What makes two requests the same request: SHA-256 of the method, the path and the body bytes."""
    return hashlib.sha256(f"{method} {path}\n".encode() + body).digest()


class Answer(NamedTuple):
    """An answer as it is sent: what a key stores and its retries get back."""

    status: int
    headers: dict[str, str]
    media_type: str
    body: bytes

    def response(self, *, replayed: bool = False) -> Response[bytes]:
        """The answer to send; a replay says so in ``Idempotent-Replayed``."""
        headers = {**self.headers, REPLAYED: "true"} if replayed else self.headers
        return Response(self.body, status_code=self.status, headers=headers, media_type=self.media_type)


class _Unstored(Exception):
    """Rolls back a write that answered with something other than a success without raising."""

    def __init__(self, answer: Answer) -> None:
        super().__init__(answer.status)
        self.answer = answer


class Idempotency:
    """A POST's ``Idempotency-Key`` (or none), who sent it and the request's fingerprint: runs its write once."""

    def __init__(self, request: Request[Any, Any, Any], *, api_key: str, key: str | None) -> None:
        self.request = request
        self.api_key = api_key
        self.key = key

    async def run(self, conn: asyncpg.Connection, write: Write) -> Response[Any]:
        """The answer of ``write``: run as always without a key; with one, run once and replayed after."""
        if self.key is None:
            return await write(conn)
        request = self.request
        request_fingerprint = fingerprint(request.method, request.scope["path"], await request.body())
        try:
            async with conn.transaction():
                return await self._once(conn, self.key, request_fingerprint, write)
        except _Unstored as unstored:
            return unstored.answer.response()

    async def _once(
        self, conn: asyncpg.Connection, key: str, request_fingerprint: bytes, write: Write
    ) -> Response[bytes]:
        stored = await take_key(conn, self.api_key, key)
        if stored is not None:
            return replay(stored, key, request_fingerprint)
        answer = self._as_sent(await run_in_savepoint(conn, write))
        if not 200 <= answer.status < 300:
            raise _Unstored(answer)
        await keep_answer(conn, self.api_key, key, request_fingerprint, answer)
        return answer.response()

    async def run_streamed(
        self, pool: asyncpg.Pool, acquire_timeout: float, body: AsyncIterator[bytes], work: StreamedWrite
    ) -> Response[Any]:
        """The answer of ``work`` reading a streamed body: for writes of many transactions (imports).

        With a key, a connection of its own holds the key's lock in a transaction for as long as
        ``work`` runs, and stores the answer in it at the end; the fingerprint is taken as the body
        streams through. A known key's body is read through (not written) to compare fingerprints.
        The key is not in the transactions of the work's writes: should the work stop half-way, the
        key stores nothing and a retry runs it again (an import skips the lines whose ids it stored).
        """
        if self.key is None:
            return await work(body)
        hasher = hashlib.sha256(f"{self.request.method} {self.request.scope['path']}\n".encode())

        async def hashed() -> AsyncIterator[bytes]:
            async for chunk in body:
                hasher.update(chunk)
                yield chunk

        async with pool.acquire(timeout=acquire_timeout) as keeper, keeper.transaction():
            stored = await take_key(keeper, self.api_key, self.key)
            if stored is not None:
                async for _ in hashed():
                    pass
                return replay(stored, self.key, hasher.digest())
            answer = self._as_sent(await work(hashed()))
            if 200 <= answer.status < 300:
                await keep_answer(keeper, self.api_key, self.key, hasher.digest(), answer)
            return answer.response()

    def _as_sent(self, response: Response[Any]) -> Answer:
        """A handler's response as Litestar would send it, so that the stored bytes are the sent ones."""
        handler = self.request.route_handler
        # As Response.to_asgi_response picks them: the response's, else the handler's (else JSON).
        media_type = get_enum_string_value(response.media_type or handler.media_type or MediaType.JSON)
        body = response.render(response.content, media_type, get_serializer(handler.resolve_type_encoders()))
        return Answer(response.status_code or handler.status_code, dict(response.headers), media_type, body)


async def take_key(conn: asyncpg.Connection, api_key: str, key: str) -> asyncpg.Record | None:
    """Take a key's lock in the transaction of ``conn``: its stored answer if it has one, else ``None``
    to go on and write; a 409 while another request holds it."""
    held = await repo.try_lock(conn, api_key, key)
    # Looked up after the lock, in a snapshot of its own: a first request that released the lock has committed.
    stored: asyncpg.Record | None = await repo.find(conn, api_key, key, RETENTION)
    if stored is None and not held:
        raise IdempotencyKeyInUse(f"a request with the {HEADER} {key!r} is still running; retry in a moment")
    return stored


def replay(stored: asyncpg.Record, key: str, fingerprint: bytes) -> Response[bytes]:
    """A stored answer again, marked as replayed; a 422 when the key came with another request."""
    if stored["fingerprint"] != fingerprint:
        raise IdempotencyKeyReused(
            f"the {HEADER} {key!r} was sent with another request (method, path or body); use a new key for a new write",
            errors=[FieldError(HEADER, "already used for another request")],
        )
    return Answer(stored["status"], stored["headers"], stored["media_type"], stored["body"]).response(replayed=True)


async def keep_answer(conn: asyncpg.Connection, api_key: str, key: str, fingerprint: bytes, answer: Answer) -> None:
    """Store a key's answer in the transaction of its write, then purge a batch of expired keys."""
    await repo.insert(
        conn,
        api_key,
        key,
        fingerprint=fingerprint,
        status=answer.status,
        headers=answer.headers,
        media_type=answer.media_type,
        body=answer.body,
    )
    # Last: its row locks are held only for the commit, and rows other purges hold are skipped.
    await repo.purge(conn, RETENTION, PURGE_BATCH)


async def run_in_savepoint(conn: asyncpg.Connection, write: Write) -> Response[Any]:
    """Run ``write`` in a savepoint, again after a deadlock, keeping the transaction and the key's lock.

    The write's own ``retrying`` cannot re-run it inside this transaction; rolling back to the
    savepoint releases what the write locked, so running it again here is sound.
    """
    for attempt in range(1, ATTEMPTS + 1):
        try:
            async with conn.transaction():
                return await write(conn)
        except RETRYABLE as exc:
            if attempt == ATTEMPTS:
                raise
            log.info("retrying an idempotent write after %s (attempt %d)", type(exc).__name__, attempt)
    raise AssertionError("unreachable")


def parse_key(value: str) -> str:
    """The key the header names, its quotes (if any) dropped; 422 unless it matches ``KEY_PATTERN``."""
    if not KEY.fullmatch(value):
        raise InvalidInput.field(
            HEADER, 'give 1 to 255 visible ASCII characters other than " and \\, bare or in double quotes'
        )
    return value[1:-1] if value.startswith('"') else value


async def provide_idempotency(
    request: Request[Any, Any, Any], actor: Actor, idempotency_key: IdempotencyKeyHeader = None
) -> Idempotency:
    """The request's ``Idempotency-Key``, scoped to its API key (its body is read only when it is run)."""
    key = parse_key(idempotency_key) if idempotency_key is not None else None
    return Idempotency(request, api_key=actor, key=key)


Idempotent = NamedDependency[Idempotency]
"""A POST handler parameter receiving the request's ``Idempotency``; documents the header too."""
