"""The whole shape past one machine (docs/scaling.md), under load: two API processes, writing through
PgBouncer in transaction mode to a primary, reading from its streaming replica, their rate limits
counted in one Redis; a minute of mixed reads and writes answers no error, loses no write, reads every
write back where it was asked to, and leaves an audit log that verifies."""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections import Counter
from collections.abc import Awaitable
from pathlib import Path

import httpx

from tests.clusters import Postmaster, fetchval, replicated
from tests.helpers import bearer, make_key, redis_server, served_process, service_env
from tests.poolers import pgbouncer

SECONDS = 60
WRITERS = 4
READERS = 8


def test_two_processes_behind_pgbouncer_with_a_replica_take_a_minute_of_load(tmp_path: Path) -> None:
    with replicated(tmp_path) as (primary, standby):
        secret = asyncio.run(make_key(primary.url()))  # admin: /audit/verify too
        with pgbouncer(primary.url(), pool_size=8) as bounced, redis_server() as (_, redis_url):
            env = shape_env(bounced, standby, redis_url)
            with served_process(env=env) as (_, first), served_process(env=env) as (_, second):
                load = asyncio.run(mixed_load([first, second], secret, SECONDS))
                verified = httpx.get(f"{first}/audit/verify", headers=bearer(secret), timeout=60)
        query = "SELECT count(*) FROM claims WHERE id = ANY($1::uuid[])"
        stored = asyncio.run(fetchval(primary.url(), query, list(load.created)))
    assert load.failures == [], load.failures[:5]
    assert set(load.statuses) <= {200, 201}, load.statuses
    assert len(load.created) > 100 and load.reads > 1000  # a real load, not a handful of requests
    assert stored == len(load.created)  # every write answered 201 is on the primary
    assert load.stale == 0  # every read asked to follow a write found it
    assert load.by_replica > load.reads / 2  # and the replica answered most reads
    assert verified.status_code == 200 and verified.json()["ok"] is True, verified.text


def shape_env(bounced: str, standby: Postmaster, redis_url: str) -> dict[str, str]:
    """An API process of the shape: writing through PgBouncer, reading from ``standby``, its limits in
    Redis (high enough that the load never meets them), its metrics open to the load's count."""
    return service_env(
        bounced,
        PROVENANCE_POOLER="pgbouncer",
        PROVENANCE_READ_DATABASE_URL=standby.url(),
        PROVENANCE_REDIS_URL=redis_url,
        PROVENANCE_RATE_LIMIT_PER_MINUTE="1000000000",
        PROVENANCE_WRITE_RATE_LIMIT_PER_MINUTE="1000000000",
        PROVENANCE_METRICS_PUBLIC="true",
    )


class MixedLoad:
    """What the load met: claims answered 201, statuses, failures, reads and where they were answered,
    and how long each kind of request took."""

    def __init__(self) -> None:
        self.created: list[str] = []
        self.statuses: Counter[int] = Counter()
        self.failures: list[str] = []
        self.reads = self.stale = self.by_replica = 0
        self.tokens: list[tuple[str, str]] = []
        """Claims written, with the ``Provenance-LSN`` their write answered."""
        self.seconds: dict[str, list[float]] = {"write": [], "read own write": [], "read": []}

    async def timed(self, kind: str, request: Awaitable[httpx.Response]) -> httpx.Response:
        started = time.perf_counter()
        response = await request
        self.seconds[kind].append(time.perf_counter() - started)
        return response

    def answered(self, response: httpx.Response, expected: int) -> bool:
        self.statuses[response.status_code] += 1
        if response.status_code != expected:
            self.failures.append(f"{response.request.method} {response.request.url.path}: {response.status_code}")
            return False
        return True


async def mixed_load(bases: list[str], secret: str, seconds: float) -> MixedLoad:
    """Writers and readers spread over ``bases`` for ``seconds``: each writer stores claims and, right
    away, reads each back with its token from the other process; each reader traces claims stored so
    far, and every third request traces a statement. (bench/shape.py runs the same load.)"""
    load = MixedLoad()
    deadline = time.monotonic() + seconds
    clients = [httpx.AsyncClient(base_url=base, headers=bearer(secret), timeout=30) for base in bases]

    async def writer(number: int) -> None:
        for count in itertools.count():
            if time.monotonic() > deadline:
                return
            client = clients[count % len(clients)]
            body = {
                "text": f"Writer {number} claim {count}: the minister said the talks would resume",
                "kind": "paraphrase",
                "chain": [
                    {"source": {"name": f"Outlet {number % 3}", "kind": "outlet"}, "cue": "reports"},
                    {"source": {"name": f"Minister {count % 7}", "kind": "person"}, "cue": "said"},
                ],
            }
            written = await load.timed("write", client.post("/claims", json=body))
            if not load.answered(written, 201):
                continue
            claim_id, token = written.json()["id"], written.headers["provenance-lsn"]
            load.created.append(claim_id)
            load.tokens.append((claim_id, token))
            # Its own write at once, from the other process, on the replica once it has replayed it.
            other = clients[(count + 1) % len(clients)]
            read = await load.timed(
                "read own write", other.get(f"/claims/{claim_id}", headers={"Provenance-Read-After": token})
            )
            load.reads += 1
            if read.status_code == 404:
                load.stale += 1
            load.answered(read, 200)

    async def reader(number: int) -> None:
        chooser = random.Random(number)
        for count in itertools.count():
            if time.monotonic() > deadline:
                return
            if not load.tokens:
                await asyncio.sleep(0.01)
                continue
            claim_id, token = chooser.choice(load.tokens)
            client = clients[count % len(clients)]
            path = f"/claims/{claim_id}/trace" if count % 3 else "/trace?statement=the+talks+would+resume"
            read = await load.timed("read", client.get(path, headers={"Provenance-Read-After": token}))
            load.reads += 1
            load.answered(read, 200)

    try:
        await asyncio.gather(*(writer(n) for n in range(WRITERS)), *(reader(n) for n in range(READERS)))
        for client in clients:
            page = (await client.get("/metrics")).text
            load.by_replica += int(sum(_samples(page, 'provenance_reads_total{server="replica"}')))
    finally:
        for client in clients:
            await client.aclose()
    return load


def _samples(page: str, series: str) -> list[float]:
    return [float(line.rsplit(" ", 1)[1]) for line in page.splitlines() if line.startswith(series + " ")]
