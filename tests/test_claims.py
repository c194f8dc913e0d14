"""Creating claims: chains, inline source resolution, atomicity, and what the database enforces."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import msgspec
import pytest

from service.domain import claims
from service.domain.names import fold
from service.model import Claim
from service.repositories import claims as repo
from service.repositories.claims import ClaimRow, NewHop
from tests.helpers import (
    ADMIN_KEY_NAME,
    assert_problem,
    claim_body,
    create_claim,
    create_source,
    hop,
    inline,
    ryder_story,
)


class TestCreateClaim:
    async def test_created_claim_has_location_and_its_chain_in_order(self, client: httpx.AsyncClient) -> None:
        body = ryder_story(
            appeared_in={"title": "Ministers speak", "published_at": "2024-06-25T10:00:00Z"},
            stated_at="2024-06-25T09:00:00+02:00",
        )
        response = await client.post("/claims", json=body)
        assert response.status_code == 201
        claim = response.json()
        assert response.headers["location"] == f"/claims/{claim['id']}"
        assert [(h["position"], h["source"]["name"], h["cue"]) for h in claim["chain"]] == [
            (0, "Hina", "reports"),
            (1, "Reuters", "citing"),
            (2, "Patrick Ryder", "told reporters"),
        ]
        assert claim["chain"][2]["role"] == "spokesman"
        assert claim["origin"]["name"] == "Patrick Ryder"
        assert claim["appeared_in"]["published_at"] == "2024-06-25T10:00:00Z"
        assert claim["stated_at"] == "2024-06-25T07:00:00Z"
        assert claim["language"] == "en"

        fetched = await client.get(response.headers["location"])
        assert fetched.status_code == 200
        assert fetched.json() == claim
        assert response.headers["etag"] == fetched.headers["etag"] == '"1"'

    async def test_a_hop_may_name_its_source_by_id(self, client: httpx.AsyncClient) -> None:
        ryder = await create_source(client, {"name": "Patrick Ryder", "kind": "person"})
        claim = await create_claim(client, claim_body("x", hop(ryder["id"], "told reporters")))
        assert claim["chain"][0]["source"] == {"id": ryder["id"], "name": "Patrick Ryder", "kind": "person"}

    async def test_unknown_source_id_is_422_naming_the_hop(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/claims", json=claim_body("x", hop("00000000-0000-0000-0000-000000000000")))
        assert_problem(response, 422, field="chain[0].source_id")

    async def test_a_hop_with_both_source_and_source_id_is_422(self, client: httpx.AsyncClient) -> None:
        ryder = await create_source(client, {"name": "Patrick Ryder", "kind": "person"})
        both = {"cue": "said", "source_id": ryder["id"], "source": inline("Patrick Ryder")}
        response = await client.post("/claims", json=claim_body("x", both))
        assert_problem(response, 422, field="chain[0]")

    async def test_a_hop_with_no_source_is_422(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/claims", json=claim_body("x", hop(None)))
        assert_problem(response, 422, field="chain[0]")

    @pytest.mark.parametrize("field", ["text", "cue"])
    async def test_blank_text_or_cue_is_422(self, client: httpx.AsyncClient, field: str) -> None:
        body = claim_body("x", hop(inline("Someone")))
        if field == "text":
            body["text"] = "   "
        else:
            body["chain"][0]["cue"] = " \t "
        response = await client.post("/claims", json=body)
        problem = assert_problem(response, 422)
        assert field in problem["errors"][0]["field"]

    async def test_more_than_sixteen_hops_is_422(self, client: httpx.AsyncClient) -> None:
        body = claim_body("x", *[hop(inline(f"Relay {i}", "outlet")) for i in range(17)])
        response = await client.post("/claims", json=body)
        assert_problem(response, 422, field="chain")

    async def test_naive_times_are_refused(self, client: httpx.AsyncClient) -> None:
        body = claim_body("x", hop(inline("Someone")), stated_at="2024-06-25T09:00:00")
        response = await client.post("/claims", json=body)
        assert_problem(response, 422, field="stated_at")


class TestInlineSourceResolution:
    async def test_an_inline_source_matching_nothing_is_created_once(self, client: httpx.AsyncClient) -> None:
        first = await create_claim(client, claim_body("a", hop(inline("Reuters", "outlet"))))
        second = await create_claim(client, claim_body("b", hop(inline("Reuters", "outlet"))))
        assert first["origin"]["id"] == second["origin"]["id"]
        listed = (await client.get("/sources", params={"q": "Reuters"})).json()["items"]
        assert [s["id"] for s in listed] == [first["origin"]["id"]]

    @pytest.mark.parametrize(
        "spelling", ["RAZVOZAYEV", "Razvozáyev", "razvozayev.", "  Razvozayev ", "Mihail   Razvozayev"]
    )
    async def test_case_accents_punctuation_and_spaces_do_not_matter(
        self, client: httpx.AsyncClient, spelling: str
    ) -> None:
        governor = await create_source(
            client,
            {"name": "Mikhail Razvozhayev", "kind": "person", "aliases": ["Razvozayev", "Mihail Razvozayev"]},
        )
        claim = await create_claim(client, claim_body("x", hop(inline(spelling))))
        assert claim["origin"]["id"] == governor["id"]

    async def test_an_alias_matches_like_a_name(self, client: httpx.AsyncClient) -> None:
        pentagon = await create_source(
            client,
            {"name": "Pentagon", "kind": "organization", "aliases": ["US Department of Defense", "DoD"]},
        )
        claim = await create_claim(client, claim_body("x", hop(inline("U.S. Department of Defense", "organization"))))
        assert claim["origin"]["id"] == pentagon["id"]
        claim = await create_claim(client, claim_body("y", hop(inline("dod", "organization"))))
        assert claim["origin"]["id"] == pentagon["id"]

    async def test_a_reused_source_keeps_what_was_stored(self, client: httpx.AsyncClient) -> None:
        stored = await create_source(client, {"name": "Reuters", "kind": "outlet", "description": "Wire agency"})
        await create_claim(
            client, claim_body("x", hop(inline("Reuters", "outlet", description="Changed", aliases=["R"])))
        )
        again = (await client.get(f"/sources/{stored['id']}")).json()
        assert again["description"] == "Wire agency"
        assert again["aliases"] == []

    async def test_inline_source_matching_two_sources_is_422_listing_the_candidates(
        self, client: httpx.AsyncClient
    ) -> None:
        one = await create_source(client, {"name": "John Smith", "kind": "person"})
        two = await create_source(client, {"name": "J. Smith", "kind": "person", "aliases": ["John Smith"]})
        response = await client.post("/claims", json=claim_body("x", hop(inline("john smith"))))
        problem = assert_problem(response, 422, field="chain[0].source.name")
        assert {c["id"] for c in problem["candidates"]} == {one["id"], two["id"]}

    async def test_several_matches_are_narrowed_by_kind(self, client: httpx.AsyncClient) -> None:
        await create_source(client, {"name": "Reuters", "kind": "person"})
        outlet = await create_source(client, {"name": "Reuters", "kind": "outlet"})
        claim = await create_claim(client, claim_body("x", hop(inline("Reuters", "outlet"))))
        assert claim["origin"]["id"] == outlet["id"]

    async def test_an_inline_source_brings_its_aliases_and_affiliations(self, client: httpx.AsyncClient) -> None:
        body = claim_body(
            "x",
            hop(
                inline(
                    "Charlie Dietz",
                    aliases=["Major Charlie Dietz"],
                    affiliations=[{"organization": {"name": "Pentagon"}, "role": "spokesperson"}],
                ),
                "said",
            ),
        )
        claim = await create_claim(client, body)
        source = (await client.get(f"/sources/{claim['origin']['id']}")).json()
        assert source["aliases"] == ["Major Charlie Dietz"]
        assert source["affiliations"][0]["organization"]["name"] == "Pentagon"
        assert source["affiliations"][0]["role"] == "spokesperson"

    async def test_one_new_source_named_by_two_hops_is_created_once(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        body = claim_body("x", hop(inline("Brand New Outlet", "outlet")), hop(inline("brand new outlet", "outlet")))
        claim = await create_claim(client, body)
        assert claim["chain"][0]["source"] == claim["chain"][1]["source"]
        assert await conn.fetchval("SELECT count(*) FROM sources") == 1

    async def test_an_alias_of_a_source_created_by_one_hop_is_matched_by_the_next(
        self, client: httpx.AsyncClient
    ) -> None:
        body = claim_body("x", hop(inline("Charlie Dietz", aliases=["Major Dietz"])), hop(inline("Major Dietz")))
        claim = await create_claim(client, body)
        assert claim["chain"][1]["source"] == claim["chain"][0]["source"]

    async def test_a_source_created_by_one_hop_can_make_the_next_ambiguous(self, client: httpx.AsyncClient) -> None:
        # The second hop alone would reuse the stored source: it sees the one the first hop created too.
        await create_source(client, {"name": "Major Dietz", "kind": "person"})
        body = claim_body("x", hop(inline("Charlie Dietz", aliases=["Major Dietz"])), hop(inline("Major Dietz")))
        response = await client.post("/claims", json=body)
        problem = assert_problem(response, 422, field="chain[1].source.name")
        assert [c["name"] for c in problem["candidates"]] == ["Major Dietz", "Charlie Dietz"]

    async def test_an_organization_created_for_an_affiliation_is_reused_by_a_later_hop(
        self, client: httpx.AsyncClient
    ) -> None:
        dietz = inline("Charlie Dietz", affiliations=[{"organization": {"name": "Pentagon"}}])
        claim = await create_claim(client, claim_body("x", hop(dietz), hop(inline("Pentagon", "organization"))))
        source = (await client.get(f"/sources/{claim['chain'][0]['source']['id']}")).json()
        assert source["affiliations"][0]["organization"]["id"] == claim["chain"][1]["source"]["id"]

    @pytest.mark.parametrize(
        ("first", "second", "field", "detail"),
        [
            (inline("!!!"), inline("john smith"), "chain[0].source.name", "a name needs at least one letter or digit"),
            (inline("john smith"), inline("!!!"), "chain[0].source.name", "matches several sources"),
            (
                "00000000-0000-0000-0000-000000000000",
                inline("john smith"),
                "chain[0].source_id",
                "no source has this id",
            ),
            (inline("john smith"), "00000000-0000-0000-0000-000000000000", "chain[0].source.name", "matches several"),
            (inline("Brand New"), inline("john smith"), "chain[1].source.name", "matches several sources"),
        ],
    )
    async def test_of_two_failing_hops_the_first_in_chain_order_is_reported(
        self,
        client: httpx.AsyncClient,
        first: dict[str, str] | str,
        second: dict[str, str] | str,
        field: str,
        detail: str,
    ) -> None:
        await create_source(client, {"name": "John Smith", "kind": "person"})
        await create_source(client, {"name": "J. Smith", "kind": "person", "aliases": ["John Smith"]})
        response = await client.post("/claims", json=claim_body("x", hop(first), hop(second)))
        [error] = assert_problem(response, 422)["errors"]
        assert error["field"] == field
        assert detail in error["message"]

    async def test_a_failing_claim_leaves_no_source_behind(self, client: httpx.AsyncClient) -> None:
        body = claim_body(
            "x",
            hop(inline("Brand New Outlet", "outlet", affiliations=[{"organization": {"name": "Brand New Owner"}}])),
            hop("00000000-0000-0000-0000-000000000000"),
        )
        response = await client.post("/claims", json=body)
        assert response.status_code == 422
        for name in ("Brand New Outlet", "Brand New Owner"):
            assert (await client.get("/sources", params={"q": name})).json()["items"] == []
        assert (await client.get("/claims")).json()["items"] == []


def claim_row(origin: UUID, relays: list[UUID], text: str = "c") -> ClaimRow:
    """A claim's own columns, with no ``appeared_in`` and no time."""
    return ClaimRow(text, "quote", "en", None, None, None, None, None, None, origin, relays, fold(text))


