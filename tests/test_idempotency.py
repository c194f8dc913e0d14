"""Idempotency-Key: a POST's retries replay its first answer and store nothing new, on every POST."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, NamedTuple

import asyncpg
import httpx
import msgspec
import pytest
from litestar import Litestar, Response

from service.api.idempotency import PURGE_BATCH, RETENTION, RETENTION_HOURS, run_in_savepoint
from service.app import create_app
from service.db import ATTEMPTS
from service.repositories import idempotency as repo
from service.settings import Settings
from tests.helpers import (
    ADMIN_KEY_NAME,
    READING_POSTS,
    TEST_POOLER,
    assert_problem,
    bearer,
    claim_body,
    create_claim,
    create_source,
    hop,
    inline,
    issue_key,
    running,
)

DOCUMENT: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "openapi" / "openapi.json").read_text(encoding="utf-8")
)
POSTS = sorted(
    (path, operation["operationId"])
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if method == "post" and path not in READING_POSTS
)
HEADER = "Idempotency-Key"
REPLAYED = "idempotent-replayed"

# Everything a write can add a row to: a replay must leave every count as it was. An audit entry
# moves from audit_pending to audit_log when sealed, so the two are counted together.
STORED = [
    "claims", "hops", "claim_revisions", "claim_relations", "claim_reviews", "sources", "source_aliases",
    "affiliations", "idempotency_keys",
]  # fmt: skip
AUDIT_ENTRIES = "SELECT (SELECT count(*) FROM audit_log) + (SELECT count(*) FROM audit_pending)"


class Case(NamedTuple):
    """One POST ready to send: its path, a body it accepts, and another body it would accept as well."""

    path: str
    body: dict[str, Any] | bytes
    other: dict[str, Any] | bytes


async def send(
    client: httpx.AsyncClient, path: str, body: dict[str, Any] | bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    """POST a JSON body, or NDJSON bytes (an import)."""
    if isinstance(body, bytes):
        return await client.post(
            path, content=body, headers={**(headers or {}), "content-type": "application/x-ndjson"}
        )
    return await client.post(path, json=body, headers=headers)


def hina_claim(text: str) -> dict[str, Any]:
    return claim_body(text, hop(inline("Hina", "outlet"), "reports"))


async def _create_claim(client: httpx.AsyncClient) -> Case:
    return Case("/claims", hina_claim("The first claim"), hina_claim("Another claim"))


async def _retract_claim(client: httpx.AsyncClient) -> Case:
    claim = await create_claim(client, hina_claim("A claim to retract"))
    return Case(f"/claims/{claim['id']}/retract", {"reason": "misattributed"}, {"reason": "a hoax"})


async def _create_relation(client: httpx.AsyncClient) -> Case:
    claim = await create_claim(client, hina_claim("A claim"))
    target = await create_claim(client, hina_claim("Its target"))
    relation = {"type": "supports", "target_id": target["id"]}
    return Case(f"/claims/{claim['id']}/relations", relation, {**relation, "type": "contradicts"})


async def _create_review(client: httpx.AsyncClient) -> Case:
    claim = await create_claim(client, hina_claim("A claim to review"))
    review = {"reviewer": inline("Snopes", "organization"), "rating": {"label": "False"}}
    return Case(
        f"/claims/{claim['id']}/reviews",
        {**review, "reviewed_at": "2024-06-26T09:00:00Z"},
        {**review, "reviewed_at": "2024-06-27T09:00:00Z"},
    )


async def _create_source(client: httpx.AsyncClient) -> Case:
    return Case("/sources", inline("Patrick Ryder"), inline("Pat Ryder"))


async def _merge_source(client: httpx.AsyncClient) -> Case:
    duplicate = await create_source(client, inline("Mihail Razvozayev"))
    survivor = await create_source(client, inline("Mikhail Razvozhayev"))
    third = await create_source(client, inline("Mikhail Razvozhaev"))
    return Case(f"/sources/{duplicate['id']}/merge", {"into": survivor["id"]}, {"into": third["id"]})


async def _import_claims(client: httpx.AsyncClient) -> Case:
    def ndjson(*texts: str) -> bytes:
        return b"".join(msgspec.json.encode(hina_claim(text)) + b"\n" for text in texts)

    return Case("/claims/import", ndjson("Imported one", "Imported two"), ndjson("Imported three"))


CASES: dict[str, Callable[[httpx.AsyncClient], Awaitable[Case]]] = {
    "importClaims": _import_claims,
    "createClaim": _create_claim,
    "retractClaim": _retract_claim,
    "createClaimRelation": _create_relation,
    "createClaimReview": _create_review,
    "createSource": _create_source,
    "mergeSource": _merge_source,
}


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    """How many rows each table a write can touch holds."""
    counts = {table: await conn.fetchval(f"SELECT count(*) FROM {table}") for table in STORED}
    return {**counts, "audit entries": await conn.fetchval(AUDIT_ENTRIES)}


def assert_replay_of(replay: httpx.Response, first: httpx.Response) -> None:
    """``replay`` is ``first`` again, byte for byte, marked as replayed."""
    assert first.is_success, first.text
    assert REPLAYED not in first.headers
    assert replay.headers[REPLAYED] == "true"
    assert replay.status_code == first.status_code
    assert replay.content == first.content
    assert replay.json().get("id") == first.json().get("id")  # an import's report has none
    for name in ("content-type", "location", "etag"):
        assert replay.headers.get(name) == first.headers.get(name)


@asynccontextmanager
async def holding_lock(pool: asyncpg.Pool, statement: str, *args: Any) -> AsyncIterator[None]:
    """Hold a lock from a connection of our own, in a transaction, until the block ends."""
    async with pool.acquire() as other, other.transaction():
        assert await other.fetchval(statement, *args) in {True, None}
        yield


def test_the_document_has_post_operations() -> None:
    assert {operation_id for _, operation_id in POSTS} >= {"createClaim", "createSource", "mergeSource"}


def test_every_post_of_the_document_is_tested() -> None:
    assert {operation_id for _, operation_id in POSTS} == set(CASES)


@pytest.mark.parametrize(("path", "operation_id"), POSTS)
class TestEveryPost:
    def test_the_document_describes_the_header_its_problems_and_the_replay(self, path: str, operation_id: str) -> None:
        operation = DOCUMENT["paths"][path]["post"]
        [parameter] = [p for p in operation["parameters"] if p["name"] == HEADER]
        assert (parameter["in"], parameter["required"]) == ("header", False)
        assert parameter["schema"]["pattern"]
        assert {"409", "422"} <= set(operation["responses"])
        assert "Idempotency-Key" in operation["responses"]["409"]["description"]
        assert "Idempotency-Key" in operation["responses"]["422"]["description"]
        [success] = [status for status in operation["responses"] if status.startswith("2")]
        assert "Idempotent-Replayed" in operation["responses"][success]["headers"]

    async def test_the_same_key_and_body_replay_the_first_answer_and_store_nothing(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection, path: str, operation_id: str
    ) -> None:
        case = await CASES[operation_id](client)
        first = await send(client, case.path, case.body, headers={HEADER: f"{operation_id}-1"})
        stored = await counts(conn)
        assert stored["idempotency_keys"] == 1
        for _ in range(2):
            replay = await send(client, case.path, case.body, headers={HEADER: f"{operation_id}-1"})
            assert_replay_of(replay, first)
        assert await counts(conn) == stored

    async def test_the_same_key_with_another_body_is_422(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection, path: str, operation_id: str
    ) -> None:
        case = await CASES[operation_id](client)
        first = await send(client, case.path, case.body, headers={HEADER: "reused"})
        assert first.is_success, first.text
        stored = await counts(conn)
        problem = assert_problem(await send(client, case.path, case.other, headers={HEADER: "reused"}), 422)
        assert problem["errors"] == [{"field": HEADER, "message": "already used for another request"}]
        assert await counts(conn) == stored

    async def test_while_the_first_request_runs_a_retry_is_409(
        self, app: Litestar, client: httpx.AsyncClient, conn: asyncpg.Connection, path: str, operation_id: str
    ) -> None:
        case = await CASES[operation_id](client)
        stored = await counts(conn)
        async with holding_lock(app.state.pool, repo.TRY_LOCK, ADMIN_KEY_NAME, "in-flight"):
            response = await send(client, case.path, case.body, headers={HEADER: "in-flight"})
            assert_problem(response, 409)
            assert response.headers["retry-after"] == "1"
            assert await counts(conn) == stored
        first = await send(client, case.path, case.body, headers={HEADER: "in-flight"})
        assert first.is_success and REPLAYED not in first.headers, first.text

    async def test_without_the_header_nothing_is_kept(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection, path: str, operation_id: str
    ) -> None:
        case = await CASES[operation_id](client)
        response = await send(client, case.path, case.body)
        assert response.is_success and REPLAYED not in response.headers, response.text
        assert (await counts(conn))["idempotency_keys"] == 0


class TestReplays:
    async def test_a_quoted_key_is_the_same_key_as_the_bare_one(self, client: httpx.AsyncClient) -> None:
        first = await client.post("/claims", json=hina_claim("x"), headers={HEADER: '"8e03978e-40d5-43e8"'})
        assert_replay_of(
            await client.post("/claims", json=hina_claim("x"), headers={HEADER: "8e03978e-40d5-43e8"}), first
        )

    async def test_a_replayed_write_has_one_audit_entry(self, client: httpx.AsyncClient) -> None:
        first = await client.post("/claims", json=hina_claim("x"), headers={HEADER: "audited"})
        for _ in range(3):
            assert_replay_of(await client.post("/claims", json=hina_claim("x"), headers={HEADER: "audited"}), first)
        entries = (await client.get("/audit", params={"entity": first.json()["id"]})).json()["items"]
        assert [(e["action"], e["entity_type"]) for e in entries] == [("create", "claim")]

    async def test_the_replay_is_the_first_answer_even_after_the_claim_changed(self, client: httpx.AsyncClient) -> None:
        first = await client.post("/claims", json=hina_claim("x"), headers={HEADER: "then-edited"})
        claim_id = first.json()["id"]
        edited = await client.patch(f"/claims/{claim_id}", json={"kind": "quote"}, headers={"If-Match": '"1"'})
        assert edited.status_code == 200, edited.text
        replay = await client.post("/claims", json=hina_claim("x"), headers={HEADER: "then-edited"})
        assert_replay_of(replay, first)
        assert (replay.json()["kind"], replay.headers["etag"]) == ("paraphrase", '"1"')

    async def test_the_same_key_on_another_operation_is_422(self, client: httpx.AsyncClient) -> None:
        assert (await client.post("/claims", json=hina_claim("x"), headers={HEADER: "one-write"})).status_code == 201
        response = await client.post("/sources", json=inline("Patrick Ryder"), headers={HEADER: "one-write"})
        assert_problem(response, 422)

    async def test_the_body_is_compared_byte_for_byte(self, client: httpx.AsyncClient) -> None:
        body = hina_claim("x")
        first = await client.post("/claims", content=json.dumps(body), headers={HEADER: "bytes"})
        assert first.status_code == 201, first.text
        spaced = json.dumps(body, indent=2)
        assert_problem(await client.post("/claims", content=spaced, headers={HEADER: "bytes"}), 422)

    async def test_after_a_restart_the_answer_is_replayed(self, database_url: str, admin_key: str) -> None:
        settings = Settings(
            database_url=database_url, pooler=TEST_POOLER, read_rate_limit_per_minute=0, write_rate_limit_per_minute=0
        )
        answers = []
        for _ in range(2):
            async with running(create_app(settings)) as instance:
                transport = httpx.ASGITransport(app=instance)
                async with httpx.AsyncClient(
                    transport=transport, base_url="http://test", headers=bearer(admin_key)
                ) as http:
                    answers.append(await http.post("/claims", json=hina_claim("x"), headers={HEADER: "restart"}))
        assert_replay_of(answers[1], answers[0])


class TestWhatIsStored:
    async def test_keys_are_scoped_per_api_key(
        self, app: Litestar, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        writer = await issue_key(app.state.pool, "second-desk", "write")
        mine = await client.post("/claims", json=hina_claim("x"), headers={HEADER: "shared"})
        theirs = await client.post("/claims", json=hina_claim("x"), headers={HEADER: "shared", **bearer(writer)})
        assert mine.status_code == theirs.status_code == 201
        assert REPLAYED not in theirs.headers
        assert mine.json()["id"] != theirs.json()["id"]
        assert await conn.fetchval("SELECT count(*) FROM claims") == 2

    async def test_a_failed_write_stores_no_key_so_a_corrected_retry_runs(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        broken = hina_claim(" ")
        for _ in range(2):
            assert_problem(await client.post("/claims", json=broken, headers={HEADER: "fix-me"}), 422)
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 0
        corrected = await client.post("/claims", json=hina_claim("x"), headers={HEADER: "fix-me"})
        assert corrected.status_code == 201 and REPLAYED not in corrected.headers, corrected.text
        assert await conn.fetchval("SELECT count(*) FROM claims") == 1

    async def test_an_expired_key_is_a_new_key(self, client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
        first = await client.post("/claims", json=hina_claim("x"), headers={HEADER: "old"})
        await conn.execute("UPDATE idempotency_keys SET created_at = created_at - make_interval(hours => $1)", 25)
        again = await client.post("/claims", json=hina_claim("x"), headers={HEADER: "old"})
        assert again.status_code == 201 and REPLAYED not in again.headers, again.text
        assert again.json()["id"] != first.json()["id"]
        other = await client.post("/claims", json=hina_claim("y"), headers={HEADER: "old"})
        assert_problem(other, 422)  # the key now answers the second write, for another day
        assert_replay_of(await client.post("/claims", json=hina_claim("x"), headers={HEADER: "old"}), again)

    async def test_a_key_is_kept_until_the_retention_ends(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        first = await client.post("/claims", json=hina_claim("x"), headers={HEADER: "kept"})
        almost = (
            "UPDATE idempotency_keys SET created_at = created_at - make_interval(hours => $1) + interval '1 minute'"
        )
        await conn.execute(almost, RETENTION_HOURS)
        assert_replay_of(await client.post("/claims", json=hina_claim("x"), headers={HEADER: "kept"}), first)

    async def test_writes_purge_expired_keys(self, client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
        for i in range(3):
            assert (await client.post("/claims", json=hina_claim(f"{i}"), headers={HEADER: f"k{i}"})).status_code == 201
        await conn.execute("UPDATE idempotency_keys SET created_at = created_at - make_interval(hours => $1)", 25)
        assert (await client.post("/claims", json=hina_claim("new"), headers={HEADER: "fresh"})).status_code == 201
        assert [r["key"] for r in await conn.fetch("SELECT key FROM idempotency_keys")] == ["fresh"]

    async def test_a_purge_deletes_one_batch_at_most(self, conn: asyncpg.Connection, admin_key: str) -> None:
        await conn.execute(
            "INSERT INTO idempotency_keys (api_key, key, fingerprint, status, headers, media_type, body, created_at)"
            " SELECT $1, 'k' || n, sha256(''), 201, '{}', 'application/json', '', now() - interval '2 days'"
            "   FROM generate_series(1, $2) AS n",
            ADMIN_KEY_NAME,
            PURGE_BATCH + 5,
        )
        async with conn.transaction():
            assert await repo.purge(conn, RETENTION, PURGE_BATCH) == PURGE_BATCH
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 5


@pytest.mark.parametrize(
    "value",
    ["", " ", "two words", "x" * 256, '"x', 'x"y', "back\\slash", '""', f'"{"x" * 256}"', "tab\there"],
)
async def test_a_malformed_key_is_422_and_stores_nothing(
    client: httpx.AsyncClient, conn: asyncpg.Connection, value: str
) -> None:
    assert_problem(await client.post("/claims", json=hina_claim("x"), headers={HEADER: value}), 422, field=HEADER)
    assert await conn.fetchval("SELECT count(*) FROM claims") == 0


async def test_a_non_ascii_key_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post("/claims", json=hina_claim("x"), headers={HEADER: "clé".encode()})
    assert_problem(response, 422)


async def test_the_longest_key_is_accepted(client: httpx.AsyncClient) -> None:
    key = "k" * 255
    first = await client.post("/claims", json=hina_claim("x"), headers={HEADER: key})
    assert_replay_of(await client.post("/claims", json=hina_claim("x"), headers={HEADER: f'"{key}"'}), first)


async def test_without_the_header_a_post_runs_every_time(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    ids = {(await create_claim(client, hina_claim("x")))["id"] for _ in range(2)}
    assert len(ids) == 2
    assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 0


class TestConcurrency:
    async def test_fifty_concurrent_requests_with_one_key_store_one_claim(
        self, app: Litestar, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        answers = await asyncio.gather(
            *(client.post("/claims", json=hina_claim("x"), headers={HEADER: "fifty"}) for _ in range(50))
        )
        statuses = sorted(a.status_code for a in answers)
        assert set(statuses) <= {201, 409}, statuses
        created = [a for a in answers if a.status_code == 201]
        [first] = [a for a in created if REPLAYED not in a.headers]
        for answer in created:
            assert answer.content == first.content
        for answer in answers:
            if answer.status_code == 409:
                assert_problem(answer, 409)
        assert await conn.fetchval("SELECT count(*) FROM claims") == 1
        await app.state.sealer.seal()
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE entity_type = 'claim'") == 1
        assert await conn.fetchval("SELECT count(*) FROM idempotency_keys") == 1
        assert_replay_of(await client.post("/claims", json=hina_claim("x"), headers={HEADER: "fifty"}), first)

    async def test_a_retry_while_the_first_write_waits_is_409_then_a_replay(
        self, app: Litestar, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        # The first request holds its key while it waits to insert its claim: another connection holds
        # the table in SHARE mode, which refuses inserts until it commits.
        async with holding_lock(app.state.pool, "LOCK TABLE claims IN SHARE MODE"):
            slow = asyncio.create_task(client.post("/claims", json=hina_claim("x"), headers={HEADER: "slow"}))
            await wait_until_waiting_for_a_lock(conn)
            retry = await client.post("/claims", json=hina_claim("x"), headers={HEADER: "slow"})
            assert_problem(retry, 409)
            assert retry.headers["retry-after"] == "1"
            assert not slow.done()
        first = await slow
        assert first.status_code == 201, first.text
        assert_replay_of(await client.post("/claims", json=hina_claim("x"), headers={HEADER: "slow"}), first)
        assert await conn.fetchval("SELECT count(*) FROM claims") == 1


async def wait_until_waiting_for_a_lock(conn: asyncpg.Connection, within: float = 10) -> None:
    """Poll until a backend of this database waits for a lock; fail after ``within`` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    query = (
        "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
        " WHERE NOT l.granted AND a.datname = current_database()"
    )
    while not await conn.fetchval(query):
        assert asyncio.get_running_loop().time() < deadline, "the first request never waited for the lock"
        await asyncio.sleep(0.01)


