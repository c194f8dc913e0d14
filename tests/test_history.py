"""The history of claims: edits under ``If-Match``, revisions, chain edits, retraction; nothing is deleted."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from service import seeds
from service.repositories import claims as claims_repo
from tests.helpers import ADMIN_KEY_NAME, assert_problem, claim_body, create_claim, hop, inline, ryder_story

UNKNOWN = "00000000-0000-0000-0000-000000000000"
WAITING_FOR_ADVISORY_LOCK = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)"


async def eventually(check: Callable[[], Awaitable[Any]], timeout: float = 10.0) -> None:
    """Poll ``check`` until it is truthy, failing after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.01)


async def read(client: httpx.AsyncClient, claim_id: str) -> httpx.Response:
    response = await client.get(f"/claims/{claim_id}")
    assert response.status_code == 200, response.text
    return response


async def patch(client: httpx.AsyncClient, claim_id: str, body: dict[str, Any], etag: str | None) -> httpx.Response:
    headers = {"If-Match": etag} if etag is not None else {}
    return await client.patch(f"/claims/{claim_id}", json=body, headers=headers)


async def retract(
    client: httpx.AsyncClient, claim_id: str, reason: str = "misattributed", etag: str | None = None
) -> httpx.Response:
    headers = {"If-Match": etag} if etag is not None else {}
    return await client.post(f"/claims/{claim_id}/retract", json={"reason": reason}, headers=headers)


async def revisions(client: httpx.AsyncClient, claim_id: str) -> list[dict[str, Any]]:
    response = await client.get(f"/claims/{claim_id}/revisions")
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def origins(client: httpx.AsyncClient, source_id: str, role: str = "origin") -> set[str]:
    """Ids of the claims ``GET /claims?origin=`` (or ``via=``) finds for a source."""
    response = await client.get("/claims", params={role: source_id})
    assert response.status_code == 200, response.text
    return {c["id"] for c in response.json()["items"]}


async def statement_ids(client: httpx.AsyncClient, statement: str, **params: Any) -> list[str]:
    response = await client.get("/trace", params={"statement": statement, **params})
    assert response.status_code == 200, response.text
    return [item["trace"]["claim"]["id"] for item in response.json()["items"]]


@pytest.fixture
async def claim(client: httpx.AsyncClient) -> dict[str, Any]:
    """Hina reporting, citing Reuters, what Patrick Ryder told reporters."""
    return await create_claim(
        client, ryder_story(appeared_in={"title": "Ministers speak", "published_at": "2024-06-25T10:00:00Z"})
    )