async def insert(conn: asyncpg.Connection, row: ClaimRow, hops: list[NewHop]) -> repo.Inserted:
    """``repo.insert`` with a first revision recording nothing, by no one."""
    return await repo.insert(conn, row, id=None, hops=hops, extracted_by=None, change=b"{}", actor=None)


class TestAnsweredAsStored:
    """``POST /claims`` answers from what it stored, without reading the claim back: its answer, its
    ``ETag`` and its first revision are exactly what reading the claim gives."""

    async def test_the_answer_and_the_first_revision_are_the_claim_as_read(self, client: httpx.AsyncClient) -> None:
        upstream = await create_claim(client, claim_body("The call was short.", hop(inline("Patrick Ryder"))))
        ryder = upstream["chain"][0]["source"]["id"]
        hina = await create_source(client, {"name": "Hina", "kind": "outlet"})
        body = claim_body(
            "The call was short, and it was the first since March.",
            hop(hina["id"], "  reports "),  # by id, its cue trimmed
            hop(inline("Reuters", "outlet"), "citing"),  # created
            hop(inline("Pentagon spokesman John Kirby"), "quoting"),  # its role from its title
            hop(ryder, "told reporters", upstream_claim_id=upstream["id"]),  # its origin traced upstream
            kind="quote",
            language="hr",
            # times in other zones, with microseconds: stored and read back in UTC
            appeared_in={
                "url": "https://example.org/a?b=1",
                "title": "A call",
                "author": "A. Writer",
                "outlet": "Example",
                "published_at": "2024-06-25T20:30:00.123456+02:00",
            },
            stated_at="2024-06-25T09:00:00-03:30",
            extracted_by="attribution-en-1.1.0",
        )
        answered = await client.post("/claims", json=body)
        assert answered.status_code == 201, answered.text
        read = await client.get(f"/claims/{answered.json()['id']}")
        assert answered.json() == read.json()
        assert answered.headers["etag"] == read.headers["etag"]
        claim = read.json()
        assert claim["appeared_in"]["published_at"] == "2024-06-25T18:30:00.123456Z"
        assert [h["role"] for h in claim["chain"]] == [None, None, "spokesman", None]
        assert claim["origin"]["id"] == ryder
        assert claim["made"] == {"method": "extraction", "model": "attribution-en-1.1.0", "accepted_by": ADMIN_KEY_NAME}
        [created] = (await client.get(f"/claims/{claim['id']}/revisions")).json()["items"]
        as_read = claims.snapshot(msgspec.convert(claim, Claim))
        assert created["changes"] == msgspec.json.decode(msgspec.json.encode(as_read))


