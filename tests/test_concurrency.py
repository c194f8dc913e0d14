"""Concurrent writers: new sources named by many claims at once, racing edits, crossing merges."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from tests.helpers import claim_body, create_source, hop, inline


async def test_fifty_claims_naming_one_new_source_at_once_create_it_once(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    bodies = [claim_body(f"claim {i}", hop(inline("Brand New Agency", "outlet"), "reports")) for i in range(50)]
    responses = await asyncio.gather(*(client.post("/claims", json=body) for body in bodies))
    assert [r.status_code for r in responses] == [201] * 50
    assert len({r.json()["origin"]["id"] for r in responses}) == 1
    assert await conn.fetchval("SELECT count(*) FROM sources WHERE name = 'Brand New Agency'") == 1


async def test_claims_naming_new_sources_in_crossing_orders_create_each_once(
    client: httpx.AsyncClient, conn: asyncpg.Connection, caplog: pytest.LogCaptureFixture
) -> None:
    # Each takes the locks of the names it creates together, in one order whatever the chain's.
    names = ["Crossing Wire", "Crossing Agency", "Crossing Paper"]
    bodies = [
        claim_body(f"claim {i}", *(hop(inline(name, "outlet"), "citing") for name in names[i % 3 :] + names[: i % 3]))
        for i in range(30)
    ]
    bodies += [claim_body(f"reversed {i}", *reversed(body["chain"])) for i, body in enumerate(bodies)]
    responses = await asyncio.gather(*(client.post("/claims", json=body) for body in bodies))
    assert [r.status_code for r in responses] == [201] * 60
    counts = await conn.fetch("SELECT name, count(*) FROM sources GROUP BY name ORDER BY name")
    assert [(r["name"], r["count"]) for r in counts] == [(name, 1) for name in sorted(names)]
    assert not [r.message for r in caplog.records if "DeadlockDetected" in r.message]  # none had to be retried


async def test_racing_edits_with_one_etag_let_exactly_one_through(client: httpx.AsyncClient) -> None:
    source = await create_source(client, {"name": "Hina", "kind": "outlet"})
    etag = (await client.get(f"/sources/{source['id']}")).headers["etag"]
    responses = await asyncio.gather(
        *(
            client.patch(f"/sources/{source['id']}", json={"description": f"edit {i}"}, headers={"If-Match": etag})
            for i in range(10)
        )
    )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [412] * 9
    winner = next(r.json()["description"] for r in responses if r.status_code == 200)
    assert (await client.get(f"/sources/{source['id']}")).json()["description"] == winner


async def test_crossing_merges_of_two_sources_leave_one_survivor(client: httpx.AsyncClient) -> None:
    a = await create_source(client, {"name": "Pat Ryder", "kind": "person"})
    b = await create_source(client, {"name": "Patrick Ryder", "kind": "person"})
    first, second = await asyncio.gather(
        client.post(f"/sources/{a['id']}/merge", json={"into": b["id"]}),
        client.post(f"/sources/{b['id']}/merge", json={"into": a["id"]}),
    )
    assert sorted([first.status_code, second.status_code]) in ([200, 409], [200, 422])
    survivors = (await client.get("/sources", params={"kind": "person"})).json()["items"]
    assert len(survivors) == 1
