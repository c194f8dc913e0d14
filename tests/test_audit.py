"""The audit log: one entry per write, read by entity, its head, and a chain that shows tampering."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import msgspec
import pytest
from litestar import Litestar

from service.app import create_app
from service.domain import audit, claims, keys
from service.settings import Settings
from tests.helpers import (
    ADMIN_KEY_NAME,
    TEST_POOLER,
    assert_problem,
    bearer,
    claim_body,
    connect,
    create_claim,
    create_source,
    fresh_app,
    hop,
    inline,
    issue_key,
    running,
    ryder_story,
)

WRITERS = 100


async def entries(client: httpx.AsyncClient, **params: Any) -> list[dict[str, Any]]:
    """Every entry ``GET /audit`` serves (one page of up to 200), oldest first."""
    response = await client.get("/audit", params={"limit": 200, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def head(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/audit/head")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def verify(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/audit/verify")
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def appended(client: httpx.AsyncClient, before: int) -> dict[str, Any]:
    """The one entry appended since the log held ``before`` entries; fails on none or several."""
    new = [e for e in await entries(client) if e["seq"] > before]
    assert len(new) == 1, new
    return new[0]


async def size(client: httpx.AsyncClient) -> int:
    entries_count: int = (await head(client))["entries"]
    return entries_count


def ryder_claim(text: str = "Austin initiated the call") -> dict[str, Any]:
    """The seed story as Hina reports it without naming Reuters."""
    return ryder_story(text, wire=None, role=None)


class TestEachWriteAppendsOneEntry:
    async def test_creating_a_claim(self, client: httpx.AsyncClient) -> None:
        before = await size(client)
        claim = await create_claim(client, ryder_claim())
        entry = await appended(client, before)
        assert (entry["actor"], entry["action"], entry["entity_type"]) == (ADMIN_KEY_NAME, "create", "claim")
        assert entry["entity_id"] == claim["id"]
        assert entry["change"]["text"] == "Austin initiated the call"
        assert [h["source_id"] for h in entry["change"]["chain"]] == [h["source"]["id"] for h in claim["chain"]]

    async def test_editing_a_claim_records_what_changed(self, client: httpx.AsyncClient) -> None:
        claim = await create_claim(client, ryder_claim())
        before = await size(client)
        response = await client.patch(f"/claims/{claim['id']}", json={"kind": "quote"}, headers={"If-Match": '"1"'})
        assert response.status_code == 200, response.text
        entry = await appended(client, before)
        assert (entry["action"], entry["entity_id"]) == ("edit", claim["id"])
        assert entry["change"] == {"kind": {"from": "paraphrase", "to": "quote"}}

    async def test_retracting_a_claim(self, client: httpx.AsyncClient) -> None:
        claim = await create_claim(client, ryder_claim())
        before = await size(client)
        response = await client.post(f"/claims/{claim['id']}/retract", json={"reason": "misattributed"})
        assert response.status_code == 200, response.text
        entry = await appended(client, before)
        assert (entry["action"], entry["entity_id"], entry["change"]["reason"]) == (
            "retract",
            claim["id"],
            "misattributed",
        )

    async def test_a_claims_entries_record_what_its_revisions_do(self, client: httpx.AsyncClient) -> None:
        claim = await create_claim(client, ryder_claim())
        edited = await client.patch(f"/claims/{claim['id']}", json={"kind": "quote"}, headers={"If-Match": '"1"'})
        assert edited.status_code == 200, edited.text
        retracted = await client.post(f"/claims/{claim['id']}/retract", json={"reason": "misattributed"})
        assert retracted.status_code == 200, retracted.text
        revisions = (await client.get(f"/claims/{claim['id']}/revisions")).json()["items"]
        recorded = [(e["actor"], e["action"], e["change"]) for e in await entries(client, entity=claim["id"])]
        assert recorded == [(r["actor"], r["action"], r["changes"]) for r in revisions]
        assert [r["action"] for r in revisions] == ["create", "edit", "retract"]

    async def test_creating_editing_and_merging_sources(self, client: httpx.AsyncClient) -> None:
        before = await size(client)
        ryder = await create_source(client, inline("Patrick Ryder"))
        created = await appended(client, before)
        assert (created["actor"], created["action"], created["entity_type"], created["entity_id"]) == (
            ADMIN_KEY_NAME,
            "create",
            "source",
            ryder["id"],
        )

        response = await client.patch(
            f"/sources/{ryder['id']}", json={"aliases": ["Pat Ryder"]}, headers={"If-Match": '"1"'}
        )
        assert response.status_code == 200, response.text
        edited = await appended(client, before + 1)
        assert (edited["action"], edited["change"]) == ("edit", {"aliases": {"from": [], "to": ["Pat Ryder"]}})

        duplicate = await create_source(client, inline("P. Ryder"))
        response = await client.post(f"/sources/{duplicate['id']}/merge", json={"into": ryder["id"]})
        assert response.status_code == 200, response.text
        merged = await appended(client, before + 3)
        assert (merged["action"], merged["entity_id"], merged["change"]) == (
            "merge",
            duplicate["id"],
            {"into": ryder["id"]},
        )

    async def test_relating_claims(self, client: httpx.AsyncClient) -> None:
        first = await create_claim(client, ryder_claim())
        second = await create_claim(client, ryder_claim("Austin placed the call"))
        before = await size(client)
        response = await client.post(
            f"/claims/{first['id']}/relations", json={"type": "supports", "target_id": second["id"]}
        )
        assert response.status_code == 201, response.text
        entry = await appended(client, before)
        assert (entry["entity_type"], entry["entity_id"]) == ("relation", response.json()["id"])
        assert (entry["change"]["claim_id"], entry["change"]["target_id"]) == (first["id"], second["id"])

    async def test_reviewing_a_claim(self, client: httpx.AsyncClient) -> None:
        claim = await create_claim(client, ryder_claim())
        before = await size(client)
        body = {"reviewer": inline("FactCheck Desk", "organization"), "rating": {"label": "True"}}
        response = await client.post(
            f"/claims/{claim['id']}/reviews", json={**body, "reviewed_at": "2024-06-26T09:00:00Z"}
        )
        assert response.status_code == 201, response.text
        entry = await appended(client, before)
        assert (entry["entity_type"], entry["entity_id"]) == ("review", response.json()["id"])
        assert entry["change"]["claim_id"] == claim["id"]

    async def test_making_and_revoking_a_key_is_the_cli(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        before = await size(client)
        await keys.create(conn, "desk-anna", "write")
        made = await appended(client, before)
        await keys.revoke(conn, "desk-anna")
        revoked = await appended(client, before + 1)
        assert [(e["actor"], e["action"], e["entity_type"]) for e in (made, revoked)] == [
            ("cli", "create", "api_key"),
            ("cli", "revoke", "api_key"),
        ]
        assert made["entity_id"] == revoked["entity_id"]
        assert made["change"] == {"name": "desk-anna", "scope": "write"}


async def test_an_entry_outside_the_transaction_of_its_write_is_refused(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    claim = await create_claim(client, ryder_claim())
    with pytest.raises(RuntimeError, match="in the transaction of its write"):
        await claims.record(conn, UUID(claim["id"]), number=2, action="edit", changes={}, actor=None)
    with pytest.raises(RuntimeError, match="in the transaction of its write"):
        await audit.append(conn, actor=None, action="edit", entity_type="claim", entity_id=UUID(claim["id"]), change={})


async def test_a_refused_write_appends_nothing(client: httpx.AsyncClient) -> None:
    before = await head(client)
    body = claim_body("x", hop(inline("A new outlet", "outlet")), hop("00000000-0000-0000-0000-000000000000"))
    assert (await client.post("/claims", json=body)).status_code == 422
    assert await head(client) == before


async def test_an_edit_changing_nothing_appends_nothing(client: httpx.AsyncClient) -> None:
    claim = await create_claim(client, ryder_claim())
    before = await head(client)
    response = await client.patch(f"/claims/{claim['id']}", json={"kind": "paraphrase"}, headers={"If-Match": '"1"'})
    assert response.status_code == 200, response.text
    assert await head(client) == before


async def test_entity_keeps_the_entries_of_one_entity_oldest_first(client: httpx.AsyncClient) -> None:
    claim = await create_claim(client, ryder_claim())
    await create_claim(client, ryder_claim("Austin placed the call"))
    await client.post(f"/claims/{claim['id']}/retract", json={"reason": "misattributed"})
    found = await entries(client, entity=claim["id"])
    assert [(e["entity_id"], e["action"]) for e in found] == [(claim["id"], "create"), (claim["id"], "retract")]
    assert found[0]["seq"] < found[1]["seq"]


async def test_entity_that_is_not_an_id_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get("/audit", params={"entity": "nope"})
    assert_problem(response, 422, field="entity")


async def test_pages_follow_the_cursor_and_link(client: httpx.AsyncClient) -> None:
    for n in range(3):
        await create_claim(client, ryder_claim(f"Statement {n}"))
    first = await client.get("/audit", params={"limit": 2})
    assert first.json()["next_cursor"] and 'rel="next"' in first.headers["Link"]
    second = await client.get("/audit", params={"limit": 2, "cursor": first.json()["next_cursor"]})
    seqs = [e["seq"] for e in first.json()["items"] + second.json()["items"]]
    assert seqs == [1, 2, 3, 4]


async def test_entries_chain_by_hash_and_head_is_the_last_one(client: httpx.AsyncClient) -> None:
    await create_claim(client, ryder_claim())
    await create_source(client, inline("Belousov"))
    log = await entries(client)
    assert log[0]["prev_hash"] is None
    for before, entry in itertools.pairwise(log):
        assert entry["prev_hash"] == before["hash"]
    assert await head(client) == {"entries": len(log), "head": log[-1]["hash"]}


async def test_verify_answers_ok_on_an_untouched_log(client: httpx.AsyncClient) -> None:
    await create_claim(client, ryder_claim())
    assert await verify(client) == {"ok": True, "entries": 2, "head": (await head(client))["head"]}


async def test_stored_body_is_the_hashed_bytes(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    await create_claim(client, ryder_claim())
    await head(client)  # reading the log seals what is pending
    rows = await conn.fetch("SELECT seq, body, prev_hash, hash, revision FROM audit_log WHERE revision IS NULL")
    assert rows  # the key's entry
    for row in rows:
        assert hashlib.sha256((row["prev_hash"] or b"") + row["body"]).digest() == row["hash"]
        assert msgspec.json.decode(row["body"])["seq"] == row["seq"]


async def test_a_claims_entry_hashes_its_revisions_bytes_and_stores_no_copy_of_them(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    claim = await create_claim(client, ryder_claim())
    await head(client)
    row = await conn.fetchrow(
        "SELECT a.seq, a.actor, a.at, a.action, a.body, a.revision, a.prev_hash, a.hash, r.changes::text AS change"
        " FROM audit_log a JOIN claim_revisions r ON r.claim_id = a.entity_id AND r.number = a.revision"
        " WHERE a.entity_id = $1",
        UUID(claim["id"]),
    )
    assert row is not None and row["body"] is None and row["revision"] == 1
    # The body as the entry's fields and the revision's bytes make it, written out here by hand.
    at = row["at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    body = (
        f'{{"action":"create","actor":"{row["actor"]}","at":"{at}","change":{row["change"]},'
        f'"entity_id":"{claim["id"]}","entity_type":"claim","seq":{row["seq"]}}}'
    ).encode()
    assert hashlib.sha256(row["prev_hash"] + body).digest() == row["hash"]
    served = (await entries(client, entity=claim["id"]))[0]
    assert served["change"] == msgspec.json.decode(row["change"]) and served["change"]["text"] == claim["text"]


@pytest.mark.parametrize(
    "statement",
    ["UPDATE claim_revisions SET actor = 'someone else'", "DELETE FROM claim_revisions"],
)
async def test_the_database_refuses_to_change_a_revision(
    client: httpx.AsyncClient, conn: asyncpg.Connection, statement: str
) -> None:
    await create_claim(client, ryder_claim())
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await conn.execute(statement)
    assert (await verify(client))["ok"] is True


@pytest.mark.parametrize(
    "statement",
    ["UPDATE audit_log SET actor = 'someone else'", "DELETE FROM audit_log", "TRUNCATE audit_log"],
)
async def test_the_database_refuses_to_change_the_log(
    client: httpx.AsyncClient, conn: asyncpg.Connection, statement: str
) -> None:
    await create_claim(client, ryder_claim())
    await head(client)
    with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
        await conn.execute(statement)
    assert (await verify(client))["ok"] is True


async def tamper(database_url: str, *statements: str) -> None:
    """Run ``statements`` as a superuser would, with the log's triggers off for their transaction alone (a
    session's SET would outlive it behind PgBouncer, on a server connection other clients get next)."""
    superuser = await connect(database_url)
    try:
        async with superuser.transaction():
            await superuser.execute("SET LOCAL session_replication_role = replica")
            for statement in statements:
                await superuser.execute(statement)
    finally:
        await superuser.close()


