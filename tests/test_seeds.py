"""The seed article, loaded as data: every attribution with its whole chain, loaded idempotently."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from service import seeds

pytestmark = pytest.mark.usefixtures("seeded")


@pytest.fixture
async def seeded(conn: asyncpg.Connection) -> seeds.SeedReport:
    return await seeds.load(conn)


async def trace_of(client: httpx.AsyncClient, key: str) -> dict[str, Any]:
    response = await client.get(f"/claims/{seeds.seed_id('claim', key)}/trace")
    assert response.status_code == 200, response.text
    trace: dict[str, Any] = response.json()
    return trace


def chain_of(trace: dict[str, Any]) -> list[tuple[str, str]]:
    return [(h["source"]["name"], h["cue"]) for h in trace["path"]]


async def test_the_seeds_hold_at_least_fifteen_claims(seeded: seeds.SeedReport) -> None:
    assert seeded.claims_added >= 15


async def test_seeding_twice_adds_nothing(conn: asyncpg.Connection) -> None:
    before = await conn.fetchval("SELECT count(*) FROM claims") + await conn.fetchval("SELECT count(*) FROM sources")
    again = await seeds.load(conn)
    assert (again.claims_added, again.sources_added) == (0, 0)
    after = await conn.fetchval("SELECT count(*) FROM claims") + await conn.fetchval("SELECT count(*) FROM sources")
    assert after == before


async def test_austin_initiated_is_hina_citing_reuters_citing_ryder(client: httpx.AsyncClient) -> None:
    trace = await trace_of(client, "austin-initiated-call")
    assert chain_of(trace) == [
        ("Hina", "reports"),
        ("Reuters", "citing"),
        ("Patrick Ryder", "told reporters"),
    ]
    assert trace["origin"]["source"]["kind"] == "person"
    assert trace["origin"]["role"] == "spokesman"
    assert trace["origin"]["on_behalf_of"]["name"] == "Pentagon"


async def test_belousov_warning_is_reuters_reporting_the_ministry_on_telegram(
    client: httpx.AsyncClient,
) -> None:
    trace = await trace_of(client, "belousov-danger-of-escalation")
    assert trace["claim"]["kind"] == "quote"
    assert [name for name, _ in chain_of(trace)] == ["Reuters", "Russian Defense Ministry"]
    assert "Telegram" in trace["path"][-1]["cue"]


async def test_ukraine_makes_its_own_decisions_is_a_quote_of_major_dietz(client: httpx.AsyncClient) -> None:
    trace = await trace_of(client, "ukraine-makes-own-targeting-decisions")
    assert trace["claim"]["kind"] == "quote"
    assert trace["claim"]["text"].startswith("Ukraine makes its own targeting decisions")
    assert trace["origin"]["source"]["name"] == "Charlie Dietz"
    assert trace["origin"]["on_behalf_of"]["name"] == "Pentagon"


async def test_pentagon_sources_are_anonymous_and_affiliated_to_the_pentagon(
    client: httpx.AsyncClient,
) -> None:
    trace = await trace_of(client, "ukraine-targeting-itself")
    assert trace["origin"]["source"] == {
        **trace["origin"]["source"],
        "name": "Pentagon sources",
        "kind": "anonymous",
    }
    assert trace["anonymous_origin"] is True
    assert trace["origin"]["on_behalf_of"]["name"] == "Pentagon"


async def test_the_nsc_spokesman_is_anonymous_and_speaks_for_the_council(client: httpx.AsyncClient) -> None:
    for key in ("loss-of-civilian-life-tragedy", "thousands-of-innocent-ukrainians-killed"):
        trace = await trace_of(client, key)
        assert trace["anonymous_origin"] is True
        assert trace["origin"]["on_behalf_of"]["name"] == "National Security Council"


async def test_the_governor_is_one_source_under_every_spelling(client: httpx.AsyncClient) -> None:
    ids = set()
    for spelling in ("Mihail Razvozayev", "Razvozhayev", "Mikhail Razvozhayev"):
        items = (await client.get("/sources", params={"q": spelling})).json()["items"]
        assert items[0]["score"] == 1.0
        ids.add(items[0]["id"])
    assert len(ids) == 1
    casualties = await trace_of(client, "sevastopol-three-dead-hundred-wounded")
    condolences = await trace_of(client, "putin-called-governor-condolences")
    assert casualties["origin"]["source"]["id"] == condolences["origin"]["source"]["id"] == ids.pop()
    assert casualties["origin"]["role"] == "governor"


async def test_zakharova_and_aksyonov_are_there(client: httpx.AsyncClient) -> None:
    zakharova = await trace_of(client, "zakharova-act-of-terrorism")
    assert zakharova["origin"]["source"]["name"] == "Maria Zakharova"
    assert zakharova["origin"]["on_behalf_of"]["name"] == "Russian Ministry of Foreign Affairs"
    aksyonov = await trace_of(client, "aksyonov-barbaric-terrorist-attack")
    assert aksyonov["origin"]["source"]["name"] == "Sergei Aksyonov"


async def test_the_two_casualty_counts_are_separate_claims(client: httpx.AsyncClient) -> None:
    kremlin = await trace_of(client, "crimea-attack-atacms-four-dead-151-injured")
    governor = await trace_of(client, "sevastopol-three-dead-hundred-wounded")
    assert kremlin["claim"]["id"] != governor["claim"]["id"]
    assert "151" in kremlin["claim"]["text"]
    assert "three people were killed" in governor["claim"]["text"]
    assert kremlin["origin"]["source"]["name"] != governor["origin"]["source"]["name"]


async def test_a_seed_quote_is_found_from_a_partial_paraphrase(client: httpx.AsyncClient) -> None:
    response = await client.get("/trace", params={"statement": "first such call since March"})
    best = response.json()["items"][0]
    assert best["trace"]["claim"]["id"] == str(seeds.seed_id("claim", "austin-initiated-call"))
    assert [h["source"]["name"] for h in best["trace"]["path"]] == ["Hina", "Reuters", "Patrick Ryder"]


async def test_the_casualty_counts_contradict_each_other(client: httpx.AsyncClient) -> None:
    governor = await trace_of(client, "sevastopol-three-dead-hundred-wounded")
    contradicting = {r["claim"]["id"] for r in governor["related"] if r["type"] == "contradicts"}
    assert str(seeds.seed_id("claim", "crimea-attack-atacms-four-dead-151-injured")) in contradicting


async def test_repeated_statements_are_the_same(client: httpx.AsyncClient) -> None:
    quote = await trace_of(client, "belousov-danger-of-escalation")
    same = {r["claim"]["id"] for r in quote["related"] if r["type"] == "same_as"}
    assert str(seeds.seed_id("claim", "belousov-warned-austin-arms-shipments")) in same


async def test_seeding_twice_adds_no_relation(conn: asyncpg.Connection, seeded: seeds.SeedReport) -> None:
    assert seeded.relations_added >= 2
    assert (await seeds.load(conn)).relations_added == 0
