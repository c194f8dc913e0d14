"""Finding a source under spellings nobody declared: a letter off, transliterations, scripts, initials."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import asyncpg
import httpx
import pytest

from service import migrations
from service.domain.names import name_similarity, name_tokens
from tests.helpers import Server, create_source

PEOPLE = [
    {"name": "Mikhail Razvozhayev", "kind": "person"},
    {"name": "Volodymyr Zelenskyy", "kind": "person"},
    {"name": "Sergei Aksyonov", "kind": "person"},
    {"name": "Andrei Belousov", "kind": "person"},
    {"name": "Dmitry Peskov", "kind": "person"},
    {"name": "Mikhail Khodorkovsky", "kind": "person"},
    {"name": "Yevgeny Prigozhin", "kind": "person"},
    {"name": "Nikolai Patrushev", "kind": "person"},
    {"name": "Patrick Ryder", "kind": "person"},
    {"name": "Patrick Smith", "kind": "person"},
]


@pytest.fixture
async def people(client: httpx.AsyncClient) -> dict[str, str]:
    return {p["name"]: (await create_source(client, p))["id"] for p in PEOPLE}


async def found(client: httpx.AsyncClient, q: str, **params: str) -> list[dict[str, object]]:
    response = await client.get("/sources", params={"q": q, **params})
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("Razvozhaev", "Mikhail Razvozhayev"),  # a letter less
        ("Razvozhayyev", "Mikhail Razvozhayev"),  # a letter more
        ("Razvozayev", "Mikhail Razvozhayev"),  # zh / z
        ("Mihail Razvozhayev", "Mikhail Razvozhayev"),  # kh / h
        ("Zelensky", "Volodymyr Zelenskyy"),  # yy / y
        ("Zelenskiy", "Volodymyr Zelenskyy"),
        ("Zelenskii", "Volodymyr Zelenskyy"),  # ii / y
        ("Volodimir Zelenski", "Volodymyr Zelenskyy"),  # y / i
        ("Khodorkovskii", "Mikhail Khodorkovsky"),
        ("Hodorkovsky", "Mikhail Khodorkovsky"),  # kh / h
        ("Aksenov", "Sergei Aksyonov"),  # the letter ё
        ("Sergey Aksyonov", "Sergei Aksyonov"),
        ("Evgeny Prigozhin", "Yevgeny Prigozhin"),
        ("Patrushef", "Nikolai Patrushev"),  # a letter swapped
        ("Pesckov", "Dmitry Peskov"),  # ck / k
        ("Зеленський", "Volodymyr Zelenskyy"),  # Cyrillic for a Latin name
        ("Сергей Аксёнов", "Sergei Aksyonov"),
        ("Дмитрий Песков", "Dmitry Peskov"),
        ("A. Belousov", "Andrei Belousov"),  # initials
        ("A.R. Belousov", "Andrei Belousov"),
        ("D. Peskov", "Dmitry Peskov"),
    ],
)
async def test_a_variant_finds_its_source_first(
    client: httpx.AsyncClient, people: dict[str, str], query: str, expected: str
) -> None:
    items = await found(client, query)
    assert items, f"{query!r} found nothing"
    assert items[0]["id"] == people[expected]
    assert 0 < items[0]["score"] < 1  # type: ignore[operator]


async def test_a_latin_alias_finds_a_cyrillic_name(client: httpx.AsyncClient) -> None:
    source = await create_source(client, {"name": "Мария Захарова", "kind": "person"})
    assert (await found(client, "Maria Zakharova"))[0]["id"] == source["id"]


async def test_an_exact_name_or_alias_always_ranks_first(client: httpx.AsyncClient, people: dict[str, str]) -> None:
    # "Patrick Ryde" is a letter away from Patrick Ryder, but it is exactly this source's alias.
    alias_owner = await create_source(client, {"name": "P. Ryde", "kind": "person", "aliases": ["Patrick Ryde"]})
    items = await found(client, "Patrick Ryde")
    assert items[0]["id"] == alias_owner["id"]
    assert items[0]["score"] == 1.0
    assert items[1]["id"] == people["Patrick Ryder"]
    assert items[1]["score"] < 1.0  # type: ignore[operator]


async def test_a_shared_given_name_ranks_below_a_matching_surname(
    client: httpx.AsyncClient, people: dict[str, str]
) -> None:
    items = await found(client, "Patrick Rider")
    assert [i["id"] for i in items[:2]] == [people["Patrick Ryder"], people["Patrick Smith"]]


async def test_unrelated_names_are_not_found(client: httpx.AsyncClient, people: dict[str, str]) -> None:
    assert await found(client, "Lagarde") == []


async def test_scores_are_in_unit_range_and_descending(client: httpx.AsyncClient, people: dict[str, str]) -> None:
    items = await found(client, "Mikhail")
    scores = [i["score"] for i in items]
    assert len(scores) == 2
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert all(0 < s <= 1 for s in scores)  # type: ignore[operator]


async def test_kind_narrows_fuzzy_finding(client: httpx.AsyncClient, people: dict[str, str]) -> None:
    assert await found(client, "Zelensky", kind="organization") == []


def test_similarity_is_symmetric_in_spelling_but_prefers_full_names() -> None:
    assert name_tokens("Razvozhayev") == name_tokens("Razvozayev")
    assert name_similarity(name_tokens("Razvozhaev"), name_tokens("Razvozhayev")) > name_similarity(
        name_tokens("Razvozhaev"), name_tokens("Mikhail Razvozhayev")
    )


@pytest.fixture
def database_at_0002(server: Server) -> Iterator[str]:
    url = server.create_database()
    migrations.upgrade(url, "0002")
    yield url
    server.drop_database(url)


async def _insert_source_the_old_way(url: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(
            "INSERT INTO sources (kind, name, name_key) VALUES ('person', 'Mikhail Razvozhayev', 'mikhail razvozhayev')"
        )
    finally:
        await conn.close()


async def _tokens(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        return {r["token"] for r in await conn.fetch("SELECT token FROM source_name_tokens")}
    finally:
        await conn.close()


def test_the_migration_indexes_sources_stored_before_it(database_at_0002: str) -> None:
    asyncio.run(_insert_source_the_old_way(database_at_0002))
    migrations.upgrade(database_at_0002)
    assert asyncio.run(_tokens(database_at_0002)) == set(name_tokens("Mikhail Razvozhayev"))