async def test_verify_names_the_first_entry_a_superuser_changed(client: httpx.AsyncClient, database_url: str) -> None:
    for n in range(4):
        await create_claim(client, ryder_claim(f"Statement {n}"))
    await head(client)
    await tamper(
        database_url,
        # Entry 1 is the key's, the only one with a body of its own; a claim's is rebuilt from its revision.
        "UPDATE audit_log SET body = set_byte(body, 20, get_byte(body, 20) # 1) WHERE seq = 1",
        "DELETE FROM audit_log WHERE seq = 4",
    )
    answer = await verify(client)
    assert {k: answer[k] for k in ("ok", "entries", "broken_at")} == {"ok": False, "entries": 0, "broken_at": 1}
    assert "hash" in answer["reason"]


async def test_verify_names_a_deleted_entry(client: httpx.AsyncClient, database_url: str) -> None:
    for n in range(3):
        await create_claim(client, ryder_claim(f"Statement {n}"))
    await head(client)
    await tamper(database_url, "DELETE FROM audit_log WHERE seq = 2")
    answer = await verify(client)
    assert (answer["ok"], answer["broken_at"]) == (False, 2)
    assert "missing" in answer["reason"]


@pytest.mark.parametrize(
    ("statement", "reason"),
    [
        # one character of the snapshot
        ("UPDATE claim_revisions SET changes = replace(changes::text, 'Statement 1', 'Statement 7')::json"
         " WHERE changes::text LIKE '%Statement 1%'", "claim revision 1"),
        # the same JSON written otherwise: other bytes
        ("UPDATE claim_revisions SET changes = changes::jsonb::json WHERE changes::text LIKE '%Statement 1%'",
         "claim revision 1"),
        ("DELETE FROM claim_revisions WHERE changes::text LIKE '%Statement 1%'", "missing"),
    ],
)  # fmt: skip
async def test_verify_names_the_entry_whose_claim_revision_a_superuser_changed(
    client: httpx.AsyncClient, database_url: str, statement: str, reason: str
) -> None:
    for n in range(3):
        await create_claim(client, ryder_claim(f"Statement {n}"))
    await head(client)
    await tamper(database_url, statement)
    answer = await verify(client)
    # Entries: the key's, then one per claim: Statement 1's is the third.
    assert {k: answer[k] for k in ("ok", "entries", "broken_at")} == {"ok": False, "entries": 2, "broken_at": 3}
    assert reason in answer["reason"]


