"""Behind PgBouncer in transaction mode (Debian's 1.18, no prepared statements there): ``PROVENANCE_POOLER=pgbouncer``
is what makes asyncpg work, the service keeps nothing on a session, and a served process with two workers
takes concurrent writes, replays, traces and audit checks through it.

The rest of the write paths run through PgBouncer as whole modules (``make test``'s second run, with
``PROVENANCE_TEST_THROUGH=pgbouncer``); this module starts PgBouncers of its own, so it runs straight.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import asyncpg.connection
import httpx
import msgspec
import pytest

from service.db import create_pool
from service.repositories.cursors import rows_in_batches
from service.settings import Settings
from tests.helpers import (
    TEST_POOLER,
    Load,
    bearer,
    claim_body,
    hop,
    inline,
    make_key,
    service_env,
    serving,
)
from tests.poolers import pgbouncer

pytestmark = pytest.mark.skipif(
    TEST_POOLER == "pgbouncer", reason="starts PgBouncers of its own in front of PostgreSQL itself"
)

WRITERS = 20
QUERY = "SELECT count(*) FROM claims WHERE seq > $1"


@pytest.fixture
def bouncer(database_url: str) -> Iterator[str]:
    """The test database through a PgBouncer in transaction mode with 2 server connections: 20 clients
    share them, so a statement left on one of them is met from another client."""
    with pgbouncer(database_url, pool_size=2) as url:
        yield url


async def errors_of_concurrent_queries(url: str, pooler: str) -> Counter[str]:
    """The errors 20 tasks meet, each running 50 queries on the service's own pool set up for ``pooler``."""
    settings = Settings(database_url=url, pooler=pooler, pool_min_size=WRITERS, pool_max_size=WRITERS)
    pool = await create_pool(url, settings)
    errors: Counter[str] = Counter()

    async def queries(task: int) -> None:
        for number in range(50):
            try:
                async with pool.acquire() as conn:
                    await conn.fetchval(QUERY, task * number)
            except asyncpg.PostgresError as exc:
                errors[type(exc).__name__] += 1

    try:
        await asyncio.gather(*(queries(task) for task in range(WRITERS)))
    finally:
        await pool.close()
    return errors


class TestTheSetting:
    async def test_without_it_cached_statements_are_missing_on_the_next_server_connection(self, bouncer: str) -> None:
        errors = await errors_of_concurrent_queries(bouncer, "none")
        assert errors["InvalidSQLStatementNameError"] > 0, (
            errors
        )  # prepared statement "__asyncpg_stmt_..." does not exist

    async def test_with_it_no_query_fails(self, bouncer: str) -> None:
        assert await errors_of_concurrent_queries(bouncer, "pgbouncer") == Counter()


SERIES = "SELECT g FROM generate_series(1, 5) g"


async def read_in_a_transaction(conn: asyncpg.Connection, *, sql_cursor: bool) -> list[int]:
    async with conn.transaction():
        if sql_cursor:
            return [r["g"] async for r in rows_in_batches(conn, "series", SERIES, 2)]
        return [r["g"] async for r in conn.cursor(SERIES, prefetch=2)]


async def cursor_left_behind_then_met(url: str, *, sql_cursor: bool) -> list[str]:
    """One connection reads through a cursor while another holds the other server connection, then runs
    its next query on that one; connections of "another process" (asyncpg's statement names counted from
    1 again) then read through cursors: the errors they meet."""
    first = await asyncpg.connect(url, statement_cache_size=0)
    other = await asyncpg.connect(url, statement_cache_size=0)
    errors = []
    try:
        holding = other.transaction()
        await holding.start()
        await other.fetchval("SELECT 1")
        asyncpg.connection._uid = 0  # type: ignore[attr-defined]  # as in a fresh process
        await read_in_a_transaction(first, sql_cursor=sql_cursor)
        await holding.commit()  # the other server connection is now the last freed: PgBouncer's next
        await first.fetchval("SELECT 1")  # asyncpg closes its cursor's statement only now, there
        for _ in range(4):
            asyncpg.connection._uid = 0  # type: ignore[attr-defined]
            later = await asyncpg.connect(url, statement_cache_size=0)
            try:
                assert await read_in_a_transaction(later, sql_cursor=sql_cursor) == [1, 2, 3, 4, 5]
            except asyncpg.PostgresError as exc:
                errors.append(type(exc).__name__)
            finally:
                await later.close()
    finally:
        await first.close()
        await other.close()
    return errors


class TestNothingOutlivesATransaction:
    async def test_asyncpg_cursors_leave_a_named_statement_on_a_server_connection(self, bouncer: str) -> None:
        errors = await cursor_left_behind_then_met(bouncer, sql_cursor=False)
        assert "DuplicatePreparedStatementError" in errors, errors

    async def test_the_services_cursors_are_declared_in_the_transaction_and_leave_nothing(self, bouncer: str) -> None:
        assert await cursor_left_behind_then_met(bouncer, sql_cursor=True) == []


def ndjson(*claims: dict[str, Any]) -> bytes:
    return b"".join(msgspec.json.encode(claim) + b"\n" for claim in claims)


async def test_two_workers_behind_pgbouncer_take_concurrent_writes_replays_traces_and_audit_checks(
    bouncer: str, database_url: str, tmp_path: Path
) -> None:
    secret = await make_key(database_url)
    env = service_env(bouncer, PROVENANCE_POOLER="pgbouncer", PROVENANCE_POOL_MAX_SIZE="8")
    with serving("--workers", "2", env=env) as base:
        async with httpx.AsyncClient(base_url=base, headers=bearer(secret), timeout=30) as client:
            load = Load()
            writers = [asyncio.create_task(load.writer(client, n)) for n in range(WRITERS)]
            await load.wait_for_created(200, within=120)
            load.stop.set()
            await asyncio.gather(*writers)
            assert load.failures == [] and set(load.statuses) == {201}, (load.failures[:3], load.statuses)

            same_key = claim_body("one key, many tries", hop(inline("Kyodo", "outlet")))
            answers = await asyncio.gather(
                *(client.post("/claims", json=same_key, headers={"Idempotency-Key": "k"}) for _ in range(WRITERS))
            )
            assert {a.status_code for a in answers} <= {201, 409}
            assert len({a.json()["id"] for a in answers if a.status_code == 201}) == 1

            claim_id = next(iter(load.created))
            traces = await asyncio.gather(*(client.get(f"/claims/{claim_id}/trace") for _ in range(WRITERS)))
            assert {t.status_code for t in traces} == {200}
            searched = await client.get("/trace", params={"statement": "writer 3 claim 1"})
            assert searched.status_code == 200, searched.text

            imported = await client.post(
                "/claims/import",
                content=ndjson(*(claim_body(f"imported {n}", hop(inline("Tanjug", "outlet"))) for n in range(50))),
                headers={"Content-Type": "application/x-ndjson"},
            )
            assert imported.status_code == 200 and imported.json()["imported"] == 50, imported.text

    lines = tmp_path / "claims.ndjson"
    lines.write_bytes(ndjson(*(claim_body(f"by the command {n}", hop(inline("Hina", "outlet"))) for n in range(20))))
    command = [sys.executable, "-m", "service.cli", "import", str(lines)]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    with serving(env=env) as base:
        async with httpx.AsyncClient(base_url=base, headers=bearer(secret), timeout=30) as client:
            verified = (await client.get("/audit/verify")).json()
    assert verified["ok"] is True, verified
    assert verified["entries"] >= 1 + 200 + 1 + 50 + 20  # the key, the load, the one key's claim, the imports
