"""Editing sources under ``If-Match``, and merging a duplicate into its survivor."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers import assert_problem, claim_body, create_claim, create_source, hop, inline


async def read(client: httpx.AsyncClient, source_id: str) -> httpx.Response:
    response = await client.get(f"/sources/{source_id}")
    assert response.status_code == 200, response.text
    return response


async def patch(client: httpx.AsyncClient, source_id: str, body: dict[str, Any], etag: str | None) -> httpx.Response:
    headers = {"If-Match": etag} if etag is not None else {}
    return await client.patch(f"/sources/{source_id}", json=body, headers=headers)


class TestEdit:
    async def test_a_current_etag_lets_the_edit_through_and_changes_the_etag(self, client: httpx.AsyncClient) -> None:
        source = await create_source(
            client, {"name": "Pat Ryder", "kind": "person", "aliases": ["P. Ryder"], "description": "old"}
        )
        before = await read(client, source["id"])
        etag = before.headers["etag"]
        response = await patch(
            client,
            source["id"],
            {"name": "Patrick Ryder", "aliases": ["Pat Ryder", "Brig. Gen. Pat Ryder"], "description": None},
            etag,
        )
        assert response.status_code == 200, response.text
        edited = response.json()
        assert edited["name"] == "Patrick Ryder"
        assert edited["aliases"] == ["Brig. Gen. Pat Ryder", "Pat Ryder"]
        assert edited["description"] is None
        assert response.headers["etag"] != etag
        assert (await read(client, source["id"])).json() == edited

    async def test_fields_left_out_are_kept(self, client: httpx.AsyncClient) -> None:
        source = await create_source(
            client, {"name": "Reuters", "kind": "outlet", "description": "wire", "identifiers": {"wikidata": "Q130879"}}
        )
        etag = (await read(client, source["id"])).headers["etag"]
        edited = (await patch(client, source["id"], {"aliases": ["REUTERS"]}, etag)).json()
        assert (edited["description"], edited["identifiers"]) == ("wire", {"wikidata": "Q130879"})

    async def test_replaced_aliases_and_affiliations_change_what_matches(self, client: httpx.AsyncClient) -> None:
        source = await create_source(
            client,
            {
                "name": "Charlie Dietz",
                "kind": "person",
                "aliases": ["Major Dietz"],
                "affiliations": [{"organization": {"name": "Pentagon"}, "role": "spokesperson"}],
            },
        )
        etag = (await read(client, source["id"])).headers["etag"]
        body = {"aliases": ["Maj. Charlie Dietz"], "affiliations": [{"organization": {"name": "US Army"}}]}
        edited = (await patch(client, source["id"], body, etag)).json()
        assert [a["organization"]["name"] for a in edited["affiliations"]] == ["US Army"]
        reused = await create_claim(client, claim_body("x", hop(inline("Maj Charlie Dietz"))))
        assert reused["origin"]["id"] == source["id"]
        fresh = await create_claim(client, claim_body("y", hop(inline("Major Dietz"))))
        assert fresh["origin"]["id"] != source["id"]

    async def test_a_renamed_source_is_found_under_its_new_name(self, client: httpx.AsyncClient) -> None:
        source = await create_source(client, {"name": "M. Razvozhayev", "kind": "person"})
        etag = (await read(client, source["id"])).headers["etag"]
        await patch(client, source["id"], {"name": "Mikhail Razvozhayev"}, etag)
        found = (await client.get("/sources", params={"q": "Mikhail Razvozhaev"})).json()["items"]
        assert found[0]["id"] == source["id"]

    async def test_without_if_match_is_428(self, client: httpx.AsyncClient) -> None:
        source = await create_source(client, {"name": "Hina", "kind": "outlet"})
        response = await patch(client, source["id"], {"description": "agency"}, None)
        assert_problem(response, 428)

    async def test_a_stale_etag_is_412_and_changes_nothing(self, client: httpx.AsyncClient) -> None:
        source = await create_source(client, {"name": "Hina", "kind": "outlet"})
        stale = (await read(client, source["id"])).headers["etag"]
        assert (await patch(client, source["id"], {"description": "first"}, stale)).status_code == 200
        lost = await patch(client, source["id"], {"description": "second"}, stale)
        assert lost.status_code == 412
        assert (await read(client, source["id"])).json()["description"] == "first"

    async def test_a_wildcard_if_match_edits_whatever_the_version(self, client: httpx.AsyncClient) -> None:
        source = await create_source(client, {"name": "Hina", "kind": "outlet", "description": "agency"})
        first = await read(client, source["id"])
        assert (await patch(client, source["id"], {"aliases": ["HINA"]}, first.headers["etag"])).status_code == 200
        before = await read(client, source["id"])  # at a version a stale client would not know
        assert before.headers["etag"] != first.headers["etag"]
        response = await patch(client, source["id"], {"description": "x"}, "*")
        assert response.status_code == 200, response.text
        after = await read(client, source["id"])
        assert after.json()["description"] == "x"
        assert after.json() == {**before.json(), "description": "x"}  # nothing else changed
        assert after.headers["etag"] != before.headers["etag"]
        assert response.headers["etag"] == after.headers["etag"]
        assert response.json() == after.json()

    @pytest.mark.parametrize(
        ("body", "field"),
        [({"name": "  "}, "name"), ({"nickname": "x"}, "body"), ({"aliases": ["..."]}, "aliases[0]")],
    )
    async def test_invalid_edits_are_422_and_change_nothing(
        self, client: httpx.AsyncClient, body: dict[str, Any], field: str
    ) -> None:
        source = await create_source(client, {"name": "Hina", "kind": "outlet"})
        before = await read(client, source["id"])
        response = await patch(client, source["id"], body, before.headers["etag"])
        assert_problem(response, 422, field=field)
        after = await read(client, source["id"])
        assert (after.json(), after.headers["etag"]) == (before.json(), before.headers["etag"])

    @pytest.mark.parametrize("source_id", ["00000000-0000-0000-0000-000000000000", "nope"])
    @pytest.mark.parametrize("etag", ["*", None])
    async def test_unknown_source_is_404_with_or_without_if_match(
        self, client: httpx.AsyncClient, source_id: str, etag: str | None
    ) -> None:
        assert (await patch(client, source_id, {"description": "x"}, etag)).status_code == 404

    async def test_an_affiliation_given_twice_is_a_documented_409_and_changes_nothing(
        self, client: httpx.AsyncClient
    ) -> None:
        # Two inline organizations folding to one stored source: the edit answered a 409 that the
        # OpenAPI document of updateSource did not list.
        source = await create_source(client, {"name": "Maria Zakharova", "kind": "person"})
        etag = (await read(client, source["id"])).headers["etag"]
        twice = [{"organization": {"name": "Foreign Ministry"}}, {"organization": {"name": "foreign ministry."}}]
        response = await patch(client, source["id"], {"affiliations": twice}, etag)
        assert response.status_code == 409
        assert response.json()["constraint"] == "affiliations_unique"
        assert (await read(client, source["id"])).json()["affiliations"] == []
        documented = client_document_statuses(await client.get("/schema/openapi.json"), "/sources/{source_id}", "patch")
        assert "409" in documented


@pytest.fixture
async def duplicates(client: httpx.AsyncClient) -> dict[str, Any]:
    """Patrick Ryder twice, each named by a claim, one of them upstream of another."""
    pentagon = await create_source(client, {"name": "Pentagon", "kind": "organization"})
    survivor = await create_source(
        client,
        {"name": "Patrick Ryder", "kind": "person", "identifiers": {"homepage": "https://example.org/ryder"}},
    )
    duplicate = await create_source(
        client,
        {
            "name": "Pat Ryder",
            "kind": "person",
            "aliases": ["Brig. Gen. Pat Ryder"],
            "identifiers": {"wikidata": "Q107413000"},
            "affiliations": [{"organization_id": pentagon["id"], "role": "spokesman"}],
        },
    )
    wire = await create_claim(
        client, claim_body("the call lasted an hour", hop(inline("Reuters", "outlet")), hop(duplicate["id"]))
    )
    relay = await create_claim(
        client, claim_body("x", hop(inline("Hina", "outlet")), hop(None, upstream_claim_id=wire["id"]))
    )
    direct = await create_claim(client, claim_body("y", hop(survivor["id"])))
    return {"pentagon": pentagon, "survivor": survivor, "duplicate": duplicate, "wire": wire, "relay": relay,
            "direct": direct}  # fmt: skip


async def merge(client: httpx.AsyncClient, source_id: str, into: str) -> httpx.Response:
    return await client.post(f"/sources/{source_id}/merge", json={"into": into})


async def read_claim(client: httpx.AsyncClient, claim_id: str) -> dict[str, Any]:
    response = await client.get(f"/claims/{claim_id}")
    assert response.status_code == 200, response.text
    claim: dict[str, Any] = response.json()
    return claim


async def stored_state(
    client: httpx.AsyncClient, conn: asyncpg.Connection, duplicates: dict[str, Any]
) -> dict[str, Any]:
    """What a merge of ``duplicates`` would change: both sources as read (body and ETag; a merged source
    would answer 308, which ``read`` refuses), whether they are merged, the sources every hop of the
    three claims names, and the claims each source originated."""
    sources = [duplicates[k]["id"] for k in ("duplicate", "survivor")]
    claims = [duplicates[k]["id"] for k in ("wire", "relay", "direct")]
    read_back = {s: await read(client, s) for s in sources}
    originated = {}
    for source_id in sources:
        listed = await client.get(f"/sources/{source_id}/claims", params={"role": "origin"})
        assert listed.status_code == 200, listed.text
        originated[source_id] = sorted(c["id"] for c in listed.json()["items"])
    return {
        "sources": {s: (r.json(), r.headers["etag"]) for s, r in read_back.items()},
        "merged_into": await conn.fetch(
            "SELECT id, merged_into, version FROM sources WHERE id = ANY($1::uuid[]) ORDER BY id", sources
        ),
        "hops": await conn.fetch(
            "SELECT claim_id, position, source_id FROM hops WHERE claim_id = ANY($1::uuid[])"
            " ORDER BY claim_id, position",
            claims,
        ),
        "claims": [await read_claim(client, claim_id) for claim_id in claims],
        "originated": originated,
    }


def assert_not_merged(state: dict[str, Any], duplicates: dict[str, Any]) -> None:
    """``state`` still shows the two sources as made: apart, with their own names, aliases and claims."""
    old, new = duplicates["duplicate"]["id"], duplicates["survivor"]["id"]
    duplicate, _ = state["sources"][old]
    survivor, _ = state["sources"][new]
    assert (duplicate["name"], duplicate["aliases"]) == ("Pat Ryder", ["Brig. Gen. Pat Ryder"])
    assert (survivor["name"], survivor["aliases"]) == ("Patrick Ryder", [])
    assert [etag for _, etag in state["sources"].values()] == ['"1"', '"1"']  # never written since made
    assert [row["merged_into"] for row in state["merged_into"]] == [None, None]
    wire, relay, direct = state["claims"]
    assert [h["source"]["id"] for h in wire["chain"]][1:] == [old]  # the hop naming the duplicate
    assert [h["source"]["id"] for h in direct["chain"]] == [new]  # the hop naming the survivor
    assert (wire["origin"]["id"], relay["origin"]["id"], direct["origin"]["id"]) == (old, old, new)
    assert state["originated"] == {
        old: sorted(duplicates[k]["id"] for k in ("wire", "relay")),
        new: [duplicates["direct"]["id"]],
    }


def client_document_statuses(schema: httpx.Response, path: str, method: str) -> set[str]:
    """The statuses the served OpenAPI document lists for one operation."""
    return set(schema.json()["paths"][path][method]["responses"])


class TestMerge:
    async def test_the_survivor_takes_names_affiliations_and_identifiers(
        self, client: httpx.AsyncClient, duplicates: dict[str, Any]
    ) -> None:
        response = await merge(client, duplicates["duplicate"]["id"], duplicates["survivor"]["id"])
        assert response.status_code == 200, response.text
        survivor = response.json()
        assert survivor["id"] == duplicates["survivor"]["id"]
        assert survivor["aliases"] == ["Brig. Gen. Pat Ryder", "Pat Ryder"]
        assert [(a["organization"]["name"], a["role"]) for a in survivor["affiliations"]] == [("Pentagon", "spokesman")]
        assert survivor["identifiers"] == {"homepage": "https://example.org/ryder", "wikidata": "Q107413000"}

    async def test_the_old_id_redirects_to_the_survivor(
        self, client: httpx.AsyncClient, duplicates: dict[str, Any]
    ) -> None:
        old, new = duplicates["duplicate"]["id"], duplicates["survivor"]["id"]
        await merge(client, old, new)
        response = await client.get(f"/sources/{old}")
        assert response.status_code == 308
        assert response.headers["location"] == f"/sources/{new}"
        assert response.content == b""
        claims = await client.get(f"/sources/{old}/claims", params={"role": "origin"})
        assert claims.status_code == 308
        assert claims.headers["location"] == f"/sources/{new}/claims?role=origin"
        assert (await client.get(f"/sources/{old}", follow_redirects=True)).json()["id"] == new

    async def test_traces_and_lists_show_only_the_survivor(
        self, client: httpx.AsyncClient, duplicates: dict[str, Any]
    ) -> None:
        old, new = duplicates["duplicate"]["id"], duplicates["survivor"]["id"]
        await merge(client, old, new)
        trace = (await client.get(f"/claims/{duplicates['relay']['id']}/trace")).json()
        assert [h["source"]["name"] for h in trace["path"]] == ["Hina", "Reuters", "Patrick Ryder"]
        assert trace["origin"]["on_behalf_of"]["name"] == "Pentagon"
        listed = [s["id"] for s in (await client.get("/sources", params={"kind": "person"})).json()["items"]]
        assert listed == [new]
        found = [s["id"] for s in (await client.get("/sources", params={"q": "Pat Ryder"})).json()["items"]]
        assert found == [new]
        originated = (await client.get(f"/sources/{new}/claims", params={"role": "origin"})).json()["items"]
        expected = {duplicates[k]["id"] for k in ("wire", "relay", "direct")}
        assert {c["id"] for c in originated} == expected
        by_filter = (await client.get("/claims", params={"origin": new})).json()["items"]
        assert {c["id"] for c in by_filter} == expected

    async def test_filters_naming_the_old_id_follow_the_merge(
        self, client: httpx.AsyncClient, duplicates: dict[str, Any]
    ) -> None:
        old, new = duplicates["duplicate"]["id"], duplicates["survivor"]["id"]
        await merge(client, old, new)
        by_old = (await client.get("/claims", params={"origin": old})).json()["items"]
        by_new = (await client.get("/claims", params={"origin": new})).json()["items"]
        assert by_old == by_new
        assert len(by_new) == 3

    async def test_the_old_name_and_id_now_name_the_survivor(
        self, client: httpx.AsyncClient, duplicates: dict[str, Any]
    ) -> None:
        old, new = duplicates["duplicate"]["id"], duplicates["survivor"]["id"]
        await merge(client, old, new)
        by_name = await create_claim(client, claim_body("z", hop(inline("Pat Ryder"))))
        by_id = await create_claim(client, claim_body("w", hop(old)))
        assert by_name["origin"]["id"] == by_id["origin"]["id"] == new

    async def test_merging_into_a_source_that_was_merged_is_refused_and_chains_compress(
        self, client: httpx.AsyncClient, duplicates: dict[str, Any]
    ) -> None:
        old, new = duplicates["duplicate"]["id"], duplicates["survivor"]["id"]
        third = await create_source(client, {"name": "P. Ryder", "kind": "person"})
        await merge(client, old, new)
        refused = await merge(client, third["id"], old)
        assert_problem(refused, 422, field="into")
        assert (await merge(client, new, third["id"])).status_code == 200
        response = await client.get(f"/sources/{old}")
        assert response.headers["location"] == f"/sources/{third['id']}"

    async def test_merging_into_itself_is_422_and_changes_nothing(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection, duplicates: dict[str, Any]
    ) -> None:
        old = duplicates["duplicate"]["id"]
        before = await stored_state(client, conn, duplicates)
        response = await merge(client, old, old)
        assert_problem(response, 422, field="into")
        after = await stored_state(client, conn, duplicates)
        assert after == before
        assert_not_merged(after, duplicates)

    async def test_merging_a_merged_source_again_is_409(
        self, client: httpx.AsyncClient, duplicates: dict[str, Any]
    ) -> None:
        old, new = duplicates["duplicate"]["id"], duplicates["survivor"]["id"]
        await merge(client, old, new)
        again = await merge(client, old, new)
        assert_problem(again, 409)

    @pytest.mark.parametrize("into", ["00000000-0000-0000-0000-000000000000", "nope"])
    async def test_an_unknown_survivor_is_422_and_changes_nothing(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection, duplicates: dict[str, Any], into: str
    ) -> None:
        old = duplicates["duplicate"]["id"]
        before = await stored_state(client, conn, duplicates)
        response = await merge(client, old, into)
        assert_problem(response, 422, field="into")
        after = await stored_state(client, conn, duplicates)
        assert after == before  # both sources read back alike, ETags (versions) too, and the claims' hops
        assert_not_merged(after, duplicates)

    async def test_an_unknown_duplicate_is_404(self, client: httpx.AsyncClient, duplicates: dict[str, Any]) -> None:
        response = await merge(client, "00000000-0000-0000-0000-000000000000", duplicates["survivor"]["id"])
        assert response.status_code == 404

    async def test_a_merged_source_cannot_be_edited_in_place(
        self, client: httpx.AsyncClient, duplicates: dict[str, Any]
    ) -> None:
        old, new = duplicates["duplicate"]["id"], duplicates["survivor"]["id"]
        await merge(client, old, new)
        response = await patch(client, old, {"description": "x"}, "*")
        assert response.status_code == 308
        assert response.headers["location"] == f"/sources/{new}"