@pytest.mark.parametrize(
    ("seq", "reason"),
    [(1, "its stored actor differ from its hashed body"), (2, "its fields and claim revision 1's bytes")],
)
async def test_verify_notices_a_column_changed_without_its_body(
    client: httpx.AsyncClient, database_url: str, seq: int, reason: str
) -> None:
    await create_claim(client, ryder_claim())
    await head(client)
    # Entry 1, the key's, keeps its body: the column no longer says what it says. Entry 2, the claim's, is
    # rebuilt from its columns: the hash no longer holds.
    await tamper(database_url, f"UPDATE audit_log SET actor = 'someone else' WHERE seq = {seq}")
    answer = await verify(client)
    assert (answer["ok"], answer["broken_at"]) == (False, seq)
    assert reason in answer["reason"]


@pytest.fixture
async def roomy_app(database_url: str, app: Litestar) -> AsyncIterator[Litestar]:
    """An app with a pool for many concurrent writers (tables emptied by ``app``)."""
    async with fresh_app(database_url, pool_max_size=20, acquire_timeout=60) as application:
        yield application


async def test_concurrent_writers_leave_the_log_contiguous_and_linear(roomy_app: Litestar) -> None:
    secret = await issue_key(roomy_app.state.pool, "many-writers", "write")
    transport = httpx.ASGITransport(app=roomy_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=bearer(secret)) as http:
        responses = await asyncio.gather(
            *(http.post("/claims", json=ryder_claim(f"Claim {n}")) for n in range(WRITERS))
        )
        assert [r.status_code for r in responses] == [201] * WRITERS
        await roomy_app.state.sealer.seal()
        async with roomy_app.state.pool.acquire() as conn:
            rows = await conn.fetch("SELECT seq, prev_hash, hash FROM audit_log ORDER BY seq")
        assert [r["seq"] for r in rows] == list(range(1, WRITERS + 2))  # the key, then every claim
        assert all(r["prev_hash"] == before["hash"] for before, r in itertools.pairwise(rows))
        verified = (await http.get("/audit/verify")).json()
        assert verified == {"ok": True, "entries": WRITERS + 1, "head": rows[-1]["hash"].hex()}