@pytest.fixture
async def linked(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    """A wire story, a report linking it upstream, and a report linking that report upstream."""
    wire = await create_claim(client, ryder_story("the call lasted an hour", outlet=None, ryder_cue="said", role=None))
    report = await create_claim(client, ryder_story("x", upstream=wire["id"]))
    echo = await create_claim(
        client,
        claim_body("y", hop(inline("Daily", "outlet"), "reports"), hop(None, "citing", upstream_claim_id=report["id"])),
    )
    return {"wire": wire, "report": report, "echo": echo}


class TestEdit:
    async def test_a_claim_answers_with_its_status_and_a_strong_etag(
        self, client: httpx.AsyncClient, claim: dict[str, Any]
    ) -> None:
        response = await read(client, claim["id"])
        assert response.headers["etag"] == '"1"'
        assert (response.json()["status"], response.json()["retraction"]) == ("active", None)
        assert claim["status"] == "active"

    @pytest.mark.parametrize(
        ("field", "value"),
        [
            ("text", "Austin placed the call"),
            ("kind", "quote"),
            ("language", "de"),
            ("appeared_in", {"url": "https://example.org/a", "published_at": "2024-06-26T08:00:00+02:00"}),
            ("stated_at", "2024-06-25T09:00:00+02:00"),
        ],
    )
    async def test_each_field_edit_writes_a_revision_and_a_new_etag(
        self, client: httpx.AsyncClient, claim: dict[str, Any], field: str, value: Any
    ) -> None:
        etag = (await read(client, claim["id"])).headers["etag"]
        response = await patch(client, claim["id"], {field: value}, etag)
        assert response.status_code == 200, response.text
        edited = response.json()
        assert response.headers["etag"] == '"2"' != etag
        assert edited[field] != claim[field]
        assert {k: v for k, v in edited.items() if k != field} == {k: v for k, v in claim.items() if k != field}
        fetched = await read(client, claim["id"])
        assert (fetched.json(), fetched.headers["etag"]) == (edited, '"2"')
        last = (await revisions(client, claim["id"]))[-1]
        assert (last["number"], last["action"], last["actor"]) == (2, "edit", ADMIN_KEY_NAME)
        assert last["changes"] == {field: {"from": claim[field], "to": edited[field]}}

    async def test_stated_at_null_clears_it(self, client: httpx.AsyncClient) -> None:
        dated = await create_claim(client, claim_body("x", hop(inline("Someone")), stated_at="2024-06-25T07:00:00Z"))
        edited = (await patch(client, dated["id"], {"stated_at": None}, '"1"')).json()
        assert edited["stated_at"] is None
        changes = (await revisions(client, dated["id"]))[-1]["changes"]
        assert changes == {"stated_at": {"from": "2024-06-25T07:00:00Z", "to": None}}

    async def test_several_fields_make_one_revision(self, client: httpx.AsyncClient, claim: dict[str, Any]) -> None:
        response = await patch(client, claim["id"], {"text": "Austin placed the call", "kind": "quote"}, '"1"')
        assert response.headers["etag"] == '"2"'
        [_, edit] = await revisions(client, claim["id"])
        assert set(edit["changes"]) == {"text", "kind"}

    async def test_an_edited_text_is_found_by_its_new_words(
        self, client: httpx.AsyncClient, claim: dict[str, Any]
    ) -> None:
        await patch(client, claim["id"], {"text": "Sevastopol was shelled overnight"}, '"1"')
        found = (await client.get("/claims", params={"q": "sevastopol"})).json()["items"]
        assert [c["id"] for c in found] == [claim["id"]]
        assert (await client.get("/claims", params={"q": "initiated"})).json()["items"] == []
        assert await statement_ids(client, "Sevastopol shelled") == [claim["id"]]

    async def test_a_chain_edit_records_both_chains(self, client: httpx.AsyncClient, claim: dict[str, Any]) -> None:
        chain = [hop(inline("Hina", "outlet"), "reports"), hop(inline("Lloyd Austin"), "said")]
        response = await patch(client, claim["id"], {"chain": chain}, '"1"')
        assert response.status_code == 200, response.text
        edited = response.json()
        assert [h["source"]["name"] for h in edited["chain"]] == ["Hina", "Lloyd Austin"]
        assert edited["origin"]["name"] == "Lloyd Austin"

        def listed(stored: dict[str, Any]) -> list[dict[str, Any]]:
            return [
                {"source_id": h["source"]["id"], "source_name": h["source"]["name"], "cue": h["cue"],
                 "role": h["role"], "upstream_claim_id": h["upstream_claim_id"]}
                for h in stored["chain"]
            ]  # fmt: skip

        changes = (await revisions(client, claim["id"]))[-1]["changes"]
        assert changes == {"chain": {"from": listed(claim), "to": listed(edited)}}


class TestPreconditions:
    async def test_without_if_match_is_428_and_changes_nothing(
        self, client: httpx.AsyncClient, claim: dict[str, Any]
    ) -> None:
        response = await patch(client, claim["id"], {"text": "other"}, None)
        assert_problem(response, 428)
        assert (await read(client, claim["id"])).json() == claim

    async def test_a_stale_etag_is_412_and_changes_nothing(
        self, client: httpx.AsyncClient, claim: dict[str, Any]
    ) -> None:
        stale = (await read(client, claim["id"])).headers["etag"]
        assert (await patch(client, claim["id"], {"text": "first"}, stale)).status_code == 200
        lost = await patch(client, claim["id"], {"text": "second"}, stale)
        assert lost.status_code == 412
        assert (await read(client, claim["id"])).json()["text"] == "first"
        assert len(await revisions(client, claim["id"])) == 2

    async def test_a_wildcard_if_match_edits_whatever_the_version(
        self, client: httpx.AsyncClient, claim: dict[str, Any]
    ) -> None:
        await patch(client, claim["id"], {"kind": "quote"}, "*")
        response = await patch(client, claim["id"], {"text": "other"}, "*")
        assert (response.status_code, response.headers["etag"]) == (200, '"3"')

    @pytest.mark.parametrize(
        ("body", "field"),
        [
            ({"text": "  "}, "text"),
            ({"text": None}, "text"),
            ({"nickname": "x"}, "body"),
            ({"kind": "rumour"}, "kind"),
            ({"language": "English"}, "language"),
            ({"stated_at": "2024-06-25T09:00:00"}, "stated_at"),
            ({"chain": []}, "chain"),
            ({"chain": [hop(UNKNOWN)]}, "chain[0].source_id"),
            ({"chain": [hop(None)]}, "chain[0]"),
            ({"chain": [hop(inline("X"), upstream_claim_id="nope"), hop(inline("Y"))]}, "chain[0].upstream_claim_id"),
        ],
    )
    async def test_invalid_edits_are_422_naming_the_field_and_change_nothing(
        self, client: httpx.AsyncClient, claim: dict[str, Any], body: dict[str, Any], field: str
    ) -> None:
        response = await patch(client, claim["id"], body, '"1"')
        assert_problem(response, 422, field=field)
        after = await read(client, claim["id"])
        assert (after.json(), after.headers["etag"]) == (claim, '"1"')
        assert len(await revisions(client, claim["id"])) == 1

    @pytest.mark.parametrize("claim_id", [UNKNOWN, "nope"])
    async def test_unknown_claims_are_404(self, client: httpx.AsyncClient, claim_id: str) -> None:
        assert (await patch(client, claim_id, {"text": "x"}, "*")).status_code == 404
        assert (await retract(client, claim_id)).status_code == 404
        assert (await client.get(f"/claims/{claim_id}/revisions")).status_code == 404


class TestNoOp:
    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"text": "Austin initiated the conversation", "kind": "paraphrase", "language": "en"},
            {"appeared_in": {"title": "Ministers speak", "published_at": "2024-06-25T12:00:00+02:00"}},
            {"stated_at": None},
            {"chain": ryder_story(outlet="HINA", wire_cue=" citing ")["chain"]},
        ],
    )
    async def test_a_patch_changing_nothing_writes_nothing(
        self, client: httpx.AsyncClient, claim: dict[str, Any], body: dict[str, Any]
    ) -> None:
        response = await patch(client, claim["id"], body, '"1"')
        assert response.status_code == 200, response.text
        assert (response.json(), response.headers["etag"]) == (claim, '"1"')
        assert [r["action"] for r in await revisions(client, claim["id"])] == ["create"]