class TestSavepointRetries:
    async def test_a_deadlocked_write_runs_again_and_the_key_stays_locked(
        self, app: Litestar, conn: asyncpg.Connection
    ) -> None:
        rivals: list[asyncio.Task[None]] = []
        async with app.state.pool.acquire() as rival, app.state.pool.acquire() as writer:

            async def rival_takes_2_then_1() -> None:
                async with rival.transaction():
                    await rival.execute("SET LOCAL deadlock_timeout = '10s'")  # the writer detects the deadlock
                    await rival.execute("SELECT pg_advisory_xact_lock(2)")
                    await rival.execute("SELECT pg_advisory_xact_lock(1)")

            async def write(connection: asyncpg.Connection) -> Response[Any]:
                # Lock 1 then 2, while the rival takes 2 then 1: the first attempt deadlocks.
                await connection.execute("SELECT pg_advisory_xact_lock(1)")
                if not rivals:
                    rivals.append(asyncio.create_task(rival_takes_2_then_1()))
                    await wait_until_waiting_for_a_lock(conn)
                await connection.execute("SELECT pg_advisory_xact_lock(2)")
                return Response(len(rivals))

            async with writer.transaction():
                await writer.execute("SET LOCAL deadlock_timeout = '10ms'")
                assert await repo.try_lock(writer, ADMIN_KEY_NAME, "deadlocked")
                answer = await run_in_savepoint(writer, write)
                assert await writer.fetchval("SELECT 1") == 1  # the transaction lives on
                assert not await repo.try_lock(conn, ADMIN_KEY_NAME, "deadlocked")
            await rivals[0]
        assert answer.content == 1
        assert ATTEMPTS >= 2

    async def test_a_write_deadlocked_every_time_fails_after_the_last_attempt(self, conn: asyncpg.Connection) -> None:
        attempts = 0

        async def write(connection: asyncpg.Connection) -> Response[Any]:
            nonlocal attempts
            attempts += 1
            raise asyncpg.DeadlockDetectedError("rolled back by the server")

        with pytest.raises(asyncpg.DeadlockDetectedError):
            async with conn.transaction():
                await run_in_savepoint(conn, write)
        assert attempts == ATTEMPTS
