"""The surface is strict: bodies carrying unknown or server-owned fields are refused and change nothing."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers import assert_problem, claim_body, create_claim, create_source, hop, inline

SERVER_OWNED = ["id", "created_at", "actor", "version", "status", "origin"]


@pytest.mark.parametrize("field", SERVER_OWNED)
async def test_a_claim_body_with_a_server_owned_field_is_422(
    client: httpx.AsyncClient, conn: asyncpg.Connection, field: str
) -> None:
    body: dict[str, Any] = {
        **claim_body("x", hop(inline("Hina", "outlet"))),
        field: "00000000-0000-0000-0000-000000000000",
    }
    response = await client.post("/claims", json=body)
    problem = assert_problem(response, 422)
    assert field in problem["errors"][0]["message"]
    assert await conn.fetchval("SELECT count(*) FROM claims") == 0


@pytest.mark.parametrize("field", SERVER_OWNED)
async def test_a_source_body_with_a_server_owned_field_is_422(
    client: httpx.AsyncClient, conn: asyncpg.Connection, field: str
) -> None:
    response = await client.post("/sources", json={"name": "Hina", "kind": "outlet", field: "x"})
    problem = assert_problem(response, 422)
    assert field in problem["errors"][0]["message"]
    assert await conn.fetchval("SELECT count(*) FROM sources") == 0


@pytest.mark.parametrize("field", ["id", "created_at", "actor", "version"])
async def test_edits_relations_and_reviews_refuse_server_owned_fields(client: httpx.AsyncClient, field: str) -> None:
    source = await create_source(client, {"name": "Hina", "kind": "outlet"})
    claim = await create_claim(client, claim_body("x", hop(source["id"])))
    other = await create_claim(client, claim_body("y", hop(source["id"])))
    attempts = [
        client.patch(f"/sources/{source['id']}", json={field: "x"}, headers={"If-Match": "*"}),
        client.patch(f"/claims/{claim['id']}", json={field: "x"}, headers={"If-Match": "*"}),
        client.post(
            f"/claims/{claim['id']}/relations", json={"type": "supports", "target_id": other["id"], field: "x"}
        ),
        client.post(
            f"/claims/{claim['id']}/reviews",
            json={
                "reviewer_id": source["id"],
                "rating": {"label": "False"},
                "reviewed_at": "2024-06-26T09:00:00Z",
                field: "x",
            },
        ),
    ]
    for attempt in attempts:
        response = await attempt
        assert_problem(response, 422)


async def test_no_error_answer_carries_a_stack_trace(client: httpx.AsyncClient) -> None:
    for response in [
        await client.post("/claims", content=b"{", headers={"content-type": "application/json"}),
        await client.get("/claims/not-an-id/trace"),
        await client.get("/sources", params={"cursor": "garbage"}),
        await client.delete("/claims"),
    ]:
        assert response.status_code < 500
        assert "Traceback" not in response.text
        assert 'File "' not in response.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/claims", {"GET", "POST"}),
        ("PUT", "/sources", {"GET", "POST"}),
        ("DELETE", "/claims/00000000-0000-0000-0000-000000000000", {"GET", "PATCH"}),
        ("POST", "/trace", {"GET"}),
    ],
)
async def test_an_undocumented_method_is_405_with_allow(
    client: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    response = await client.request(method, path)
    assert_problem(response, 405)
    assert allowed <= {m.strip() for m in response.headers["allow"].split(",")}
    assert method not in response.headers["allow"]


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/claims", {"GET", "POST", "OPTIONS"}),
        ("/sources", {"GET", "POST", "OPTIONS"}),
        ("/claims/00000000-0000-0000-0000-000000000000", {"GET", "PATCH", "OPTIONS"}),
        ("/sources/00000000-0000-0000-0000-000000000000", {"GET", "PATCH", "OPTIONS"}),
        ("/claims/00000000-0000-0000-0000-000000000000/relations", {"GET", "POST", "OPTIONS"}),
        ("/claims/00000000-0000-0000-0000-000000000000/reviews", {"GET", "POST", "OPTIONS"}),
        ("/claims/00000000-0000-0000-0000-000000000000/retract", {"POST", "OPTIONS"}),
        ("/trace", {"GET", "OPTIONS"}),
    ],
)
async def test_options_lists_every_method_of_the_path_in_allow(
    client: httpx.AsyncClient, path: str, allowed: set[str]
) -> None:
    # Litestar 2 listed only the methods of the path's first handler (OPTIONS /claims said "OPTIONS, POST").
    response = await client.options(path)
    assert response.status_code == 204
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"stated_at": 0}, "stated_at"),
        ({"appeared_in": {"published_at": 1719273600.5}}, "appeared_in.published_at"),
        ({"language": ["en"]}, "language"),
    ],
    ids=["number-for-stated-at", "number-for-published-at", "list-for-language"],
)
async def test_a_claim_body_value_of_the_wrong_json_type_is_422_and_stores_nothing(
    client: httpx.AsyncClient, conn: asyncpg.Connection, fields: dict[str, Any], field: str
) -> None:
    # Litestar's lax decoding took a number for a time (0 as 1970-01-01): the schema says a string.
    response = await client.post("/claims", json=claim_body("x", hop(inline("Hina", "outlet")), **fields))
    assert_problem(response, 422, field=field)
    assert await conn.fetchval("SELECT count(*) FROM claims") == 0


async def test_a_rating_value_sent_as_a_string_is_422(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    claim = await create_claim(client, claim_body("x", hop(inline("Hina", "outlet"))))
    review = {
        "rating": {"label": "True", "value": "5", "best": 5, "worst": 1},
        "reviewed_at": "2024-06-26T10:00:00Z",
        "reviewer": inline("FactCheck Desk", "organization"),
    }
    response = await client.post(f"/claims/{claim['id']}/reviews", json=review)
    assert_problem(response, 422, field="rating.value")
    assert await conn.fetchval("SELECT count(*) FROM claim_reviews") == 0


async def test_a_body_that_is_not_json_is_still_400(client: httpx.AsyncClient) -> None:
    response = await client.post("/claims", content=b'{"text": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"stated_at": "0001-01-01T00:00:00Z"}, "stated_at"),
        ({"stated_at": "9999-12-31T23:59:59.999999Z"}, "stated_at"),
        ({"appeared_in": {"published_at": "0001-01-01T01:00:00+02:00"}}, "appeared_in.published_at"),
        ({"language": "en\n"}, "language"),
    ],
    ids=["first-instant", "last-instant", "before-year-one-in-utc", "language-with-a-line-feed"],
)
async def test_a_value_the_database_cannot_hold_as_sent_is_422_naming_it(
    client: httpx.AsyncClient, conn: asyncpg.Connection, fields: dict[str, Any], field: str
) -> None:
    # The first and last instants were stored as -infinity and infinity and read back without an
    # offset ("0001-01-01T00:00:00"); "en\n" passed the language pattern, whose $ Python lets match
    # before a final line feed.
    response = await client.post("/claims", json=claim_body("x", hop(inline("Hina", "outlet")), **fields))
    assert_problem(response, 422, field=field)
    assert await conn.fetchval("SELECT count(*) FROM claims") == 0


async def test_a_review_at_the_first_instant_is_422(client: httpx.AsyncClient) -> None:
    claim = await create_claim(client, claim_body("x", hop(inline("Hina", "outlet"))))
    review = {
        "rating": {"label": "True"},
        "reviewed_at": "0001-01-01T00:00:00Z",
        "reviewer": inline("FactCheck Desk", "organization"),
    }
    response = await client.post(f"/claims/{claim['id']}/reviews", json=review)
    assert_problem(response, 422, field="reviewed_at")


async def test_a_query_parameter_the_operation_does_not_have_is_400_naming_it(client: httpx.AsyncClient) -> None:
    answer = await client.get("/sources", params={"limt": "5"})
    problem = assert_problem(answer, 400, field="limt")
    assert "no such query parameter" in problem["detail"]
    assert (await client.get("/sources", params={"limit": "5"})).status_code == 200
    # The workspace's pages, read by browsers that add their own parameters, ignore them.
    assert (await client.get("/ui/", params={"utm_source": "newsletter"})).status_code == 200
