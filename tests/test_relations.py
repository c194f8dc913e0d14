"""Relations between claims: symmetric and directed, refused when reflexive or repeated, shown in traces."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import assert_problem, claim_body, create_claim, hop, inline


@pytest.fixture
async def pair(client: httpx.AsyncClient) -> tuple[dict[str, Any], dict[str, Any]]:
    kremlin = await create_claim(
        client, claim_body("killed four and injured 151 people", hop(inline("Kremlin", "organization"), "says"))
    )
    governor = await create_claim(
        client, claim_body("three people were killed", hop(inline("Mikhail Razvozhayev"), "said"))
    )
    return kremlin, governor


async def relate(client: httpx.AsyncClient, claim_id: str, type: str, target_id: str, **fields: Any) -> httpx.Response:
    return await client.post(f"/claims/{claim_id}/relations", json={"type": type, "target_id": target_id, **fields})


class TestSymmetric:
    @pytest.mark.parametrize("type", ["same_as", "contradicts"])
    async def test_is_seen_from_both_claims(
        self, client: httpx.AsyncClient, pair: tuple[dict[str, Any], dict[str, Any]], type: str
    ) -> None:
        a, b = pair
        response = await relate(client, b["id"], type, a["id"], note="counts differ")
        assert response.status_code == 201
        created = response.json()
        assert (created["type"], created["direction"], created["claim"]["id"]) == (type, "mutual", a["id"])
        assert created["claim"]["origin"]["name"] == "Kremlin"
        from_a = (await client.get(f"/claims/{a['id']}/relations")).json()["items"]
        from_b = (await client.get(f"/claims/{b['id']}/relations")).json()["items"]
        assert [(r["type"], r["direction"], r["claim"]["id"], r["note"]) for r in from_a] == [
            (type, "mutual", b["id"], "counts differ")
        ]
        assert [(r["type"], r["claim"]["id"]) for r in from_b] == [(type, a["id"])]

    async def test_asserting_it_the_other_way_round_is_a_repeat(
        self, client: httpx.AsyncClient, pair: tuple[dict[str, Any], dict[str, Any]]
    ) -> None:
        a, b = pair
        assert (await relate(client, a["id"], "contradicts", b["id"])).status_code == 201
        again = await relate(client, b["id"], "contradicts", a["id"])
        assert_problem(again, 409)


class TestDirected:
    @pytest.mark.parametrize("type", ["supports", "corrects"])
    async def test_goes_out_of_one_claim_and_into_the_other(
        self, client: httpx.AsyncClient, pair: tuple[dict[str, Any], dict[str, Any]], type: str
    ) -> None:
        a, b = pair
        assert (await relate(client, a["id"], type, b["id"])).status_code == 201
        [out] = (await client.get(f"/claims/{a['id']}/relations")).json()["items"]
        [incoming] = (await client.get(f"/claims/{b['id']}/relations")).json()["items"]
        assert (out["direction"], out["claim"]["id"]) == ("outgoing", b["id"])
        assert (incoming["direction"], incoming["claim"]["id"]) == ("incoming", a["id"])

    async def test_both_directions_may_be_asserted(
        self, client: httpx.AsyncClient, pair: tuple[dict[str, Any], dict[str, Any]]
    ) -> None:
        a, b = pair
        assert (await relate(client, a["id"], "supports", b["id"])).status_code == 201
        assert (await relate(client, b["id"], "supports", a["id"])).status_code == 201
        assert (await relate(client, a["id"], "supports", b["id"])).status_code == 409


class TestRefused:
    async def test_a_relation_to_itself_is_422(
        self, client: httpx.AsyncClient, pair: tuple[dict[str, Any], dict[str, Any]]
    ) -> None:
        a, _ = pair
        response = await relate(client, a["id"], "same_as", a["id"])
        assert_problem(response, 422, field="target_id")

    @pytest.mark.parametrize("target", ["00000000-0000-0000-0000-000000000000", "nope"])
    async def test_an_unknown_or_malformed_target_is_422(
        self, client: httpx.AsyncClient, pair: tuple[dict[str, Any], dict[str, Any]], target: str
    ) -> None:
        a, _ = pair
        response = await relate(client, a["id"], "supports", target)
        assert_problem(response, 422, field="target_id")

    async def test_an_unknown_type_is_422(
        self, client: httpx.AsyncClient, pair: tuple[dict[str, Any], dict[str, Any]]
    ) -> None:
        a, b = pair
        response = await relate(client, a["id"], "refutes", b["id"])
        assert_problem(response, 422, field="type")

    @pytest.mark.parametrize("claim_id", ["00000000-0000-0000-0000-000000000000", "nope"])
    async def test_an_unknown_claim_is_404(
        self, client: httpx.AsyncClient, pair: tuple[dict[str, Any], dict[str, Any]], claim_id: str
    ) -> None:
        _, b = pair
        assert (await relate(client, claim_id, "supports", b["id"])).status_code == 404
        assert (await client.get(f"/claims/{claim_id}/relations")).status_code == 404

    async def test_a_refused_relation_stores_nothing(
        self, client: httpx.AsyncClient, pair: tuple[dict[str, Any], dict[str, Any]]
    ) -> None:
        a, _ = pair
        await relate(client, a["id"], "same_as", a["id"])
        assert (await client.get(f"/claims/{a['id']}/relations")).json()["items"] == []


async def test_the_trace_shows_related_claims_with_their_origins(
    client: httpx.AsyncClient, pair: tuple[dict[str, Any], dict[str, Any]]
) -> None:
    a, b = pair
    third = await create_claim(client, claim_body("four were killed", hop(inline("Russian officials", "anonymous"))))
    await relate(client, a["id"], "contradicts", b["id"])
    await relate(client, third["id"], "supports", a["id"])
    related = (await client.get(f"/claims/{a['id']}/trace")).json()["related"]
    assert [(r["type"], r["direction"], r["claim"]["id"], r["claim"]["origin"]["name"]) for r in related] == [
        ("contradicts", "mutual", b["id"], "Mikhail Razvozhayev"),
        ("supports", "incoming", third["id"], "Russian officials"),
    ]