class TestChainEdits:
    async def test_the_origin_moves_and_downstream_claims_follow(
        self, client: httpx.AsyncClient, linked: dict[str, dict[str, Any]]
    ) -> None:
        wire, report, echo = linked["wire"], linked["report"], linked["echo"]
        ryder = wire["origin"]["id"]
        everything = {wire["id"], report["id"], echo["id"]}
        assert await origins(client, ryder) == everything
        chain = [hop(inline("Reuters", "outlet"), "reports"), hop(inline("AP", "outlet"), "citing"),
                 hop(inline("Lloyd Austin"), "said")]  # fmt: skip
        response = await patch(client, wire["id"], {"chain": chain}, '"1"')
        assert response.status_code == 200, response.text
        austin, ap = response.json()["origin"]["id"], response.json()["chain"][1]["source"]["id"]
        assert await origins(client, ryder) == set()
        assert await origins(client, austin) == everything
        assert await origins(client, ap, "via") == everything
        for downstream in (report, echo):
            fetched = await read(client, downstream["id"])
            assert fetched.json()["origin"]["name"] == "Lloyd Austin"
            assert fetched.headers["etag"] == '"1"'
        trace = (await client.get(f"/claims/{echo['id']}/trace")).json()
        assert [h["source"]["name"] for h in trace["path"]] == ["Daily", "Hina", "Reuters", "AP", "Lloyd Austin"]

    async def test_a_chain_edit_may_link_an_upstream_claim(
        self, client: httpx.AsyncClient, linked: dict[str, dict[str, Any]]
    ) -> None:
        loose = await create_claim(client, claim_body("z", hop(inline("Sky", "outlet")), hop(inline("Someone"))))
        chain = [hop(inline("Sky", "outlet"), "reports"), hop(None, "citing", upstream_claim_id=linked["wire"]["id"])]
        response = await patch(client, loose["id"], {"chain": chain}, '"1"')
        assert response.status_code == 200, response.text
        assert response.json()["origin"] == linked["wire"]["origin"]
        assert loose["id"] in await origins(client, linked["wire"]["origin"]["id"])

    @pytest.mark.parametrize("upstream", ["wire", "report", "echo"])
    async def test_an_upstream_link_making_a_cycle_is_409_and_changes_nothing(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection, linked: dict[str, dict[str, Any]], upstream: str
    ) -> None:
        wire = linked["wire"]
        hops_before = await conn.fetchval("SELECT count(*) FROM hops")
        chain = [
            hop(inline("Reuters", "outlet"), "reports"),
            hop(None, "citing", upstream_claim_id=linked[upstream]["id"]),
        ]
        response = await patch(client, wire["id"], {"chain": chain}, '"1"')
        assert_problem(response, 409)
        after = await read(client, wire["id"])
        assert (after.json(), after.headers["etag"]) == (wire, '"1"')
        assert len(await revisions(client, wire["id"])) == 1
        assert await conn.fetchval("SELECT count(*) FROM hops") == hops_before

    async def test_two_concurrent_links_cannot_make_a_cycle(self, client: httpx.AsyncClient) -> None:
        a = await create_claim(client, claim_body("a", hop(inline("Reuters", "outlet")), hop(inline("Ryder"))))
        b = await create_claim(client, claim_body("b", hop(inline("Hina", "outlet")), hop(inline("Sky", "outlet"))))
        a_links_b = [hop(inline("Reuters", "outlet")), hop(None, upstream_claim_id=b["id"])]
        b_links_a = [hop(inline("Hina", "outlet")), hop(None, upstream_claim_id=a["id"])]
        responses = await asyncio.gather(
            patch(client, a["id"], {"chain": a_links_b}, "*"), patch(client, b["id"], {"chain": b_links_a}, "*")
        )
        assert sorted(r.status_code for r in responses) == [200, 409]

    async def test_a_chain_edit_waits_for_another_in_flight(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection, linked: dict[str, dict[str, Any]]
    ) -> None:
        """One chain edit at a time, so no cycle check misses a link another edit is making."""
        chain = [hop(inline("Reuters", "outlet")), hop(inline("Lloyd Austin"))]
        async with conn.transaction():
            await claims_repo.lock_chains(conn, shared=False)
            edit = asyncio.create_task(patch(client, linked["wire"]["id"], {"chain": chain}, "*"))
            await eventually(lambda: conn.fetchval(WAITING_FOR_ADVISORY_LOCK))
            assert not edit.done()
        assert (await edit).status_code == 200

    async def test_a_new_first_source_while_other_claims_link_it_is_409(
        self, client: httpx.AsyncClient, linked: dict[str, dict[str, Any]]
    ) -> None:
        wire, report = linked["wire"], linked["report"]
        response = await patch(client, wire["id"], {"chain": [hop(inline("AP", "outlet")), hop(inline("X"))]}, "*")
        assert response.status_code == 409
        assert response.json()["linked_by"] == [report["id"]]
        assert (await read(client, wire["id"])).json() == wire

    async def test_chain_rules_of_creation_hold(self, client: httpx.AsyncClient, linked: dict[str, Any]) -> None:
        wire = linked["wire"]["id"]
        loose = await create_claim(client, claim_body("z", hop(inline("Sky", "outlet"))))
        wrong_source = [hop(inline("Sky", "outlet")), hop(inline("Hina", "outlet"), upstream_claim_id=wire)]
        response = await patch(client, loose["id"], {"chain": wrong_source}, "*")
        assert_problem(response, 422, field="chain[1]")
        not_last = [hop(None, upstream_claim_id=wire), hop(inline("Sky", "outlet"))]
        response = await patch(client, loose["id"], {"chain": not_last}, "*")
        assert_problem(response, 422, field="chain[0].upstream_claim_id")