class TestStoringAClaim:
    async def _sources(self, conn: asyncpg.Connection, *names: str) -> list[UUID]:
        insert = "INSERT INTO sources (kind, name, name_key) VALUES ('person', $1, $2) RETURNING id"
        return [await conn.fetchval(insert, name, fold(name)) for name in names]

    async def test_a_claim_its_hops_revision_and_audit_entry_are_one_statement(self, conn: asyncpg.Connection) -> None:
        hina, ryder = await self._sources(conn, "Hina", "Ryder")
        hops = [NewHop(hina, "reports", None, None), NewHop(ryder, "said", "spokesman", None)]
        async with conn.transaction():  # the first statement on a connection introspects its types too
            await insert(conn, claim_row(ryder, []), [NewHop(ryder, "said", None, None)])
        statements: list[Any] = []
        async with conn.transaction():
            conn.add_query_logger(statements.append)
            claim_id = (await insert(conn, claim_row(ryder, [hina]), hops)).id
            await asyncio.sleep(0)  # asyncpg hands query records to loggers with call_soon
            conn.remove_query_logger(statements.append)
        assert [s.query for s in statements] == [repo.INSERT_CLAIM]
        stored = await conn.fetch("SELECT * FROM hops WHERE claim_id = $1 ORDER BY position", claim_id)
        assert [(h["position"], h["source_id"], h["cue"], h["role"]) for h in stored] == [
            (0, hina, "reports", None),
            (1, ryder, "said", "spokesman"),
        ]
        revision = await conn.fetchrow("SELECT number, action FROM claim_revisions WHERE claim_id = $1", claim_id)
        assert (revision["number"], revision["action"]) == (1, "create")
        entries = [
            await conn.fetchval(f"SELECT count(*) FROM {table} WHERE entity_id = $1 AND revision = 1", claim_id)
            for table in ("audit_pending", "audit_log")
        ]
        assert sum(entries) == 1  # pending, or sealed already

    @pytest.mark.parametrize("constraint", ["chain_not_empty", "chain_upstream_source"])
    async def test_the_chain_it_stores_is_still_checked_at_commit(
        self, conn: asyncpg.Connection, constraint: str
    ) -> None:
        hina, ryder = await self._sources(conn, "Hina", "Ryder")
        async with conn.transaction():
            upstream = (await insert(conn, claim_row(ryder, []), [NewHop(ryder, "said", None, None)])).id
        # A chain linking the upstream claim must name its first source (Ryder) in the linking hop.
        hops = [] if constraint == "chain_not_empty" else [NewHop(hina, "reports", None, upstream)]
        with pytest.raises(asyncpg.IntegrityConstraintViolationError) as raised:
            async with conn.transaction():
                await insert(conn, claim_row(ryder, [hina], text="d"), hops)
        assert raised.value.constraint_name == constraint
        assert await conn.fetchval("SELECT count(*) FROM claims") == 1


