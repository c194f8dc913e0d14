"""Propagation over a same_as group, and the network of one source: who took it from whom."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from service.domain import propagation
from tests.helpers import assert_problem, claim_body, create_claim, hop, inline, ryder_hop, ryder_story

UNKNOWN = "00000000-0000-0000-0000-000000000000"


async def relate(client: httpx.AsyncClient, claim_id: str, target_id: str, type: str = "same_as") -> None:
    response = await client.post(f"/claims/{claim_id}/relations", json={"type": type, "target_id": target_id})
    assert response.status_code == 201, response.text


async def get_propagation(client: httpx.AsyncClient, claim_id: str) -> dict[str, Any]:
    response = await client.get(f"/claims/{claim_id}/propagation")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def names(body: dict[str, Any]) -> dict[str, str]:
    """Source id -> name, from the nodes."""
    return {node["source"]["id"]: node["source"]["name"] for node in body["nodes"]}


def edges(body: dict[str, Any]) -> list[tuple[str, str, list[str], list[str]]]:
    """``(from name, to name, cues, claims)`` of every edge, in order."""
    by_id = names(body)
    return [(by_id[e["from"]], by_id[e["to"]], e["cues"], e["claims"]) for e in body["edges"]]


@pytest.fixture
async def spread(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """One statement three ways: Ryder directly; Hina citing Reuters citing Ryder; AP citing Ryder.
    Linked in a line (hina same_as ap, ap same_as direct), so the group needs more than one step."""
    direct = await create_claim(client, claim_body("Austin initiated the call", ryder_hop()))
    hina = await create_claim(client, ryder_story(role=None))
    ap = await create_claim(
        client, claim_body("Austin made the call", hop(inline("AP", "outlet"), "reports"), ryder_hop("said"))
    )
    await relate(client, hina["id"], ap["id"])
    await relate(client, direct["id"], ap["id"])
    return {"direct": direct, "hina": hina, "ap": ap}


class TestGraph:
    async def test_nodes_are_the_sources_of_every_path_with_the_origin_marked(
        self, client: httpx.AsyncClient, spread: dict[str, dict[str, Any]]
    ) -> None:
        body = await get_propagation(client, spread["hina"]["id"])
        hina, direct, ap = spread["hina"]["id"], spread["direct"]["id"], spread["ap"]["id"]
        assert [(n["source"]["name"], n["is_origin"], n["claims"]) for n in body["nodes"]] == [
            ("Patrick Ryder", True, [hina, direct, ap]),
            ("Reuters", False, [hina]),
            ("Hina", False, [hina]),
            ("AP", False, [ap]),
        ]
        assert body["nodes"][0]["source"] == spread["direct"]["origin"]

    async def test_edges_say_who_took_it_from_whom_with_the_cue_and_the_claims_showing_it(
        self, client: httpx.AsyncClient, spread: dict[str, dict[str, Any]]
    ) -> None:
        body = await get_propagation(client, spread["hina"]["id"])
        assert edges(body) == [
            ("Patrick Ryder", "Reuters", ["told reporters"], [spread["hina"]["id"]]),
            ("Reuters", "Hina", ["citing"], [spread["hina"]["id"]]),
            ("Patrick Ryder", "AP", ["said"], [spread["ap"]["id"]]),
        ]

    async def test_the_group_is_the_claim_first_then_the_others_in_stored_order(
        self, client: httpx.AsyncClient, spread: dict[str, dict[str, Any]]
    ) -> None:
        body = await get_propagation(client, spread["ap"]["id"])
        assert body["claim_id"] == spread["ap"]["id"]
        assert body["claims"] == [spread["ap"]["id"], spread["direct"]["id"], spread["hina"]["id"]]
        assert body["truncated"] is False

    async def test_every_member_of_the_group_sees_the_same_graph(
        self, client: httpx.AsyncClient, spread: dict[str, dict[str, Any]]
    ) -> None:
        await relate(client, spread["direct"]["id"], spread["hina"]["id"])  # closes a cycle
        seen = [await get_propagation(client, claim["id"]) for claim in spread.values()]
        assert {frozenset(body["claims"]) for body in seen} == {frozenset(c["id"] for c in spread.values())}
        assert {frozenset((e[0], e[1]) for e in edges(body)) for body in seen} == {
            frozenset({("Patrick Ryder", "Reuters"), ("Reuters", "Hina"), ("Patrick Ryder", "AP")})
        }

    async def test_a_step_shown_by_several_claims_is_one_edge_listing_them_all(
        self, client: httpx.AsyncClient, spread: dict[str, dict[str, Any]]
    ) -> None:
        tass = await create_claim(
            client,
            claim_body(
                "Austin called first",
                hop(inline("Tass", "outlet"), "writes"),
                hop(inline("Reuters", "outlet"), "according to"),
                ryder_hop("said"),
            ),
        )
        await relate(client, tass["id"], spread["hina"]["id"])
        body = await get_propagation(client, spread["hina"]["id"])
        [step] = [e for e in edges(body) if e[:2] == ("Patrick Ryder", "Reuters")]
        assert step == ("Patrick Ryder", "Reuters", ["told reporters", "said"], [spread["hina"]["id"], tass["id"]])
        assert len(body["edges"]) == len({(e["from"], e["to"]) for e in body["edges"]})


class TestGroup:
    async def test_a_claim_without_same_as_relations_gives_its_own_path_only(
        self, client: httpx.AsyncClient, spread: dict[str, dict[str, Any]]
    ) -> None:
        alone = await create_claim(client, ryder_story("x", outlet=None, role=None))
        body = await get_propagation(client, alone["id"])
        assert body["claims"] == [alone["id"]]
        assert [(n["source"]["name"], n["is_origin"]) for n in body["nodes"]] == [
            ("Patrick Ryder", True),
            ("Reuters", False),
        ]
        assert edges(body) == [("Patrick Ryder", "Reuters", ["told reporters"], [alone["id"]])]

    @pytest.mark.parametrize("type", ["contradicts", "supports", "corrects"])
    async def test_only_same_as_relations_join_the_group(
        self, client: httpx.AsyncClient, spread: dict[str, dict[str, Any]], type: str
    ) -> None:
        other = await create_claim(
            client, claim_body("Belousov initiated the call", hop(inline("Kremlin", "organization")))
        )
        await relate(client, spread["ap"]["id"], other["id"], type)
        body = await get_propagation(client, spread["ap"]["id"])
        assert other["id"] not in body["claims"]
        assert "Kremlin" not in names(body).values()

    async def test_a_single_claim_is_its_own_origin(self, client: httpx.AsyncClient) -> None:
        claim = await create_claim(client, claim_body("x", hop(inline("Patrick Ryder"), "said")))
        body = await get_propagation(client, claim["id"])
        assert [(n["source"]["name"], n["is_origin"], n["claims"]) for n in body["nodes"]] == [
            ("Patrick Ryder", True, [claim["id"]])
        ]
        assert body["edges"] == []

    async def test_a_group_larger_than_the_bound_is_cut_keeping_the_claim_and_says_so(
        self, conn: asyncpg.Connection, spread: dict[str, dict[str, Any]]
    ) -> None:
        body = await propagation.propagation(conn, UUID(spread["hina"]["id"]), max_depth=32, max_claims=2)
        assert body.claims == [spread["hina"]["id"], spread["direct"]["id"]]
        assert body.truncated is True
        whole = await propagation.propagation(conn, UUID(spread["hina"]["id"]), max_depth=32, max_claims=3)
        assert whole.truncated is False

    @pytest.mark.parametrize("claim_id", [UNKNOWN, "not-an-id"])
    async def test_an_unknown_or_malformed_claim_is_404(self, client: httpx.AsyncClient, claim_id: str) -> None:
        response = await client.get(f"/claims/{claim_id}/propagation")
        assert_problem(response, 404, detail=claim_id)


class TestUpstream:
    @pytest.fixture
    async def wire(self, client: httpx.AsyncClient) -> dict[str, Any]:
        """The Reuters wire story, told by Ryder."""
        return await create_claim(client, ryder_story(outlet=None, role=None))

    @pytest.fixture
    async def hina(self, client: httpx.AsyncClient, wire: dict[str, Any]) -> dict[str, Any]:
        """Hina, citing the stored wire story."""
        return await create_claim(client, ryder_story(upstream=wire["id"]))

    async def test_a_claim_linking_an_upstream_claim_contributes_the_upstream_path(
        self, client: httpx.AsyncClient, hina: dict[str, Any]
    ) -> None:
        body = await get_propagation(client, hina["id"])
        assert body["claims"] == [hina["id"]]
        assert [(n["source"]["name"], n["is_origin"]) for n in body["nodes"]] == [
            ("Patrick Ryder", True),
            ("Reuters", False),
            ("Hina", False),
        ]
        assert edges(body) == [
            ("Patrick Ryder", "Reuters", ["told reporters"], [hina["id"]]),
            ("Reuters", "Hina", ["citing"], [hina["id"]]),
        ]

    async def test_an_upstream_claim_in_the_group_shows_the_steps_it_shares(
        self, client: httpx.AsyncClient, wire: dict[str, Any], hina: dict[str, Any]
    ) -> None:
        await relate(client, hina["id"], wire["id"])
        body = await get_propagation(client, hina["id"])
        assert edges(body) == [
            ("Patrick Ryder", "Reuters", ["told reporters"], [hina["id"], wire["id"]]),
            ("Reuters", "Hina", ["citing"], [hina["id"]]),
        ]

    async def test_a_trace_cut_at_the_depth_bound_is_said(self, conn: asyncpg.Connection, hina: dict[str, Any]) -> None:
        body = await propagation.propagation(conn, UUID(hina["id"]), max_depth=0)
        assert [n.source.name for n in body.nodes] == ["Reuters", "Hina"]
        assert body.truncated is True


class TestFirst:
    async def test_first_is_the_origin_of_the_earliest_stated_claim(self, client: httpx.AsyncClient) -> None:
        late = await create_claim(
            client,
            claim_body(
                "x",
                hop(inline("AP", "outlet"), "reports"),
                ryder_hop(),
                stated_at="2024-06-25T15:00:00Z",
                appeared_in={"published_at": "2024-06-25T16:00:00Z"},
            ),
        )
        early = await create_claim(
            client,
            claim_body(
                "x",
                hop(inline("Lloyd Austin"), "said", role="Secretary of Defense"),
                stated_at="2024-06-24T09:00:00Z",
                appeared_in={"published_at": "2024-06-26T10:00:00Z"},
            ),
        )
        await relate(client, late["id"], early["id"])
        first = (await get_propagation(client, late["id"]))["first"]
        assert first == {
            "source": early["origin"],
            "role": "Secretary of Defense",
            "on_behalf_of": None,
            "claim_id": early["id"],
            "said_at": "2024-06-24T09:00:00Z",
        }

    async def test_without_stated_at_the_publication_counts_and_undated_claims_come_last(
        self, client: httpx.AsyncClient
    ) -> None:
        undated = await create_claim(client, claim_body("x", hop(inline("Blogger"))))
        stated = await create_claim(client, claim_body("x", ryder_hop(), stated_at="2024-06-26T12:00:00Z"))
        published = await create_claim(
            client,
            claim_body("x", hop(inline("Lloyd Austin")), appeared_in={"published_at": "2024-06-26T08:00:00Z"}),
        )
        await relate(client, undated["id"], stated["id"])
        await relate(client, undated["id"], published["id"])
        first = (await get_propagation(client, undated["id"]))["first"]
        assert (first["source"]["name"], first["claim_id"], first["said_at"]) == (
            "Lloyd Austin",
            published["id"],
            "2024-06-26T08:00:00Z",
        )

    async def test_an_undated_group_names_the_claims_own_origin(self, client: httpx.AsyncClient) -> None:
        claim = await create_claim(client, claim_body("x", hop(inline("Hina", "outlet")), ryder_hop()))
        other = await create_claim(client, claim_body("x", hop(inline("Lloyd Austin"))))
        await relate(client, claim["id"], other["id"])
        first = (await get_propagation(client, claim["id"]))["first"]
        assert (first["source"]["name"], first["claim_id"], first["said_at"]) == ("Patrick Ryder", claim["id"], None)


@pytest.fixture
async def chains(client: httpx.AsyncClient) -> dict[str, str]:
    """Stored chains, and the id of every source in them by name.

    Hina cites Reuters in two claims and AP in one; Reuters cites Ryder in two and is cited by Index
    in one; Ryder is cited by Reuters (2), AP (1) and Blog (1)."""
    claims = [
        ryder_story("a", role=None),
        ryder_story("b", role=None, ryder_cue="said"),
        ryder_story("c", wire="AP", role=None, ryder_cue="said"),
        claim_body("d", hop(inline("Index", "outlet"), "writes"), hop(inline("Reuters", "outlet"), "according to")),
        claim_body("e", hop(inline("Blog", "outlet"), "writes"), ryder_hop("said")),
    ]
    ids: dict[str, str] = {}
    for body in claims:
        claim = await create_claim(client, body)
        ids.update({h["source"]["name"]: h["source"]["id"] for h in claim["chain"]})
    return ids


async def get_network(client: httpx.AsyncClient, source_id: str, **params: Any) -> dict[str, Any]:
    response = await client.get(f"/sources/{source_id}/network", params=params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def counts(links: list[dict[str, Any]]) -> list[tuple[str, int]]:
    return [(link["source"]["name"], link["claims"]) for link in links]


class TestNetwork:
    async def test_cites_counts_the_claims_with_each_next_source_most_first(
        self, client: httpx.AsyncClient, chains: dict[str, str]
    ) -> None:
        body = await get_network(client, chains["Hina"])
        assert body["source"] == {"id": chains["Hina"], "name": "Hina", "kind": "outlet"}
        assert counts(body["cites"]) == [("Reuters", 2), ("AP", 1)]
        assert body["cites"][0]["source"]["id"] == chains["Reuters"]
        assert (body["cited_by"], body["cites_total"], body["cited_by_total"]) == ([], 2, 0)

    async def test_cited_by_counts_the_claims_with_each_previous_source_ties_by_name(
        self, client: httpx.AsyncClient, chains: dict[str, str]
    ) -> None:
        body = await get_network(client, chains["Patrick Ryder"])
        assert counts(body["cited_by"]) == [("Reuters", 2), ("AP", 1), ("Blog", 1)]
        assert (body["cites"], body["cited_by_total"]) == ([], 3)

    async def test_a_relay_is_seen_both_ways(self, client: httpx.AsyncClient, chains: dict[str, str]) -> None:
        body = await get_network(client, chains["Reuters"])
        assert counts(body["cites"]) == [("Patrick Ryder", 2)]
        assert counts(body["cited_by"]) == [("Hina", 2), ("Index", 1)]

    async def test_only_neighbours_in_a_chain_count(self, client: httpx.AsyncClient, chains: dict[str, str]) -> None:
        hina = await get_network(client, chains["Hina"])
        ryder_network = await get_network(client, chains["Patrick Ryder"])
        assert "Patrick Ryder" not in {name for name, _ in counts(hina["cites"])}
        assert "Hina" not in {name for name, _ in counts(ryder_network["cited_by"])}

    async def test_limit_cuts_each_list_and_the_totals_still_count_all(
        self, client: httpx.AsyncClient, chains: dict[str, str]
    ) -> None:
        body = await get_network(client, chains["Patrick Ryder"], limit=1)
        assert counts(body["cited_by"]) == [("Reuters", 2)]
        assert body["cited_by_total"] == 3

    @pytest.mark.parametrize("limit", [0, 201, "many"])
    async def test_a_limit_out_of_range_is_422(
        self, client: httpx.AsyncClient, chains: dict[str, str], limit: int | str
    ) -> None:
        response = await client.get(f"/sources/{chains['Hina']}/network", params={"limit": limit})
        assert_problem(response, 422, field="limit")

    @pytest.mark.parametrize("source_id", [UNKNOWN, "not-an-id"])
    async def test_an_unknown_or_malformed_source_is_404(self, client: httpx.AsyncClient, source_id: str) -> None:
        response = await client.get(f"/sources/{source_id}/network")
        assert_problem(response, 404, detail=source_id)
