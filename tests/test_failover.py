"""Failover without a restart (docs/operations.md): a served process whose DATABASE_URL lists a primary and
its synchronous standby with ``target_session_attrs=read-write`` keeps writing through the primary's
death and the standby's promotion: 503 with ``Retry-After`` meanwhile, never a 500, writes again within
10 s of the promotion, and every write acknowledged before the kill on the promoted server.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.clusters import Postmaster, replicated, until
from tests.helpers import Load, bearer, make_key, served_process, service_env

WRITERS = 4
BACK_WITHIN = 10.0
"""Seconds after the promotion within which writes must succeed again."""


SYNCHRONOUS = "SELECT EXISTS (SELECT 1 FROM pg_stat_replication WHERE application_name = $1 AND sync_state = 'sync')"


@pytest.fixture
def clusters(tmp_path: Path) -> Iterator[tuple[Postmaster, Postmaster]]:
    """A migrated primary and a standby it replicates to synchronously: a commit is answered once the
    standby has flushed it. Both stopped after the test, killed or not."""
    # Promoted, the standby must not wait for a standby of its own: its copy of the setting is emptied.
    with replicated(tmp_path, synchronous_standby_names="") as (primary, standby):
        asyncio.run(configure_synchronous(primary.url(), "standby"))
        yield primary, standby


async def configure_synchronous(url: str, standby: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{standby}'")
        await conn.execute("SELECT pg_reload_conf()")
    finally:
        await conn.close()
    await until(url, SYNCHRONOUS, standby)


def both(primary: Postmaster, standby: Postmaster) -> str:
    """DATABASE_URL naming both servers, of which the service takes the one that accepts writes."""
    return (
        f"postgresql://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/postgres"
        "?target_session_attrs=read-write"
    )


async def test_writes_survive_the_primary_killed_and_the_standby_promoted_without_a_restart(
    clusters: tuple[Postmaster, Postmaster],
) -> None:
    primary, standby = clusters
    key = await make_key(primary.url())
    load = Load()
    with served_process(env=service_env(both(primary, standby))) as (process, base):
        async with httpx.AsyncClient(base_url=base, headers=bearer(key), timeout=30) as client:
            writers = [asyncio.create_task(load.writer(client, n)) for n in range(WRITERS)]
            try:
                await load.wait_for_created(50, within=60)
                primary.kill()
                acknowledged_before_kill = set(load.created)
                await load.wait_for_answers(20, within=30)  # 503s meanwhile
                await asyncio.to_thread(standby.promote)
                promoted_at = time.monotonic()
                created_at_promotion = len(load.created)
                while len(load.created) < created_at_promotion + 20:
                    assert time.monotonic() - promoted_at < BACK_WITHIN, f"no writes {BACK_WITHIN} s after promotion"
                    await asyncio.sleep(0.05)
                back_after = time.monotonic() - promoted_at
            finally:
                load.stop.set()
                await asyncio.gather(*writers)
        assert process.poll() is None, "the service restarted or died"
    assert load.failures == []
    assert set(load.statuses) <= {201, 503}, load.statuses
    assert load.statuses[503] > 0, "the failover went unnoticed: was the primary killed?"
    stored = {
        str(record["id"])
        for record in await fetch(standby.url(), "SELECT id FROM claims WHERE id = ANY($1::uuid[])", list(load.created))
    }
    assert acknowledged_before_kill <= stored
    assert set(load.created) == stored, "a write answered 201 is missing from the promoted server"
    assert back_after < BACK_WITHIN


async def fetch(url: str, query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(query, *args)
    finally:
        await conn.close()