class TestDatabaseEnforcesTheChain:
    """The rules hold even for writes that bypass the service."""

    async def _claim_with(self, conn: asyncpg.Connection, positions: list[int], upstream_at: int | None) -> None:
        source = await conn.fetchval(
            "INSERT INTO sources (kind, name, name_key) VALUES ('person', 'X', 'x') RETURNING id"
        )
        upstream = await conn.fetchval(
            "INSERT INTO claims (text, kind, language, origin_source_id, search_text)"
            " VALUES ('u', 'quote', 'en', $1, 'u') RETURNING id",
            source,
        )
        await conn.execute(
            "INSERT INTO hops (claim_id, position, source_id, cue) VALUES ($1, 0, $2, 'said')",
            upstream,
            source,
        )
        claim = await conn.fetchval(
            "INSERT INTO claims (text, kind, language, origin_source_id, search_text)"
            " VALUES ('c', 'quote', 'en', $1, 'c') RETURNING id",
            source,
        )
        for position in positions:
            await conn.execute(
                "INSERT INTO hops (claim_id, position, source_id, cue, upstream_claim_id)"
                " VALUES ($1, $2, $3, 'said', $4)",
                claim,
                position,
                source,
                upstream if position == upstream_at else None,
            )

    @pytest.mark.parametrize(
        ("positions", "upstream_at", "constraint"),
        [
            ([], None, "chain_not_empty"),
            ([0, 2], None, "chain_positions"),
            ([1], None, "chain_positions"),
            ([0, 1], 0, "chain_upstream_last"),
        ],
    )
    async def test_malformed_chains_fail_at_commit(
        self, conn: asyncpg.Connection, positions: list[int], upstream_at: int | None, constraint: str
    ) -> None:
        with pytest.raises(asyncpg.IntegrityConstraintViolationError) as raised:
            async with conn.transaction():
                await self._claim_with(conn, positions, upstream_at)
        assert raised.value.constraint_name == constraint
        assert await conn.fetchval("SELECT count(*) FROM claims") == 0

    @pytest.mark.parametrize(
        ("positions", "upstream_at", "constraint"),
        [
            ([], None, "chain_not_empty"),
            ([0, 2], None, "chain_positions"),
            ([0, 1], 0, "chain_upstream_last"),
            ([0, 1], 1, "chain_upstream_source"),
            ([0, 1], 1, None),
        ],
    )
    async def test_the_batch_check_holds_the_same_rules(
        self, conn: asyncpg.Connection, positions: list[int], upstream_at: int | None, constraint: str | None
    ) -> None:
        """``check_chains(ids)``, which bulk writes call instead of the row triggers, with a well-formed
        claim beside the one checked (and the upstream hop naming another source for the last rule)."""
        async with conn.transaction():
            await conn.execute("SET LOCAL provenance.chain_check = 'batch'")
            await self._claim_with(conn, [0, 1], 1)
            if constraint == "chain_upstream_source":
                await conn.execute("INSERT INTO sources (kind, name, name_key) VALUES ('person', 'Y', 'y')")
            await self._claim_with(conn, positions, upstream_at)
            if constraint == "chain_upstream_source":
                last = "(SELECT id FROM claims ORDER BY seq DESC LIMIT 1)"
                await conn.execute(
                    "UPDATE hops SET source_id = (SELECT id FROM sources WHERE name = 'Y')"
                    f" WHERE upstream_claim_id IS NOT NULL AND claim_id = {last}"
                )
            claims = [r["id"] for r in await conn.fetch("SELECT id FROM claims")]
            if constraint is None:
                await conn.execute("SELECT check_chains($1::uuid[])", claims)
                return
            with pytest.raises(asyncpg.IntegrityConstraintViolationError) as raised:
                await conn.execute("SELECT check_chains($1::uuid[])", claims)
        assert raised.value.constraint_name == constraint

    async def test_a_well_formed_chain_commits(self, conn: asyncpg.Connection) -> None:
        async with conn.transaction():
            await self._claim_with(conn, [0, 1], 1)
        assert await conn.fetchval("SELECT count(*) FROM hops") == 3

    @pytest.mark.parametrize(
        "statement",
        [
            "INSERT INTO sources (kind, name, name_key) VALUES ('alien', 'X', 'x')",
            "INSERT INTO sources (kind, name, name_key) VALUES ('person', ' ', 'x')",
            "INSERT INTO sources (kind, name, name_key, identifiers) VALUES ('person', 'X', 'x', '[]')",
        ],
    )
    async def test_source_checks(self, conn: asyncpg.Connection, statement: str) -> None:
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(statement)

    async def test_hop_position_and_claim_kind_checks(self, conn: asyncpg.Connection) -> None:
        source = await conn.fetchval(
            "INSERT INTO sources (kind, name, name_key) VALUES ('person', 'X', 'x') RETURNING id"
        )
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(
                "INSERT INTO claims (text, kind, language, origin_source_id, search_text)"
                " VALUES ('c', 'rumour', 'en', $1, 'c')",
                source,
            )
        with pytest.raises(asyncpg.CheckViolationError):
            async with conn.transaction():
                claim = await conn.fetchval(
                    "INSERT INTO claims (text, kind, language, origin_source_id, search_text)"
                    " VALUES ('c', 'quote', 'en', $1, 'c') RETURNING id",
                    source,
                )
                await conn.execute(
                    "INSERT INTO hops (claim_id, position, source_id, cue) VALUES ($1, -1, $2, 'said')",
                    claim,
                    source,
                )
