"""Keyset pagination of ``GET /claims``, ``GET /sources`` and ``GET /sources?q=``: ``limit``,
``next_cursor``, the ``Link: <...>; rel="next"`` header, and stability while rows are inserted."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from tests.helpers import assert_problem, claim_body, create_claim, create_source, hop, inline

LINK_NEXT = re.compile(r'^<([^>]+)>;\s*rel="next"$')

Make = Callable[[httpx.AsyncClient, range], Awaitable[list[str]]]


async def make_claims(client: httpx.AsyncClient, numbers: range) -> list[str]:
    """Claims numbered ``numbers``, created in that order; their ids."""
    return [
        (await create_claim(client, claim_body(f"Claim number {i}", hop(inline("Reuters", "outlet"), "reports"))))["id"]
        for i in numbers
    ]


async def make_sources(client: httpx.AsyncClient, numbers: range) -> list[str]:
    """People numbered ``numbers``, created in that order; their ids."""
    return [(await create_source(client, {"name": f"Person {i}", "kind": "person"}))["id"] for i in numbers]


def _matching_name(i: int) -> str:
    # Exact, prefix, containing and shared-word matches of "reuters", many with equal scores.
    return ["Reuters", f"Reuters {i % 10}", f"Thomson Reuters {i}", f"Reuters News Agency {i}"][i % 4]


async def make_matches(client: httpx.AsyncClient, numbers: range) -> list[str]:
    """Outlets matching ``q=reuters`` with a spread of scores and ties; their ids."""
    return [(await create_source(client, {"name": _matching_name(i), "kind": "outlet"}))["id"] for i in numbers]


@dataclass(frozen=True)
class Listing:
    """A paginated list: its path, the query that defines it, and how to make its items."""

    name: str
    path: str
    params: dict[str, str]
    make: Make
    cursor_kind: str

    def __str__(self) -> str:
        return self.name


CLAIMS = Listing("claims", "/claims", {"q": "claim number"}, make_claims, "claims")
SOURCES = Listing("sources", "/sources", {"kind": "person"}, make_sources, "sources")
SEARCH = Listing("search", "/sources", {"q": "reuters", "kind": "outlet"}, make_matches, "sources?q")
LISTINGS = [CLAIMS, SOURCES, SEARCH]
NEWEST_FIRST = [CLAIMS, SOURCES]


def forge_cursor(*values: Any) -> str:
    """A cursor built the way the service builds them, holding ``values``."""
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


def next_link(response: httpx.Response) -> str | None:
    """The URL of the ``Link: <...>; rel="next"`` header, or ``None`` without one."""
    header = response.headers.get("link")
    if header is None:
        return None
    match = LINK_NEXT.match(header.strip())
    assert match, f"not a rel=next link: {header!r}"
    return match.group(1)


async def get_page(client: httpx.AsyncClient, path: str, params: dict[str, str]) -> httpx.Response:
    response = await client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response


def ids(response: httpx.Response) -> list[str]:
    return [item["id"] for item in response.json()["items"]]


async def whole_list(client: httpx.AsyncClient, listing: Listing) -> list[str]:
    """The ids of the whole list in one page."""
    response = await get_page(client, listing.path, {**listing.params, "limit": "200"})
    assert response.json()["next_cursor"] is None
    return ids(response)


async def follow_cursors(
    client: httpx.AsyncClient,
    listing: Listing,
    limit: int,
    between_pages: Callable[[], Awaitable[Any]] | None = None,
) -> list[list[str]]:
    """Every page of ``listing`` by ``next_cursor``; ``between_pages`` runs after each page fetched."""
    pages: list[list[str]] = []
    params = {**listing.params, "limit": str(limit)}
    while True:
        response = await get_page(client, listing.path, params)
        pages.append(ids(response))
        cursor = response.json()["next_cursor"]
        if cursor is None:
            return pages
        assert len(pages) < 100, "the cursors do not end"
        if between_pages is not None:
            await between_pages()
        params = {**listing.params, "limit": str(limit), "cursor": cursor}


@pytest.mark.parametrize("listing", LISTINGS, ids=str)
class TestPages:
    async def test_limit_defaults_to_50(self, client: httpx.AsyncClient, listing: Listing) -> None:
        await listing.make(client, range(51))
        first = await get_page(client, listing.path, listing.params)
        assert len(first.json()["items"]) == 50
        assert first.json()["next_cursor"] is not None
        rest = await get_page(client, listing.path, {**listing.params, "cursor": first.json()["next_cursor"]})
        assert len(rest.json()["items"]) == 1

    async def test_limit_sets_the_page_size(self, client: httpx.AsyncClient, listing: Listing) -> None:
        await listing.make(client, range(5))
        response = await get_page(client, listing.path, {**listing.params, "limit": "2"})
        assert len(response.json()["items"]) == 2

    async def test_next_cursor_is_also_in_a_link_header(self, client: httpx.AsyncClient, listing: Listing) -> None:
        await listing.make(client, range(3))
        response = await get_page(client, listing.path, {**listing.params, "limit": "2"})
        url = next_link(response)
        assert url is not None
        assert parse_qs(urlsplit(url).query)["cursor"] == [response.json()["next_cursor"]]

    async def test_link_header_keeps_the_path_and_the_other_query_params(
        self, client: httpx.AsyncClient, listing: Listing
    ) -> None:
        await listing.make(client, range(3))
        response = await get_page(client, listing.path, {**listing.params, "limit": "2"})
        url = next_link(response)
        assert url is not None
        assert urlsplit(url).path == listing.path
        query = parse_qs(urlsplit(url).query)
        assert query.pop("limit") == ["2"]
        assert query.pop("cursor") == [response.json()["next_cursor"]]
        assert query == {key: [value] for key, value in listing.params.items()}

    async def test_following_the_link_header_gives_the_next_page(
        self, client: httpx.AsyncClient, listing: Listing
    ) -> None:
        await listing.make(client, range(5))
        first = await get_page(client, listing.path, {**listing.params, "limit": "2"})
        url = next_link(first)
        assert url is not None
        by_link = await client.get(url)
        by_cursor = await get_page(
            client, listing.path, {**listing.params, "limit": "2", "cursor": first.json()["next_cursor"]}
        )
        assert by_link.status_code == 200
        assert ids(by_link) == ids(by_cursor)
        assert not set(ids(by_link)) & set(ids(first))

    async def test_following_cursors_visits_every_item_once_in_list_order(
        self, client: httpx.AsyncClient, listing: Listing
    ) -> None:
        created = await listing.make(client, range(11))
        pages = await follow_cursors(client, listing, limit=3)
        assert [len(page) for page in pages] == [3, 3, 3, 2]
        visited = [item for page in pages for item in page]
        assert sorted(visited) == sorted(created)
        assert visited == await whole_list(client, listing)

    async def test_inserting_while_paging_neither_repeats_nor_skips_existing_items(
        self, client: httpx.AsyncClient, listing: Listing
    ) -> None:
        existing = await listing.make(client, range(12))
        before = await whole_list(client, listing)
        numbers = iter(range(100, 200))

        async def insert_two() -> None:
            await listing.make(client, range(next(numbers), next(numbers) + 1))
            await listing.make(client, range(next(numbers), next(numbers) + 1))

        pages = await follow_cursors(client, listing, limit=4, between_pages=insert_two)
        visited = [item for page in pages for item in page]
        assert len(visited) == len(set(visited)), "an item was served twice"
        assert [item for item in visited if item in set(existing)] == before

    async def test_last_page_has_no_cursor_and_no_link_header(
        self, client: httpx.AsyncClient, listing: Listing
    ) -> None:
        await listing.make(client, range(3))
        first = await get_page(client, listing.path, {**listing.params, "limit": "2"})
        last = await get_page(
            client, listing.path, {**listing.params, "limit": "2", "cursor": first.json()["next_cursor"]}
        )
        assert len(last.json()["items"]) == 1
        assert last.json()["next_cursor"] is None
        assert "link" not in last.headers

    async def test_exactly_full_page_has_no_next_page(self, client: httpx.AsyncClient, listing: Listing) -> None:
        await listing.make(client, range(3))
        response = await get_page(client, listing.path, {**listing.params, "limit": "3"})
        assert len(response.json()["items"]) == 3
        assert response.json()["next_cursor"] is None
        assert "link" not in response.headers

    async def test_empty_list_has_no_cursor_and_no_link_header(
        self, client: httpx.AsyncClient, listing: Listing
    ) -> None:
        response = await get_page(client, listing.path, listing.params)
        assert response.json() == {"items": [], "next_cursor": None}
        assert "link" not in response.headers

    @pytest.mark.parametrize(
        "cursor",
        [
            "garbage",
            "",
            "!!!",
            forge_cursor(),
            forge_cursor("claims", "sources"),
            base64.urlsafe_b64encode(b'{"seq": 1}').decode(),
            base64.urlsafe_b64encode(b"\xff\x00\x01").decode(),
        ],
    )
    async def test_garbage_cursor_is_422_naming_cursor(
        self, client: httpx.AsyncClient, listing: Listing, cursor: str
    ) -> None:
        response = await client.get(listing.path, params={**listing.params, "cursor": cursor})
        assert_problem(response, 422, field="cursor")

    async def test_cursor_with_an_out_of_range_key_is_422_naming_cursor(
        self, client: httpx.AsyncClient, listing: Listing
    ) -> None:
        key = (0.5, 2**63) if listing is SEARCH else (2**63,)
        response = await client.get(
            listing.path, params={**listing.params, "cursor": forge_cursor(listing.cursor_kind, *key)}
        )
        assert_problem(response, 422, field="cursor")


class TestNewestFirst:
    @pytest.mark.parametrize("listing", NEWEST_FIRST, ids=str)
    async def test_items_are_newest_first(self, client: httpx.AsyncClient, listing: Listing) -> None:
        created = await listing.make(client, range(5))
        assert await whole_list(client, listing) == created[::-1]

    @pytest.mark.parametrize("listing", NEWEST_FIRST, ids=str)
    async def test_inserting_while_paging_serves_exactly_the_items_that_existed(
        self, client: httpx.AsyncClient, listing: Listing
    ) -> None:
        existing = await listing.make(client, range(7))
        numbers = iter(range(100, 200))

        async def insert_one() -> None:
            number = next(numbers)
            await listing.make(client, range(number, number + 1))

        pages = await follow_cursors(client, listing, limit=3, between_pages=insert_one)
        assert [item for page in pages for item in page] == existing[::-1]


class TestCursorsBelongToTheirList:
    @pytest.mark.parametrize(
        ("source", "target"),
        [(SOURCES, CLAIMS), (CLAIMS, SOURCES), (SOURCES, SEARCH), (SEARCH, SOURCES), (SEARCH, CLAIMS)],
        ids=[
            "sources-on-claims",
            "claims-on-sources",
            "sources-on-search",
            "search-on-sources",
            "search-on-claims",
        ],
    )
    async def test_cursor_of_another_list_is_422_naming_cursor(
        self, client: httpx.AsyncClient, source: Listing, target: Listing
    ) -> None:
        await source.make(client, range(3))
        first = await get_page(client, source.path, {**source.params, "limit": "1"})
        cursor = first.json()["next_cursor"]
        assert cursor is not None
        response = await client.get(target.path, params={**target.params, "cursor": cursor})
        assert_problem(response, 422, field="cursor")


class TestSourceClaimPages:
    async def test_link_header_keeps_the_role(self, client: httpx.AsyncClient) -> None:
        await make_claims(client, range(3))
        reuters = (await client.get("/sources", params={"q": "reuters"})).json()["items"][0]["id"]
        path = f"/sources/{reuters}/claims"
        first = await get_page(client, path, {"role": "origin", "limit": "2"})
        url = next_link(first)
        assert url is not None
        assert urlsplit(url).path == path
        assert parse_qs(urlsplit(url).query) == {
            "role": ["origin"],
            "limit": ["2"],
            "cursor": [first.json()["next_cursor"]],
        }

    async def test_following_cursors_visits_every_claim_of_the_source_once(self, client: httpx.AsyncClient) -> None:
        created = await make_claims(client, range(5))
        reuters = (await client.get("/sources", params={"q": "reuters"})).json()["items"][0]["id"]
        path = f"/sources/{reuters}/claims"
        first = await get_page(client, path, {"role": "any", "limit": "3"})
        second = await get_page(client, path, {"role": "any", "limit": "3", "cursor": first.json()["next_cursor"]})
        assert ids(first) + ids(second) == created[::-1]
        assert second.json()["next_cursor"] is None
