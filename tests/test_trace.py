"""Tracing a claim: upstream links expanded in place, the origin, its role and organization."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import asyncpg
import httpx

from service.domain import traces
from service.repositories import traces as repo
from tests.helpers import (
    assert_problem,
    claim_body,
    create_claim,
    create_source,
    hop,
    inline,
    relayed_ryder_story,
    ryder_story,
)


async def wire_story(client: httpx.AsyncClient) -> dict[str, Any]:
    """Reuters, told by Patrick Ryder, spokesman of the Pentagon."""
    return await create_claim(client, ryder_story(outlet=None, pentagon=True))


class TestTracePath:
    async def test_a_claim_without_upstream_traces_its_own_chain(self, client: httpx.AsyncClient) -> None:
        claim = await wire_story(client)
        trace = (await client.get(f"/claims/{claim['id']}/trace")).json()
        assert trace["claim"]["id"] == claim["id"]
        assert trace["claim"]["text"] == "Austin initiated the conversation"
        assert [(h["position"], h["source"]["name"], h["cue"], h["claim_id"]) for h in trace["path"]] == [
            (0, "Reuters", "reports", claim["id"]),
            (1, "Patrick Ryder", "told reporters", claim["id"]),
        ]
        assert trace["hops"] == 2
        assert trace["upstream_depth"] == 0
        assert trace["truncated"] is False

    async def test_upstream_path_is_expanded_without_its_first_hop(self, client: httpx.AsyncClient) -> None:
        hina, wire = await relayed_ryder_story(client)
        trace = (await client.get(f"/claims/{hina['id']}/trace")).json()
        assert [(h["position"], h["source"]["name"], h["cue"], h["claim_id"]) for h in trace["path"]] == [
            (0, "Hina", "reports", hina["id"]),
            (1, "Reuters", "citing", hina["id"]),
            (2, "Patrick Ryder", "told reporters", wire["id"]),
        ]
        assert trace["hops"] == 3
        assert trace["upstream_depth"] == 1
        assert trace["origin"]["source"]["name"] == "Patrick Ryder"
        assert hina["origin"]["name"] == "Patrick Ryder"
        assert hina["chain"][1]["source"]["name"] == "Reuters"  # taken from the upstream claim

    async def test_upstream_links_are_followed_recursively(self, client: httpx.AsyncClient) -> None:
        wire = await wire_story(client)
        hina = await create_claim(client, ryder_story("x", upstream=wire["id"]))
        site = await create_claim(
            client,
            claim_body(
                "x",
                hop(inline("Index", "outlet"), "writes"),
                hop(None, "according to", upstream_claim_id=hina["id"]),
            ),
        )
        trace = (await client.get(f"/claims/{site['id']}/trace")).json()
        assert [h["source"]["name"] for h in trace["path"]] == ["Index", "Hina", "Reuters", "Patrick Ryder"]
        assert [h["claim_id"] for h in trace["path"]] == [site["id"], site["id"], hina["id"], wire["id"]]
        assert trace["upstream_depth"] == 2

    async def test_depth_is_bounded_and_truncation_is_said(self, client: httpx.AsyncClient) -> None:
        previous = await create_claim(client, claim_body("x", hop(inline("Outlet 0", "outlet"))))
        for i in range(1, 36):
            previous = await create_claim(
                client,
                claim_body(
                    "x",
                    hop(inline(f"Outlet {i}", "outlet"), "citing"),
                    hop(None, "citing", upstream_claim_id=previous["id"]),
                ),
            )
        trace = (await client.get(f"/claims/{previous['id']}/trace")).json()
        assert trace["upstream_depth"] == 32
        assert trace["truncated"] is True
        assert trace["hops"] == 34  # the own two hops and one per followed link
        # the denormalized origin still knows the real origin
        assert previous["origin"]["name"] == "Outlet 0"

    async def test_a_trace_is_one_query_whatever_the_depth(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        # One query walks the whole chain, alone: no transaction, no SET (repositories.traces.TRACE_ONE).
        previous = await wire_story(client)
        first = previous
        for i in range(5):
            previous = await create_claim(
                client,
                claim_body(
                    "x",
                    hop(inline(f"Outlet {i}", "outlet"), "citing"),
                    hop(None, "citing", upstream_claim_id=previous["id"]),
                ),
            )
        # The first call on a connection also introspects types once; count warm calls.
        await traces.trace(conn, UUID(previous["id"]), max_depth=32)
        counted: dict[int, list[str]] = {}
        for claim in (first, previous):
            queries: list[str] = []

            def log(record: Any, queries: list[str] = queries) -> None:
                queries.append(record.query)

            conn.add_query_logger(log)
            trace = await traces.trace(conn, UUID(claim["id"]), max_depth=32)
            await asyncio.sleep(0)  # asyncpg hands query records to loggers with call_soon
            conn.remove_query_logger(log)
            counted[trace.upstream_depth] = queries
        assert sorted(counted) == [0, 5]
        assert counted[0] == counted[5] == [repo.TRACE_ONE]

    async def test_unknown_claim_is_404_and_malformed_id_too(self, client: httpx.AsyncClient) -> None:
        for claim_id in ("00000000-0000-0000-0000-000000000000", "not-an-id"):
            response = await client.get(f"/claims/{claim_id}/trace")
            assert_problem(response, 404)


class TestUpstreamRules:
    async def test_upstream_on_a_hop_that_is_not_last_is_422(self, client: httpx.AsyncClient) -> None:
        wire = await wire_story(client)
        body = claim_body(
            "x", hop(inline("Reuters", "outlet"), upstream_claim_id=wire["id"]), hop(inline("Hina", "outlet"))
        )
        response = await client.post("/claims", json=body)
        assert_problem(response, 422, field="chain[0].upstream_claim_id")

    async def test_upstream_hop_must_name_the_first_source_of_the_upstream_claim(
        self, client: httpx.AsyncClient
    ) -> None:
        wire = await wire_story(client)
        body = claim_body("x", hop(inline("Hina", "outlet"), upstream_claim_id=wire["id"]))
        response = await client.post("/claims", json=body)
        assert_problem(response, 422, field="chain[0]")

    async def test_upstream_hop_naming_the_right_source_is_accepted(self, client: httpx.AsyncClient) -> None:
        wire = await wire_story(client)
        body = claim_body(
            "x", hop(inline("Hina", "outlet")), hop(inline("REUTERS", "outlet"), upstream_claim_id=wire["id"])
        )
        claim = await create_claim(client, body)
        assert claim["chain"][1]["upstream_claim_id"] == wire["id"]

    async def test_unknown_or_malformed_upstream_claim_is_422(self, client: httpx.AsyncClient) -> None:
        for upstream in ("00000000-0000-0000-0000-000000000000", "nope"):
            response = await client.post("/claims", json=claim_body("x", hop(None, upstream_claim_id=upstream)))
            assert_problem(response, 422, field="chain[0].upstream_claim_id")

    async def test_origin_filter_follows_upstream_links(self, client: httpx.AsyncClient) -> None:
        wire = await wire_story(client)
        hina = await create_claim(
            client, claim_body("x", hop(inline("Hina", "outlet")), hop(None, upstream_claim_id=wire["id"]))
        )
        await create_claim(client, claim_body("unrelated", hop(inline("Somebody Else"))))
        ryder = wire["origin"]["id"]
        listed = (await client.get("/claims", params={"origin": ryder})).json()["items"]
        assert [c["id"] for c in listed] == [hina["id"], wire["id"]]
        reuters = wire["chain"][0]["source"]["id"]
        via = (await client.get("/claims", params={"via": reuters})).json()["items"]
        assert [c["id"] for c in via] == [hina["id"], wire["id"]]


class TestOrigin:
    async def test_origin_role_and_organization_come_from_the_matching_affiliation(
        self, client: httpx.AsyncClient
    ) -> None:
        claim = await wire_story(client)
        origin = (await client.get(f"/claims/{claim['id']}/trace")).json()["origin"]
        assert origin["source"]["name"] == "Patrick Ryder"
        assert origin["role"] == "spokesman"
        assert origin["on_behalf_of"]["name"] == "Pentagon"

    async def test_affiliation_valid_at_the_claim_date_is_used(self, client: httpx.AsyncClient) -> None:
        person = await create_source(
            client,
            {
                "name": "Jane Doe",
                "kind": "person",
                "affiliations": [
                    {"organization": {"name": "Old Ministry"}, "role": "spokeswoman", "until": "2020-12-31"},
                    {"organization": {"name": "New Ministry"}, "role": "minister", "since": "2021-01-01"},
                ],
            },
        )
        old = await create_claim(client, claim_body("x", hop(person["id"]), stated_at="2019-05-01T00:00:00Z"))
        new = await create_claim(client, claim_body("y", hop(person["id"]), stated_at="2023-05-01T00:00:00Z"))
        old_origin = (await client.get(f"/claims/{old['id']}/trace")).json()["origin"]
        new_origin = (await client.get(f"/claims/{new['id']}/trace")).json()["origin"]
        assert (old_origin["role"], old_origin["on_behalf_of"]["name"]) == ("spokeswoman", "Old Ministry")
        assert (new_origin["role"], new_origin["on_behalf_of"]["name"]) == ("minister", "New Ministry")

    async def test_anonymous_origin_is_flagged(self, client: httpx.AsyncClient) -> None:
        claim = await create_claim(
            client,
            claim_body(
                "Ukraine is targeting itself",
                hop(
                    inline("Pentagon sources", "anonymous", affiliations=[{"organization": {"name": "Pentagon"}}]),
                    "said",
                ),
            ),
        )
        trace = (await client.get(f"/claims/{claim['id']}/trace")).json()
        assert trace["anonymous_origin"] is True
        assert trace["origin"]["on_behalf_of"]["name"] == "Pentagon"

    async def test_no_affiliation_means_no_organization(self, client: httpx.AsyncClient) -> None:
        claim = await create_claim(client, claim_body("x", hop(inline("A Blogger"), role="columnist")))
        origin = (await client.get(f"/claims/{claim['id']}/trace")).json()["origin"]
        assert origin == {"source": claim["origin"], "role": "columnist", "on_behalf_of": None}


async def test_any_number_of_claims_traces_alike_in_order(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    # One claim, up to FEW (NULL-padded) and more (the array in its own transaction) answer the same
    # rows in the order asked; an id of no claim is left out.
    wire = await wire_story(client)
    ids = [UUID(wire["id"])]
    for i in range(repo.FEW + 2):
        claim = await create_claim(
            client,
            claim_body(f"claim {i}", hop(inline(f"Outlet {i}", "outlet")), hop(None, upstream_claim_id=wire["id"])),
        )
        ids.insert(0, UUID(claim["id"]))
    missing = UUID("00000000-0000-0000-0000-000000000000")
    async with conn.transaction(readonly=True):
        expected = {r["id"]: dict(r) for r in await conn.fetch(repo.TRACE, ids, 32)}
    for count in range(1, len(ids) + 1):
        asked = [*ids[: count - 1], missing, ids[count - 1]] if count > 1 else ids[:1]
        rows = await repo.traces(conn, asked, 32)
        assert [r["id"] for r in rows] == [i for i in asked if i != missing]
        assert [dict(r) for r in rows] == [expected[r["id"]] for r in rows]
