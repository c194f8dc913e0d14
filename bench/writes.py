"""The write SQL of ``POST /claims`` for pgbench: the database's ceiling for scenario (f), as (b) is for (c).

One request of (f)'s file is stored through the service's own code (``keys.authenticate``, then
``claims.create``) on a connection that records every statement it sends with its arguments. The
statements become a pgbench script: each argument written as a literal of its parameter's type, the
new claim's id taken from the insert (``\\gset``) into the statements after it. pgbench then runs
that transaction, prepared, on as many connections as (f): the key's lookup, ``BEGIN``, the chain's
sources matched, the claim inserted with its hops, its first revision and its audit entry,
``COMMIT``; every round trip the app makes, with no Python between them.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any
from uuid import UUID

import asyncpg
import msgspec

from service import db
from service.domain import claims, keys
from service.model import ClaimIn
from service.repositories.claims import INSERT_CLAIM

# The new claim's id, as pgbench's \gset names it after INSERT_CLAIM's column.
CLAIM_ID = ":w_id"
UUID_OID = 2950
PARAMETER = re.compile(r"\$(\d+)")


async def _literal(conn: asyncpg.Connection, value: Any, oid: int) -> str:
    """``value`` as a SQL literal of the type ``oid``, written by PostgreSQL from what the app sent.

    An escape string with every colon escaped: pgbench takes any ``:name`` in a statement for a
    variable, inside quotes too, and a JSON document holds ``"role":null``."""
    type_name: str = await conn.fetchval("SELECT format_type($1, NULL)", oid)
    if value is None:
        return f"NULL::{type_name}"
    text: str = await conn.fetchval(f"SELECT $1::{type_name}::text", value)
    escaped = text.replace("\\", "\\\\").replace("'", "''").replace(":", "\\x3a")
    return f"E'{escaped}'::{type_name}"


async def recorded(
    conn: asyncpg.Connection, token: str, body: dict[str, Any]
) -> tuple[list[tuple[str, tuple[Any, ...]]], UUID]:
    """The statements, with their arguments, of one ``POST /claims`` of ``body`` by the key ``token``;
    and the id of the claim it stored."""
    sent: list[tuple[str, tuple[Any, ...]]] = []

    def heard(record: Any) -> None:
        sent.append((record.query, tuple(record.args or ())))

    # once unheard: a new connection asks PostgreSQL about the types it meets, once, as a served
    # worker's connections have long done
    await keys.authenticate(conn, token)
    await claims.create(conn, msgspec.convert(body, ClaimIn), actor="bench")
    conn.add_query_logger(heard)
    try:
        assert await keys.authenticate(conn, token) is not None, "the benchmark's key is not stored"
        stored = await claims.create(conn, msgspec.convert(body, ClaimIn), actor="bench")
        await asyncio.sleep(0)  # asyncpg hands the last records to the logger with call_soon
    finally:
        conn.remove_query_logger(heard)
    return sent, UUID(stored.claim.id)


async def _argument(conn: asyncpg.Connection, value: Any, oid: int, claim_id: UUID) -> str:
    """An argument as the script writes it: the new claim's id as pgbench's variable, else a literal."""
    if value == claim_id:
        return CLAIM_ID + "::uuid"
    if isinstance(value, list) and claim_id in value:
        items = [await _argument(conn, item, UUID_OID, claim_id) for item in value]
        return f"ARRAY[{', '.join(items)}]"
    return await _literal(conn, value, oid)


def _filled(sql: str, written: list[str]) -> str:
    """``sql`` with each ``$n`` replaced by the n-th of ``written``, in one pass (``$1`` is no prefix of ``$12``)."""
    return PARAMETER.sub(lambda m: written[int(m.group(1)) - 1], sql)


async def script(url: str, token: str, body: dict[str, Any]) -> str:
    """The pgbench script of one ``POST /claims`` of ``body`` (see the module's docstring)."""
    conn = await db.connect(url)
    statements: list[str] = []
    try:
        sent, claim_id = await recorded(conn, token, body)
        for query, args in sent:
            oids = [t.oid for t in (await conn.prepare(query)).get_parameters()] if args else []
            written = [await _argument(conn, value, oid, claim_id) for value, oid in zip(args, oids, strict=True)]
            sql = _filled(query.strip().rstrip(";"), written)
            # \gset ends a statement in place of its semicolon, and names the variable after the column
            statements.append(sql + ("\n\\gset w_" if query == INSERT_CLAIM else ";"))
    finally:
        await conn.close()
    if INSERT_CLAIM not in (query for query, _ in sent):
        raise RuntimeError("the recorded POST /claims inserted no claim")
    return "\n".join(statements) + "\n"
