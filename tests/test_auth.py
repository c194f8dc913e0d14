"""API keys: every write needs a write key (merges an admin one), reads are public unless turned off,
every write records its key's name, and ``provenance keys`` makes, lists and revokes keys."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from service.app import create_app
from service.domain import keys
from service.settings import Settings
from tests.helpers import (
    ADMIN_KEY_NAME,
    READING_POSTS,
    assert_problem,
    bearer,
    claim_body,
    create_claim,
    hop,
    inline,
    issue_key,
    running,
)

DOCUMENT: dict[str, Any] = json.loads(
    (Path(__file__).resolve().parent.parent / "openapi" / "openapi.json").read_text(encoding="utf-8")
)
WRITE_METHODS = {"post", "put", "patch", "delete"}
WRITES = sorted(
    (method, path, operation["operationId"])
    for path, item in DOCUMENT["paths"].items()
    for method, operation in item.items()
    if method in WRITE_METHODS and path not in READING_POSTS
)
ADMIN_ONLY = {"mergeSource"}
REALM = 'Bearer realm="provenance"'


def concrete(path: str) -> str:
    """The documented path with every parameter filled by a random id."""
    parts = [str(uuid.uuid4()) if part.startswith("{") else part for part in path.split("/")]
    return "/".join(parts)


async def call(client: httpx.AsyncClient, method: str, path: str, **headers: str) -> httpx.Response:
    return await client.request(method.upper(), concrete(path), json={}, headers=headers)


async def stored_claim_count(conn: asyncpg.Connection) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM claims")
    return count


def test_the_document_has_write_operations() -> None:
    assert len(WRITES) >= 8
    assert {op for _, _, op in WRITES} >= {"createClaim", "updateClaim", "mergeSource", "createClaimReview"}


@pytest.mark.parametrize(("method", "path", "operation_id"), WRITES)
class TestEveryWriteIsGuarded:
    async def test_without_a_key_it_is_401_with_www_authenticate(
        self, anonymous_client: httpx.AsyncClient, method: str, path: str, operation_id: str
    ) -> None:
        response = await call(anonymous_client, method, path)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == REALM

    @pytest.mark.parametrize(
        "authorization",
        ["prov_x", "Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Bearer two words", "Token prov_abc", "Bearer not-ours"],
    )
    async def test_with_a_malformed_header_it_is_401(
        self, anonymous_client: httpx.AsyncClient, method: str, path: str, operation_id: str, authorization: str
    ) -> None:
        response = await call(anonymous_client, method, path, Authorization=authorization)
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == f'{REALM}, error="invalid_token"'

    async def test_with_an_unknown_key_it_is_401(
        self, anonymous_client: httpx.AsyncClient, method: str, path: str, operation_id: str
    ) -> None:
        response = await call(anonymous_client, method, path, **bearer(keys.new_secret()))
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == f'{REALM}, error="invalid_token"'

    async def test_with_a_revoked_key_it_is_401(
        self, app: Litestar, anonymous_client: httpx.AsyncClient, method: str, path: str, operation_id: str
    ) -> None:
        secret = await issue_key(app.state.pool, "gone", "admin")
        async with app.state.pool.acquire() as conn:
            await keys.revoke(conn, "gone")
        response = await call(anonymous_client, method, path, **bearer(secret))
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == f'{REALM}, error="invalid_token"'

    async def test_with_a_read_key_it_is_403(
        self, app: Litestar, anonymous_client: httpx.AsyncClient, method: str, path: str, operation_id: str
    ) -> None:
        secret = await issue_key(app.state.pool, "reader", "read")
        assert_problem(await call(anonymous_client, method, path, **bearer(secret)), 403)

    async def test_a_write_key_passes_the_guard_unless_admin_is_needed(
        self, app: Litestar, anonymous_client: httpx.AsyncClient, method: str, path: str, operation_id: str
    ) -> None:
        secret = await issue_key(app.state.pool, "writer", "write")
        response = await call(anonymous_client, method, path, **bearer(secret))
        if operation_id in ADMIN_ONLY:
            assert_problem(response, 403)
        else:
            # Past the guard, the empty body, its media type (JSON to the NDJSON import) or the random id
            # is what the operation refuses.
            assert response.status_code in {400, 404, 415, 422, 428}, response.text

    def test_the_document_says_it_needs_a_key(self, method: str, path: str, operation_id: str) -> None:
        operation = DOCUMENT["paths"][path][method]
        assert operation["security"] == [{"bearerAuth": []}]
        assert {"401", "403"} <= set(operation["responses"])


def test_the_document_describes_the_bearer_scheme() -> None:
    assert DOCUMENT["components"]["securitySchemes"]["bearerAuth"]["type"] == "http"
    assert DOCUMENT["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_every_write_route_of_the_app_declares_its_scope() -> None:
    application = create_app(Settings(database_url="postgresql://unused"))
    undeclared = [
        (route.path, sorted(handler.http_methods))
        for route in application.routes
        for handler in getattr(route, "route_handlers", [])
        if set(handler.http_methods) - {"GET", "HEAD", "OPTIONS"}
        and handler.opt.get("scope") not in allowed(route.path)
    ]
    assert undeclared == []


# Entering a key on the workspace, and signing out, cannot need a key: the page checks the key it is
# given itself (tests/test_record.py), and its CSRF token stops another site posting either.
KEY_FORMS = {"/ui/key", "/ui/key/forget"}


def allowed(path: str) -> set[str]:
    if path in KEY_FORMS:
        return {"public"}
    return {"read"} if path in READING_POSTS else {"write", "admin"}


class TestWrites:
    async def test_a_write_key_creates_a_claim(self, app: Litestar, anonymous_client: httpx.AsyncClient) -> None:
        secret = await issue_key(app.state.pool, "desk", "write")
        body = claim_body("Austin called Belousov.", hop(inline("Reuters", "outlet")))
        response = await anonymous_client.post("/claims", json=body, headers=bearer(secret))
        assert response.status_code == 201, response.text

    async def test_a_refused_write_stores_nothing(
        self, app: Litestar, anonymous_client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        secret = await issue_key(app.state.pool, "reader", "read")
        body = claim_body("Austin called Belousov.", hop(inline("Reuters", "outlet")))
        assert (await anonymous_client.post("/claims", json=body)).status_code == 401
        assert (await anonymous_client.post("/claims", json=body, headers=bearer(secret))).status_code == 403
        assert await stored_claim_count(conn) == 0

    async def test_the_scheme_word_is_case_insensitive(
        self, admin_key: str, anonymous_client: httpx.AsyncClient
    ) -> None:
        body = claim_body("Austin called Belousov.", hop(inline("Reuters", "outlet")))
        response = await anonymous_client.post("/claims", json=body, headers={"Authorization": f"bearer {admin_key}"})
        assert response.status_code == 201, response.text

    async def test_an_admin_key_merges(self, client: httpx.AsyncClient) -> None:
        duplicate = (await client.post("/sources", json=inline("Mihail Razvozayev"))).json()
        survivor = (await client.post("/sources", json=inline("Mikhail Razvozhayev"))).json()
        response = await client.post(f"/sources/{duplicate['id']}/merge", json={"into": survivor["id"]})
        assert response.status_code == 200, response.text


class TestActor:
    async def test_revisions_record_the_key_name(self, app: Litestar, anonymous_client: httpx.AsyncClient) -> None:
        headers = bearer(await issue_key(app.state.pool, "desk-anna", "write"))
        body = claim_body("Austin called Belousov.", hop(inline("Reuters", "outlet")))
        claim = (await anonymous_client.post("/claims", json=body, headers=headers)).json()
        edited = await anonymous_client.patch(
            f"/claims/{claim['id']}", json={"kind": "quote"}, headers={**headers, "If-Match": '"1"'}
        )
        assert edited.status_code == 200, edited.text
        retracted = await anonymous_client.post(f"/claims/{claim['id']}/retract", json={"reason": "x"}, headers=headers)
        assert retracted.status_code == 200, retracted.text
        revisions = (await anonymous_client.get(f"/claims/{claim['id']}/revisions")).json()["items"]
        assert [(r["action"], r["actor"]) for r in revisions] == [
            ("create", "desk-anna"),
            ("edit", "desk-anna"),
            ("retract", "desk-anna"),
        ]

    async def test_reviews_record_the_key_name(
        self, app: Litestar, anonymous_client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        headers = bearer(await issue_key(app.state.pool, "desk-ben", "write"))
        body = claim_body("Austin called Belousov.", hop(inline("Reuters", "outlet")))
        claim = (await anonymous_client.post("/claims", json=body, headers=headers)).json()
        review = {
            "reviewer": inline("FactCheck Desk", "organization"),
            "rating": {"label": "Accurate"},
            "reviewed_at": "2024-06-26T10:00:00Z",
        }
        response = await anonymous_client.post(f"/claims/{claim['id']}/reviews", json=review, headers=headers)
        assert response.status_code == 201, response.text
        assert await conn.fetchval(
            "SELECT actor FROM claim_reviews WHERE id = $1", uuid.UUID(response.json()["id"])
        ) == ("desk-ben")

    async def test_a_relation_is_asserted_by_the_key_unless_the_body_names_someone(
        self, client: httpx.AsyncClient
    ) -> None:
        first = await create_claim(client, claim_body("one", hop(inline("Reuters", "outlet"))))
        second = await create_claim(client, claim_body("two", hop(inline("Hina", "outlet"))))
        third = await create_claim(client, claim_body("three", hop(inline("AP", "outlet"))))
        by_key = await client.post(
            f"/claims/{first['id']}/relations", json={"type": "same_as", "target_id": second["id"]}
        )
        assert by_key.json()["asserted_by"] == ADMIN_KEY_NAME
        named = await client.post(
            f"/claims/{first['id']}/relations",
            json={"type": "supports", "target_id": third["id"], "asserted_by": "desk@factcheck.example"},
        )
        assert named.json()["asserted_by"] == "desk@factcheck.example"


class TestReads:
    async def test_reads_are_public_by_default(
        self, client: httpx.AsyncClient, anonymous_client: httpx.AsyncClient
    ) -> None:
        claim = await create_claim(client, claim_body("Austin called Belousov.", hop(inline("Reuters", "outlet"))))
        for path in ["/claims", f"/claims/{claim['id']}", f"/claims/{claim['id']}/trace", "/sources", "/health"]:
            assert (await anonymous_client.get(path)).status_code == 200, path

    async def test_a_revoked_key_is_401_even_on_a_public_read(
        self, app: Litestar, anonymous_client: httpx.AsyncClient
    ) -> None:
        secret = await issue_key(app.state.pool, "gone", "read")
        async with app.state.pool.acquire() as conn:
            await keys.revoke(conn, "gone")
        assert_problem(await anonymous_client.get("/claims", headers=bearer(secret)), 401)


@pytest.fixture
async def private_app(database_url: str, app: Litestar) -> AsyncIterator[Litestar]:
    """An app with ``public_reads`` off, on the test database (emptied by ``app``)."""
    settings = Settings(database_url=database_url, pool_min_size=1, pool_max_size=2, public_reads=False)
    async with running(create_app(settings)) as application:
        yield application


@pytest.fixture
async def private_client(private_app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=private_app), base_url="http://test") as http:
        yield http


class TestPrivateReads:
    async def test_a_read_without_a_key_is_401(self, private_client: httpx.AsyncClient) -> None:
        response = await private_client.get("/claims")
        assert_problem(response, 401)
        assert response.headers["www-authenticate"] == REALM

    async def test_a_read_key_reads(self, private_app: Litestar, private_client: httpx.AsyncClient) -> None:
        secret = await issue_key(private_app.state.pool, "reader", "read")
        assert (await private_client.get("/claims", headers=bearer(secret))).status_code == 200

    @pytest.mark.parametrize("path", ["/health", "/ready", "/schema/openapi.json"])
    async def test_probes_and_docs_stay_public(self, private_client: httpx.AsyncClient, path: str) -> None:
        assert (await private_client.get(path)).status_code == 200

    def test_the_environment_turns_them_off(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for word, public in [("false", False), ("0", False), ("no", False), ("true", True), ("1", True)]:
            monkeypatch.setenv("PROVENANCE_PUBLIC_READS", word)
            assert Settings.from_env().public_reads is public
        monkeypatch.delenv("PROVENANCE_PUBLIC_READS")
        assert Settings.from_env().public_reads is True


def provenance(*args: str, url: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


class TestKeysCommand:
    async def test_create_prints_a_working_secret_as_the_last_line_and_stores_only_its_hash(
        self, database_url: str, anonymous_client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        created = provenance("keys", "create", "--name", "cli-desk", "--scope", "write", url=database_url)
        assert created.returncode == 0, created.stderr
        secret = created.stdout.splitlines()[-1]
        assert secret.startswith("prov_") and secret.strip() == secret
        body = claim_body("Austin called Belousov.", hop(inline("Reuters", "outlet")))
        assert (await anonymous_client.post("/claims", json=body, headers=bearer(secret))).status_code == 201
        rows = [dict(r.items()) for r in await conn.fetch("SELECT * FROM api_keys WHERE name = 'cli-desk'")]
        assert rows[0]["secret_hash"] == keys.secret_hash(secret)
        assert secret not in repr(rows)

    async def test_list_shows_keys_but_no_secret(self, database_url: str, app: Litestar) -> None:
        secret = await issue_key(app.state.pool, "lister", "read")
        listed = provenance("keys", "list", url=database_url)
        assert listed.returncode == 0, listed.stderr
        [row] = [line for line in listed.stdout.splitlines() if line.startswith("lister ")]
        assert row.split()[:2] == ["lister", "read"]
        assert row.split()[-1] == "-"
        assert secret not in listed.stdout and keys.secret_hash(secret) not in listed.stdout

    async def test_revoke_stops_the_key(
        self, database_url: str, app: Litestar, anonymous_client: httpx.AsyncClient
    ) -> None:
        secret = await issue_key(app.state.pool, "leaving", "write")
        revoked = provenance("keys", "revoke", "leaving", url=database_url)
        assert revoked.returncode == 0, revoked.stderr
        body = claim_body("Austin called Belousov.", hop(inline("Reuters", "outlet")))
        assert (await anonymous_client.post("/claims", json=body, headers=bearer(secret))).status_code == 401
        [row] = [line for line in provenance("keys", "list", url=database_url).stdout.splitlines() if "leaving" in line]
        assert row.split()[-1] != "-"

    def test_revoking_an_unknown_key_fails(self, database_url: str, app: Litestar) -> None:
        result = provenance("keys", "revoke", "nobody", url=database_url)
        assert result.returncode == 1
        assert "no key is named 'nobody'" in result.stderr

    async def test_a_taken_name_or_unknown_scope_fails(self, database_url: str, app: Litestar) -> None:
        await issue_key(app.state.pool, "taken", "read")
        again = provenance("keys", "create", "--name", "taken", "--scope", "write", url=database_url)
        assert again.returncode == 1 and "exists already" in again.stderr
        unknown = provenance("keys", "create", "--name", "x", "--scope", "root", url=database_url)
        assert unknown.returncode == 2
