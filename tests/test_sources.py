"""``/sources``: creating, reading and finding sources, and the claims a source originated or relayed."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers import assert_problem, create_claim, create_source, inline, ryder_story


def names_field(problem: dict[str, Any], name: str) -> bool:
    """Whether the problem's ``errors`` point at ``name``, by field or in their message."""
    return any(name in error["field"] or name in error["message"] for error in problem.get("errors") or [])


async def count(conn: asyncpg.Connection, table: str) -> int:
    value: int = await conn.fetchval(f"SELECT count(*) FROM {table}")
    return value


async def find(client: httpx.AsyncClient, **params: str) -> list[dict[str, Any]]:
    response = await client.get("/sources", params=params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


class TestCreateSource:
    async def test_created_source_is_201_with_location_of_the_source(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/sources", json={"name": "Patrick Ryder", "kind": "person"})
        assert response.status_code == 201, response.text
        source = response.json()
        assert response.headers["location"] == f"/sources/{source['id']}"
        fetched = await client.get(response.headers["location"])
        assert fetched.status_code == 200
        assert fetched.json() == source

    async def test_created_source_echoes_name_kind_aliases_and_identifiers(self, client: httpx.AsyncClient) -> None:
        body = {
            "name": "Mikhail Razvozhayev",
            "kind": "person",
            "aliases": ["Mihail Razvozayev", "Razvozayev"],
            "description": "Governor of Sevastopol",
            "identifiers": {"wikidata": "Q4294", "homepage": "https://sev.gov.ru"},
        }
        source = await create_source(client, body)
        assert source["name"] == "Mikhail Razvozhayev"
        assert source["kind"] == "person"
        assert sorted(source["aliases"]) == ["Mihail Razvozayev", "Razvozayev"]
        assert source["description"] == "Governor of Sevastopol"
        assert source["identifiers"] == {"wikidata": "Q4294", "homepage": "https://sev.gov.ru"}
        assert source["affiliations"] == []
        uuid.UUID(source["id"])

    async def test_affiliation_by_organization_id_is_echoed_with_the_organization(
        self, client: httpx.AsyncClient
    ) -> None:
        pentagon = await create_source(client, {"name": "Pentagon", "kind": "organization"})
        ryder = await create_source(
            client,
            {
                "name": "Patrick Ryder",
                "kind": "person",
                "affiliations": [
                    {
                        "organization_id": pentagon["id"],
                        "role": "spokesman",
                        "since": "2022-08-01",
                        "until": "2024-12-31",
                    }
                ],
            },
        )
        assert ryder["affiliations"] == [
            {
                "organization": {"id": pentagon["id"], "name": "Pentagon", "kind": "organization"},
                "role": "spokesman",
                "since": "2022-08-01",
                "until": "2024-12-31",
            }
        ]

    async def test_inline_affiliation_creates_the_organization(self, client: httpx.AsyncClient) -> None:
        ryder = await create_source(
            client,
            {
                "name": "Patrick Ryder",
                "kind": "person",
                "affiliations": [{"organization": {"name": "Pentagon"}, "role": "spokesman"}],
            },
        )
        [affiliation] = ryder["affiliations"]
        organization = affiliation["organization"]
        assert organization["name"] == "Pentagon"
        assert organization["kind"] == "organization"
        assert affiliation["role"] == "spokesman"
        stored = await client.get(f"/sources/{organization['id']}")
        assert stored.status_code == 200
        assert stored.json()["name"] == "Pentagon"

    async def test_inline_affiliation_reuses_a_stored_organization_by_alias(self, client: httpx.AsyncClient) -> None:
        pentagon = await create_source(
            client, {"name": "US Department of Defense", "kind": "organization", "aliases": ["Pentagon"]}
        )
        ryder = await create_source(
            client,
            {
                "name": "Patrick Ryder",
                "kind": "person",
                "affiliations": [{"organization": {"name": "pentagon"}}],
            },
        )
        assert ryder["affiliations"][0]["organization"]["id"] == pentagon["id"]
        assert len(await find(client, kind="organization")) == 1

    async def test_affiliating_to_a_person_is_422(self, client: httpx.AsyncClient) -> None:
        austin = await create_source(client, {"name": "Lloyd Austin", "kind": "person"})
        response = await client.post(
            "/sources",
            json={
                "name": "Patrick Ryder",
                "kind": "person",
                "affiliations": [{"organization_id": austin["id"]}],
            },
        )
        assert_problem(response, 422, field="affiliations[0]")

    async def test_affiliating_to_a_person_stores_nothing(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        austin = await create_source(client, {"name": "Lloyd Austin", "kind": "person"})
        response = await client.post(
            "/sources",
            json={
                "name": "Patrick Ryder",
                "kind": "person",
                "aliases": ["Pat Ryder"],
                "affiliations": [{"organization": {"name": "Pentagon"}}, {"organization_id": austin["id"]}],
            },
        )
        assert_problem(response, 422)
        assert await count(conn, "sources") == 1
        assert await count(conn, "source_aliases") == 0
        assert await count(conn, "affiliations") == 0

    async def test_unknown_organization_id_is_422_naming_it(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/sources",
            json={
                "name": "Patrick Ryder",
                "kind": "person",
                "affiliations": [{"organization_id": str(uuid.uuid4())}],
            },
        )
        assert_problem(response, 422, field="affiliations[0].organization_id")

    async def test_affiliation_since_after_until_is_422_naming_until(self, client: httpx.AsyncClient) -> None:
        response = await client.post(
            "/sources",
            json={
                "name": "Patrick Ryder",
                "kind": "person",
                "affiliations": [{"organization": {"name": "Pentagon"}, "since": "2024-02-01", "until": "2024-01-01"}],
            },
        )
        assert_problem(response, 422, field="affiliations[0].until")

    async def test_unknown_body_field_is_422_naming_it(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/sources", json={"name": "Reuters", "kind": "outlet", "nickname": "R"})
        problem = assert_problem(response, 422)
        assert names_field(problem, "nickname")

    async def test_missing_kind_is_422_naming_it(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/sources", json={"name": "Reuters"})
        problem = assert_problem(response, 422)
        assert names_field(problem, "kind")

    async def test_unknown_kind_is_422_naming_it(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/sources", json={"name": "Reuters", "kind": "robot"})
        assert_problem(response, 422, field="kind")

    async def test_duplicate_wikidata_identifier_is_409(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        await create_source(client, {"name": "Lloyd Austin", "kind": "person", "identifiers": {"wikidata": "Q6660"}})
        response = await client.post(
            "/sources",
            json={"name": "Lloyd J. Austin III", "kind": "person", "identifiers": {"wikidata": "Q6660"}},
        )
        problem = assert_problem(response, 409)
        assert "wikidata" in problem["detail"].lower()
        assert await count(conn, "sources") == 1


class TestGetSource:
    async def test_stored_source_is_200_with_aliases_and_affiliations(self, client: httpx.AsyncClient) -> None:
        created = await create_source(
            client,
            {
                "name": "Pentagon sources",
                "kind": "anonymous",
                "aliases": ["sources at the Pentagon"],
                "affiliations": [{"organization": {"name": "Pentagon"}}],
            },
        )
        response = await client.get(f"/sources/{created['id']}")
        assert response.status_code == 200
        source = response.json()
        assert source == created
        assert source["aliases"] == ["sources at the Pentagon"]
        assert source["affiliations"][0]["organization"]["name"] == "Pentagon"

    async def test_unknown_uuid_is_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get(f"/sources/{uuid.uuid4()}"), 404)

    @pytest.mark.parametrize("source_id", ["not-an-id", "12345", "00000000-0000-0000-0000-00000000000g"])
    async def test_malformed_id_is_404(self, client: httpx.AsyncClient, source_id: str) -> None:
        assert_problem(await client.get(f"/sources/{source_id}"), 404)


class TestFindSources:
    @pytest.mark.parametrize(
        ("name", "aliases", "q"),
        [
            ("Mikhail Razvozhayev", ["Razvozayev"], "RAZVOZAYEV"),
            ("Zelenskyy", [], "zelenskyy"),
            ("zelenskyy", [], "Zelenskyy"),
            ("A.R. Belousov", [], "a r belousov"),
            ("Andrei Belousov", ["A. R. Belousov"], "a-r-belousov"),
            ("Łódź", [], "lodz"),
            ("lodz", [], "Łódź"),
            ("José Martí", [], "jose marti"),
        ],
    )
    async def test_q_matches_name_or_alias_ignoring_case_accents_and_punctuation(
        self, client: httpx.AsyncClient, name: str, aliases: list[str], q: str
    ) -> None:
        source = await create_source(client, {"name": name, "kind": "person", "aliases": aliases})
        await create_source(client, {"name": "Patrick Ryder", "kind": "person"})
        items = await find(client, q=q)
        assert [item["id"] for item in items] == [source["id"]]
        assert items[0]["score"] == 1.0

    async def test_q_leaves_out_sources_that_do_not_match(self, client: httpx.AsyncClient) -> None:
        await create_source(client, {"name": "Patrick Ryder", "kind": "person"})
        assert await find(client, q="Belousov") == []

    async def test_exact_match_ranks_first_with_score_one(self, client: httpx.AsyncClient) -> None:
        exact = await create_source(client, {"name": "Belousov", "kind": "person"})
        await create_source(client, {"name": "Belousova", "kind": "person"})
        await create_source(client, {"name": "Andrei Belousov", "kind": "person"})
        await create_source(client, {"name": "Oleg Belousov-Petrov", "kind": "person"})
        items = await find(client, q="belousov")
        assert items[0]["id"] == exact["id"]
        assert items[0]["score"] == 1.0
        assert all(item["score"] < 1.0 for item in items[1:])
        assert len(items) == 4

    async def test_scores_are_within_zero_and_one_and_descending(self, client: httpx.AsyncClient) -> None:
        for name in [
            "Andrei Belousov",
            "Belousov",
            "Belousova",
            "Belousov Andrei Removich",
            "Andrei Removich",
        ]:
            await create_source(client, {"name": name, "kind": "person"})
        items = await find(client, q="Andrei Belousov")
        scores = [item["score"] for item in items]
        assert len(scores) >= 4
        assert all(0.0 <= score <= 1.0 for score in scores)
        assert scores == sorted(scores, reverse=True)

    async def test_listing_without_q_has_no_score(self, client: httpx.AsyncClient) -> None:
        await create_source(client, {"name": "Reuters", "kind": "outlet"})
        [item] = await find(client)
        assert item["score"] is None

    async def test_kind_filters_a_search(self, client: httpx.AsyncClient) -> None:
        outlet = await create_source(client, {"name": "Reuters", "kind": "outlet"})
        await create_source(client, {"name": "Reuters", "kind": "person", "aliases": ["Paul Reuter"]})
        items = await find(client, q="reuters", kind="outlet")
        assert [item["id"] for item in items] == [outlet["id"]]

    async def test_kind_filters_a_listing(self, client: httpx.AsyncClient) -> None:
        await create_source(client, {"name": "Reuters", "kind": "outlet"})
        anonymous = await create_source(client, {"name": "Pentagon sources", "kind": "anonymous"})
        await create_source(client, {"name": "Patrick Ryder", "kind": "person"})
        items = await find(client, kind="anonymous")
        assert [item["id"] for item in items] == [anonymous["id"]]

    async def test_unknown_kind_filter_is_422_naming_kind(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/sources", params={"kind": "robot"}), 422, field="kind")

    @pytest.mark.parametrize("q", ["...", "-- !?", "«»", "\u200b"])
    async def test_q_of_only_punctuation_is_422_naming_q(self, client: httpx.AsyncClient, q: str) -> None:
        assert_problem(await client.get("/sources", params={"q": q}), 422, field="q")


class TestSourceClaims:
    """Ryder told reporters, Reuters said (claim U); Hina reports citing Reuters (claim C, upstream U)."""

    @pytest.fixture
    async def chain(self, client: httpx.AsyncClient) -> dict[str, str]:
        upstream = await create_claim(client, ryder_story(outlet=None, wire_cue="said"))
        relayed = await create_claim(
            client, ryder_story(upstream=upstream["id"], wire_source=inline("Reuters", "outlet"))
        )
        return {
            "U": upstream["id"],
            "C": relayed["id"],
            "Reuters": upstream["chain"][0]["source"]["id"],
            "Ryder": upstream["chain"][1]["source"]["id"],
            "Hina": relayed["chain"][0]["source"]["id"],
        }

    async def claims_of(self, client: httpx.AsyncClient, source_id: str, role: str | None) -> list[str]:
        params = {"role": role} if role else {}
        response = await client.get(f"/sources/{source_id}/claims", params=params)
        assert response.status_code == 200, response.text
        return [item["id"] for item in response.json()["items"]]

    async def test_inline_hop_reuses_the_stored_source(self, chain: dict[str, str], client: httpx.AsyncClient) -> None:
        claim = (await client.get(f"/claims/{chain['C']}")).json()
        assert claim["chain"][1]["source"]["id"] == chain["Reuters"]

    async def test_origin_follows_upstream_links(self, chain: dict[str, str], client: httpx.AsyncClient) -> None:
        assert await self.claims_of(client, chain["Ryder"], "origin") == [chain["C"], chain["U"]]

    async def test_origin_leaves_out_claims_the_source_only_relayed(
        self, chain: dict[str, str], client: httpx.AsyncClient
    ) -> None:
        assert await self.claims_of(client, chain["Reuters"], "origin") == []

    async def test_relay_lists_claims_relayed_directly_and_through_an_upstream_claim(
        self, chain: dict[str, str], client: httpx.AsyncClient
    ) -> None:
        assert await self.claims_of(client, chain["Reuters"], "relay") == [chain["C"], chain["U"]]

    async def test_relay_lists_only_the_claims_the_source_relayed(
        self, chain: dict[str, str], client: httpx.AsyncClient
    ) -> None:
        assert await self.claims_of(client, chain["Hina"], "relay") == [chain["C"]]

    async def test_relay_leaves_out_claims_the_source_originated(
        self, chain: dict[str, str], client: httpx.AsyncClient
    ) -> None:
        assert await self.claims_of(client, chain["Ryder"], "relay") == []

    @pytest.mark.parametrize(("source", "expected"), [("Ryder", ["C", "U"]), ("Reuters", ["C", "U"]), ("Hina", ["C"])])
    async def test_any_lists_claims_originated_or_relayed(
        self, chain: dict[str, str], client: httpx.AsyncClient, source: str, expected: list[str]
    ) -> None:
        assert await self.claims_of(client, chain[source], "any") == [chain[name] for name in expected]

    async def test_role_defaults_to_any(self, chain: dict[str, str], client: httpx.AsyncClient) -> None:
        assert await self.claims_of(client, chain["Reuters"], None) == await self.claims_of(
            client, chain["Reuters"], "any"
        )

    async def test_source_without_claims_has_an_empty_list(self, client: httpx.AsyncClient) -> None:
        source = await create_source(client, {"name": "Reuters", "kind": "outlet"})
        response = await client.get(f"/sources/{source['id']}/claims")
        assert response.status_code == 200
        assert response.json() == {"items": [], "next_cursor": None}

    async def test_bad_role_is_422_naming_role(self, chain: dict[str, str], client: httpx.AsyncClient) -> None:
        response = await client.get(f"/sources/{chain['Ryder']}/claims", params={"role": "author"})
        assert_problem(response, 422, field="role")

    async def test_unknown_source_is_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get(f"/sources/{uuid.uuid4()}/claims"), 404)

    async def test_malformed_source_id_is_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/sources/not-an-id/claims"), 404)


async def test_the_first_and_last_dates_python_has_are_stored_as_dates(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    """asyncpg's own codec stores 0001-01-01 and 9999-12-31 as -infinity and infinity, which read back as no
    date at all: the source they were an affiliation of answered 500 (the fuzzer found it)."""
    body = {
        "name": "Reuters",
        "kind": "outlet",
        "affiliations": [{"organization": {"name": "Thomson"}, "since": "0001-01-01", "until": "9999-12-31"}],
    }
    created = await client.post("/sources", json=body)
    assert created.status_code == 201, created.text
    [affiliation] = created.json()["affiliations"]
    assert (affiliation["since"], affiliation["until"]) == ("0001-01-01", "9999-12-31")
    stored = await conn.fetchrow("SELECT since::text, until::text FROM affiliations")
    assert tuple(stored) == ("0001-01-01", "9999-12-31")
    listed = await client.get("/sources")
    assert listed.status_code == 200
