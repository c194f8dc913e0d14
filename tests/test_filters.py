"""Facets of ``GET /claims`` (kind, language, anonymous origin, contradicted) and ``GET /sources`` (member_of)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.helpers import assert_problem, claim_body, create_claim, create_source, hop, inline


@pytest.fixture
async def claims(client: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    made = {
        "quote": await create_claim(client, claim_body("a quote", hop(inline("Dietz")), kind="quote")),
        "german": await create_claim(client, claim_body("ein Satz", hop(inline("Sprecher")), language="de")),
        "anonymous": await create_claim(
            client, claim_body("sources say", hop(inline("Pentagon sources", "anonymous")))
        ),
        "plain": await create_claim(client, claim_body("plainly", hop(inline("Ryder")))),
    }
    response = await client.post(
        f"/claims/{made['plain']['id']}/relations", json={"type": "contradicts", "target_id": made["quote"]["id"]}
    )
    assert response.status_code == 201
    return made


async def listed(client: httpx.AsyncClient, **params: str) -> list[str]:
    response = await client.get("/claims", params=params)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()["items"]]


def ids(claims: dict[str, dict[str, Any]], *names: str) -> list[str]:
    return [claims[n]["id"] for n in names]


async def test_kind(client: httpx.AsyncClient, claims: dict[str, dict[str, Any]]) -> None:
    assert await listed(client, kind="quote") == ids(claims, "quote")
    assert await listed(client, kind="paraphrase") == ids(claims, "plain", "anonymous", "german")


async def test_language(client: httpx.AsyncClient, claims: dict[str, dict[str, Any]]) -> None:
    assert await listed(client, language="de") == ids(claims, "german")


async def test_anonymous_origin(client: httpx.AsyncClient, claims: dict[str, dict[str, Any]]) -> None:
    assert await listed(client, anonymous_origin="true") == ids(claims, "anonymous")
    assert await listed(client, anonymous_origin="false") == ids(claims, "plain", "german", "quote")


async def test_contradicted_is_seen_from_both_claims(
    client: httpx.AsyncClient, claims: dict[str, dict[str, Any]]
) -> None:
    assert await listed(client, contradicted="true") == ids(claims, "plain", "quote")
    assert await listed(client, contradicted="false") == ids(claims, "anonymous", "german")


async def test_filters_combine(client: httpx.AsyncClient, claims: dict[str, dict[str, Any]]) -> None:
    assert await listed(client, contradicted="true", kind="quote") == ids(claims, "quote")


@pytest.mark.parametrize(
    ("param", "value"), [("kind", "rumour"), ("language", "EN!"), ("anonymous_origin", "maybe"), ("contradicted", "2")]
)
async def test_bad_facet_values_are_422(client: httpx.AsyncClient, param: str, value: str) -> None:
    response = await client.get("/claims", params={param: value})
    assert_problem(response, 422, field=param)


async def test_sources_member_of(client: httpx.AsyncClient) -> None:
    pentagon = await create_source(client, {"name": "Pentagon", "kind": "organization"})
    ryder = await create_source(
        client,
        {"name": "Patrick Ryder", "kind": "person", "affiliations": [{"organization_id": pentagon["id"]}]},
    )
    await create_source(client, {"name": "Patrick Smith", "kind": "person"})
    members = (await client.get("/sources", params={"member_of": pentagon["id"]})).json()["items"]
    assert [s["id"] for s in members] == [ryder["id"]]
    found = (await client.get("/sources", params={"member_of": pentagon["id"], "q": "patrick"})).json()["items"]
    assert [s["id"] for s in found] == [ryder["id"]]
    bad = await client.get("/sources", params={"member_of": "nope"})
    assert_problem(bad, 422, field="member_of")


@pytest.mark.parametrize("param", ["since", "until"])
@pytest.mark.parametrize("value", ["0.5", "1719273600", "2024-06-25", "2024-06-25T00:00:00"])
async def test_since_and_until_other_than_rfc_3339_with_an_offset_are_422(
    client: httpx.AsyncClient, param: str, value: str
) -> None:
    # A number was read as a Unix time: until=0.5 answered 200 with an empty list.
    response = await client.get("/claims", params={param: value})
    assert_problem(response, 422, field=param)


async def test_since_and_until_with_an_offset_bound_the_publication(client: httpx.AsyncClient) -> None:
    body = claim_body("x", hop(inline("Hina", "outlet")), appeared_in={"published_at": "2024-06-25T10:00:00Z"})
    claim = await create_claim(client, body)
    assert await listed(client, since="2024-06-25T09:00:00+00:00", until="2024-06-25T11:00:00Z") == [claim["id"]]
    assert await listed(client, since="2024-06-25T12:00:00+02:00") == [claim["id"]]
    assert await listed(client, until="2024-06-25T10:00:00Z") == []