async def stored_counts(conn: asyncpg.Connection) -> tuple[int, int]:
    """How many entries are sealed in the log and how many wait to be, read in one snapshot: read apart, an
    entry the sealer moved between the two reads was counted in neither."""
    row = await conn.fetchrow("SELECT (SELECT count(*) FROM audit_log), (SELECT count(*) FROM audit_pending)")
    return row[0], row[1]


async def until_sealed(conn: asyncpg.Connection, entries: int, seconds: float = 5.0) -> None:
    """Wait, without reading the log through the API (which seals), until ``entries`` are sealed."""
    for _ in range(int(seconds / 0.05)):
        if await stored_counts(conn) == (entries, 0):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not sealed in {seconds} s: {await stored_counts(conn)}")


class TestSealing:
    async def test_a_write_commits_its_entry_and_a_refused_write_none(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        await head(client)
        before = sum(await stored_counts(conn))
        await create_claim(client, ryder_claim())
        assert sum(await stored_counts(conn)) == before + 1
        refused = await client.post("/claims", json=claim_body("No chain"))
        assert refused.status_code == 422
        assert sum(await stored_counts(conn)) == before + 1

    async def test_the_app_seals_after_a_write_without_anyone_reading(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        await create_claim(client, ryder_claim())
        await until_sealed(conn, 2)  # the key's entry and the claim's

    async def test_writes_answered_together_share_seals_and_every_entry_is_sealed(
        self, app: Litestar, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        sealer = app.state.sealer
        seals = 0
        seal = sealer.seal

        async def counted() -> int:
            nonlocal seals
            seals += 1
            return await seal()

        sealer.seal = counted
        writes = 12
        for n in range(writes):
            await create_claim(client, ryder_claim(f"Burst {n}"))
        await until_sealed(conn, writes + 1)  # the key's entry and every claim's
        # One seal a write would be 12; GATHER_SECONDS (0.05 s) apart, 12 writes of a few milliseconds
        # each share a handful (and the idle second's may add one).
        assert seals < writes / 2, seals

    async def test_entries_another_process_left_pending_are_sealed_in_the_order_written(
        self, database_url: str, app: Litestar, conn: asyncpg.Connection
    ) -> None:
        writer = await connect(database_url)
        try:
            for n in range(3):
                await keys.create(writer, f"left-{n}", "read")
        finally:
            await writer.close()
        before = await conn.fetchval("SELECT count(*) FROM audit_log")
        settings = Settings(
            database_url=database_url, pooler=TEST_POOLER, read_rate_limit_per_minute=0, write_rate_limit_per_minute=0
        )
        async with running(create_app(settings)):
            await until_sealed(conn, before + 3)
        rows = await conn.fetch("SELECT seq, body FROM audit_log WHERE seq > $1 ORDER BY seq", before)
        bodies = [msgspec.json.decode(r["body"]) for r in rows]
        assert [b["change"]["name"] for b in bodies] == ["left-0", "left-1", "left-2"]
        assert [b["seq"] for b in bodies] == [before + 1, before + 2, before + 3]
        assert [b["at"] for b in bodies] == sorted(b["at"] for b in bodies)

    async def test_a_pending_entry_cannot_be_changed(self, client: httpx.AsyncClient, database_url: str) -> None:
        writer = await connect(database_url)
        try:
            await keys.create(writer, "pending-one", "read")
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="never changed"):
                await writer.execute("UPDATE audit_pending SET actor = 'someone else'")
        finally:
            await writer.close()
        assert (await verify(client))["ok"] is True