class TestRetract:
    async def test_a_retracted_claim_stays_readable_with_its_reason(
        self, client: httpx.AsyncClient, claim: dict[str, Any]
    ) -> None:
        response = await retract(client, claim["id"], "  The quote was misattributed.  ")
        assert response.status_code == 200, response.text
        retracted = response.json()
        assert response.headers["etag"] == '"2"'
        assert retracted["status"] == "retracted"
        assert retracted["retraction"]["reason"] == "The quote was misattributed."
        assert retracted["retraction"]["retracted_at"]
        assert (await read(client, claim["id"])).json() == retracted
        trace = await client.get(f"/claims/{claim['id']}/trace")
        assert (trace.status_code, trace.json()["claim"]["status"]) == (200, "retracted")
        last = (await revisions(client, claim["id"]))[-1]
        assert (last["number"], last["action"], last["actor"]) == (2, "retract", ADMIN_KEY_NAME)
        assert last["changes"] == {
            "status": {"from": "active", "to": "retracted"},
            "reason": "The quote was misattributed.",
        }

    async def test_statement_traces_leave_it_out_unless_asked(
        self, client: httpx.AsyncClient, claim: dict[str, Any]
    ) -> None:
        assert await statement_ids(client, "Austin initiated the conversation") == [claim["id"]]
        await retract(client, claim["id"])
        assert await statement_ids(client, "Austin initiated the conversation") == []
        assert await statement_ids(client, "Austin initiated the conversation", include_retracted="false") == []
        response = await client.get(
            "/trace", params={"statement": "Austin initiated the conversation", "include_retracted": "true"}
        )
        [item] = response.json()["items"]
        assert (item["trace"]["claim"]["id"], item["trace"]["claim"]["status"]) == (claim["id"], "retracted")

    async def test_retracting_twice_is_409(self, client: httpx.AsyncClient, claim: dict[str, Any]) -> None:
        await retract(client, claim["id"])
        again = await retract(client, claim["id"], "again")
        assert_problem(again, 409)
        assert len(await revisions(client, claim["id"])) == 2

    async def test_a_retracted_claim_cannot_be_edited(self, client: httpx.AsyncClient, claim: dict[str, Any]) -> None:
        retracted = (await retract(client, claim["id"])).json()
        response = await patch(client, claim["id"], {"text": "other"}, "*")
        assert response.status_code == 409
        assert (await read(client, claim["id"])).json() == retracted

    async def test_if_match_is_optional_but_a_stale_one_is_412(
        self, client: httpx.AsyncClient, claim: dict[str, Any]
    ) -> None:
        await patch(client, claim["id"], {"kind": "quote"}, '"1"')
        assert (await retract(client, claim["id"], etag='"1"')).status_code == 412
        assert (await read(client, claim["id"])).json()["status"] == "active"
        assert (await retract(client, claim["id"], etag='"2"')).status_code == 200

    @pytest.mark.parametrize("body", [{"reason": "   "}, {"reason": ""}, {"reason": "x" * 2001}, {}])
    async def test_a_reason_is_required(
        self, client: httpx.AsyncClient, claim: dict[str, Any], body: dict[str, Any]
    ) -> None:
        response = await client.post(f"/claims/{claim['id']}/retract", json=body)
        [error] = assert_problem(response, 422)["errors"]
        assert "reason" in f"{error['field']}: {error['message']}"
        assert (await read(client, claim["id"])).json()["status"] == "active"


