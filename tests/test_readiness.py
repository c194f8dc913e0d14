"""Readiness that means it: /ready is 503, naming what is wrong and what to do, when the database's schema
is behind the code's migrations or the audit sealer is stuck; 200 otherwise."""

from __future__ import annotations

import re

import asyncpg
import httpx
from litestar import Litestar

from service import migrations
from service.repositories import audit as audit_repo
from tests.helpers import assert_problem


async def test_ready_when_the_schema_is_the_codes_and_nothing_waits(anonymous_client: httpx.AsyncClient) -> None:
    answer = await anonymous_client.get("/ready")
    assert answer.status_code == 200 and answer.json() == {"status": "ok", "database": "ok"}


async def test_a_schema_behind_the_code_is_named_with_the_command_to_run(
    anonymous_client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    current = migrations.head()
    await conn.execute("UPDATE alembic_version SET version_num = '0011'")
    try:
        problem = assert_problem(await anonymous_client.get("/ready"), 503)
        assert f"the database schema is at 0011, the code needs {current}" in problem["detail"]
        assert "provenance migrate" in problem["detail"]
    finally:
        await conn.execute("UPDATE alembic_version SET version_num = $1", current)
    assert (await anonymous_client.get("/ready")).status_code == 200


async def test_a_stuck_sealer_is_named(app: Litestar, conn: asyncpg.Connection) -> None:
    # The sealers' lock held elsewhere keeps an entry written ten minutes ago from being sealed.
    async with conn.transaction():
        await audit_repo.lock_appenders(conn)
        async with app.state.pool.acquire() as writer:
            await writer.execute(
                "INSERT INTO audit_pending (actor, action, entity_type, entity_id, change, at)"
                " VALUES ('desk', 'create', 'source', gen_random_uuid(), '{}', now() - interval '10 minutes')"
            )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            problem = assert_problem(await client.get("/ready"), 503)
        assert re.search(r"the audit sealer is stuck: an entry has waited 6\d\d s", problem["detail"])
        assert "more than 60 s" in problem["detail"]
        await conn.execute("DELETE FROM audit_pending")


async def test_a_database_without_a_schema_says_to_migrate(app: Litestar, conn: asyncpg.Connection) -> None:
    await conn.execute("ALTER TABLE alembic_version RENAME TO alembic_version_aside")
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            problem = assert_problem(await client.get("/ready"), 503)
        assert "no schema: run `provenance migrate`" in problem["detail"]
    finally:
        await conn.execute("ALTER TABLE alembic_version_aside RENAME TO alembic_version")