class TestRevisions:
    async def test_creation_is_revision_one_holding_the_whole_claim(
        self, client: httpx.AsyncClient, claim: dict[str, Any]
    ) -> None:
        [created] = await revisions(client, claim["id"])
        assert (created["number"], created["action"], created["actor"]) == (1, "create", ADMIN_KEY_NAME)
        changes = created["changes"]
        assert {k: changes[k] for k in ("text", "kind", "language", "appeared_in", "stated_at")} == {
            k: claim[k] for k in ("text", "kind", "language", "appeared_in", "stated_at")
        }
        assert [(h["source_id"], h["source_name"], h["cue"], h["role"]) for h in changes["chain"]] == [
            (h["source"]["id"], h["source"]["name"], h["cue"], h["role"]) for h in claim["chain"]
        ]

    async def test_revisions_list_every_change_oldest_first(
        self, client: httpx.AsyncClient, claim: dict[str, Any]
    ) -> None:
        await patch(client, claim["id"], {"text": "Austin placed the call"}, '"1"')
        await patch(client, claim["id"], {"kind": "quote"}, '"2"')
        await retract(client, claim["id"])
        items = await revisions(client, claim["id"])
        assert [(r["number"], r["action"], r["actor"]) for r in items] == [
            (1, "create", ADMIN_KEY_NAME),
            (2, "edit", ADMIN_KEY_NAME),
            (3, "edit", ADMIN_KEY_NAME),
            (4, "retract", ADMIN_KEY_NAME),
        ]
        assert [r["created_at"] for r in items] == sorted(r["created_at"] for r in items)
        assert (await read(client, claim["id"])).headers["etag"] == '"4"'

    async def test_a_created_claim_carries_its_etag(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/claims", json=claim_body("x", hop(inline("Someone"))))
        assert (response.status_code, response.headers["etag"]) == (201, '"1"')


class TestNothingIsDeleted:
    async def test_seed_claims_have_their_creation_revision(self, conn: asyncpg.Connection) -> None:
        report = await seeds.load(conn)
        assert report.claims_added > 0
        missing = await conn.fetchval(
            "SELECT count(*) FROM claims c WHERE NOT EXISTS (SELECT 1 FROM claim_revisions r"
            " WHERE r.claim_id = c.id AND r.number = 1 AND r.action = 'create')"
        )
        assert missing == 0
        before = await conn.fetchval("SELECT count(*) FROM claim_revisions")
        await seeds.load(conn)
        assert await conn.fetchval("SELECT count(*) FROM claim_revisions") == before

    async def test_claims_and_revisions_only_ever_grow(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection, linked: dict[str, dict[str, Any]]
    ) -> None:
        counts: list[tuple[int, int]] = []

        async def count() -> None:
            row = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM claims) AS claims, (SELECT count(*) FROM claim_revisions) AS revisions"
            )
            counts.append((row["claims"], row["revisions"]))

        wire, report = linked["wire"]["id"], linked["report"]["id"]
        await count()
        await patch(client, wire, {"chain": [hop(inline("Reuters", "outlet")), hop(inline("Lloyd Austin"))]}, "*")
        await count()
        await patch(
            client, wire, {"chain": [hop(inline("Reuters", "outlet")), hop(None, upstream_claim_id=report)]}, "*"
        )
        await count()
        await retract(client, report)
        await count()
        await patch(client, report, {"text": "gone?"}, "*")
        await count()
        assert [c for c, _ in counts] == [3] * 5
        assert [r for _, r in counts] == [3, 4, 4, 5, 5]
