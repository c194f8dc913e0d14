"""``GET /trace?statement=``: free text ranked against stored claims, each with its trace."""

from __future__ import annotations

import asyncio
import random
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import pytest

from service.domain import traces
from service.domain.names import fold
from service.repositories import traces as repo
from tests.helpers import assert_problem, claim_body, create_claim, hop, inline

CLAIMS = {
    "austin": "Austin initiated the conversation and it was the first such call since March 2023",
    "belousov": "A.R. Belousov pointed to the danger of further escalating the situation through continued "
    "supplies of American weapons to the Ukrainian armed forces",
    "dietz": "Ukraine makes its own targeting decisions and conducts its own military operations",
    "governor": "In a rocket attack on Sevastopol, three people were killed, including two children, and around "
    "a hundred were wounded",
    "zakharova": "The attack was carried out with U.S. weapons and should be condemned by the United Nations",
}


@pytest.fixture
async def stored(client: httpx.AsyncClient) -> dict[str, str]:
    ids = {}
    for key, text in CLAIMS.items():
        claim = await create_claim(client, claim_body(text, hop(inline(f"Speaker {key}"))))
        ids[key] = claim["id"]
    return ids


async def best(client: httpx.AsyncClient, statement: str, limit: int = 5) -> list[dict[str, object]]:
    response = await client.get("/trace", params={"statement": statement, "limit": limit})
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


@pytest.mark.parametrize(
    ("statement", "expected"),
    [
        ("the first such call since March 2023", "austin"),  # partial quote
        ("ukraine makes its own targeting decisions", "dietz"),
        ("UKRAINE MAKES ITS OWN TARGETING DECISIONS!!!", "dietz"),  # case and punctuation
        ("Sevastopol rocket attack killed three people including children", "governor"),  # reordered
        ("Belousov warned of escalation through supplies of American weapons", "belousov"),  # paraphrase
        ("Ukrainian armed forces supplied with american weapon", "belousov"),  # other inflections
        ("should the United Nations condemn the attack", "zakharova"),
        ("Sevastópol attáck", "governor"),  # accents
    ],
)
async def test_the_intended_claim_ranks_first(
    client: httpx.AsyncClient, stored: dict[str, str], statement: str, expected: str
) -> None:
    items = await best(client, statement)
    assert items[0]["trace"]["claim"]["id"] == stored[expected]  # type: ignore[index]


async def test_scores_are_in_unit_range_and_descending(client: httpx.AsyncClient, stored: dict[str, str]) -> None:
    items = await best(client, "attack weapons Ukraine", limit=10)
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]
    assert all(0 <= s <= 1 for s in scores)  # type: ignore[operator]


async def test_the_exact_text_scores_one(client: httpx.AsyncClient, stored: dict[str, str]) -> None:
    items = await best(client, CLAIMS["dietz"])
    assert items[0]["score"] == 1.0


async def test_each_match_carries_its_full_trace(client: httpx.AsyncClient, stored: dict[str, str]) -> None:
    items = await best(client, "first such call")
    trace = items[0]["trace"]
    assert trace["path"][0]["source"]["name"] == "Speaker austin"  # type: ignore[index]
    assert trace["origin"]["source"]["name"] == "Speaker austin"  # type: ignore[index]


async def test_limit_bounds_the_answer(client: httpx.AsyncClient, stored: dict[str, str]) -> None:
    assert len(await best(client, "attack", limit=1)) == 1


async def test_no_match_is_an_empty_list(client: httpx.AsyncClient, stored: dict[str, str]) -> None:
    assert await best(client, "zebra crossing xylophone") == []
    assert await best(client, "the and of") == []  # only stop words


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"statement": ""},
        {"statement": "x" * 2001},
        {"statement": "..."},
        {"statement": "a", "limit": 0},
        {"statement": "a", "limit": 51},
    ],
)
async def test_bad_statement_queries_are_problems(client: httpx.AsyncClient, params: dict[str, object]) -> None:
    response = await client.get("/trace", params=params)
    assert response.status_code in (400, 422)
    assert_problem(response, response.status_code)


async def test_holding_more_of_the_statement_always_ranks_higher(client: httpx.AsyncClient) -> None:
    long = await create_claim(
        client,
        claim_body(
            "Drones struck the harbour cranes overnight while engineers, sailors, dockers, guards and "
            "officials watched the fires spread along the quay, the port authority said",
            hop(inline("Port authority", "organization")),
        ),
    )
    short = await create_claim(client, claim_body("Drones struck cranes", hop(inline("Someone"))))
    items = await best(client, "drones struck the harbour cranes")
    assert [item["trace"]["claim"]["id"] for item in items] == [long["id"], short["id"]]  # type: ignore[index]
    # 4 of 4 stems among the long claim's many outranks 3 of 4 making up the whole short claim
    assert items[0]["score"] > items[1]["score"]  # type: ignore[operator]
    assert items[1]["score"] == round((3 + 3 / 3) / (4 + 1), 4)


async def test_a_common_word_does_not_drown_the_claim_holding_the_whole_statement(
    client: httpx.AsyncClient,
) -> None:
    bodies = [
        claim_body(f"The minister spoke about item {n}", hop(inline("Ministry", "organization"))) for n in range(450)
    ]
    for start in range(0, len(bodies), 10):  # more claims holding "minister" than a level reads
        await asyncio.gather(*(create_claim(client, body) for body in bodies[start : start + 10]))
    target = await create_claim(
        client, claim_body("The minister resigned over the bridge", hop(inline("Ministry", "organization")))
    )
    items = await best(client, "minister resigned bridge", limit=3)
    assert items[0]["trace"]["claim"]["id"] == target["id"]  # type: ignore[index]
    assert items[0]["score"] > 0.75  # type: ignore[operator]
    assert len(items) == 3


async def test_common_stems_end_the_descent_at_the_last_level(
    client: httpx.AsyncClient, conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = claim_body("The minister spoke about the budget", hop(inline("Ministry", "organization")))
    for _ten in range(6):
        await asyncio.gather(*(create_claim(client, body) for _ in range(10)))
    target = await create_claim(
        client, claim_body("The minister resigned over the bridge budget", hop(inline("Ministry", "organization")))
    )
    await conn.execute("ANALYZE claims")
    statistics = traces.StemStatistics()
    stems = await statistics.claims(conn, ["budget", "bridg", "minist", "resign", "spoke"])
    assert stems["minist"] == pytest.approx(61, rel=0.05)  # what ANALYZE counted, read back
    assert stems["bridg"] < stems["minist"] and stems["resign"] < stems["minist"]
    statement = fold("minister resigned bridge budget spoke")

    async def levels(statistics: traces.StemStatistics | None) -> tuple[list[str], list[traces.Match]]:
        queries: list[str] = []

        def log(record: Any) -> None:
            if record.query == repo.LEVEL:
                queries.append(record.args[0])

        conn.add_query_logger(log)
        found = await traces.best_matches(conn, statement, 5, statistics=statistics)
        await asyncio.sleep(0)  # asyncpg hands query records to loggers with call_soon
        conn.remove_query_logger(log)
        return queries, found

    # Without statistics the descent reads every level down to 5 matches: all 5 stems (no claim holds
    # them), 4 (the target), 3 (the 60 others).
    unbounded, found = await levels(None)
    assert len(unbounded) == 3 and found[0].id == UUID(target["id"])
    # With them, "4 of 5" would walk claims holding one of the 2 rarest stems, 5 conjunctions each:
    # over a budget of 5, so the last level comes instead, one OR of the stems rarer than "minister".
    monkeypatch.setattr(traces, "LEVEL_WORK", 5)
    monkeypatch.setattr(traces, "LAST_LEVEL_CLAIMS", 10)
    bounded, found = await levels(statistics)
    assert bounded[0] == unbounded[0]
    assert len(bounded) == 2 and "|" in bounded[1] and "minist" not in bounded[1] and "&" not in bounded[1]
    assert found[0].id == UUID(target["id"]) and found[0].score == round((4 + 4 / 4) / (5 + 1), 4)  # 4 of 5 stems


def test_level_work_counts_the_rarest_stems_the_index_walks() -> None:
    # at least 2 of 4: a claim holding 2 holds one of the 3 rarest; 6 conjunctions
    assert traces.level_work([1000.0, 10.0, 20.0, 30.0], 2) == (10 + 20 + 30) * 6
    assert traces.level_work([1000.0, 10.0, 20.0, 30.0], 4) == 10 * 1
    assert traces.last_level_stems({"a": 9000.0, "b": 10.0, "c": 20_000.0, "d": 5.0}) == ["a", "b", "d"]
    assert traces.last_level_stems({"a": 90_000.0, "b": 50_000.0}) == ["b"]  # the rarest, whatever it costs


WORDS = "drones struck harbour cranes engineers sailors dockers guards officials fires quay port minister bridge budget"


def true_score(matched: int, statement: int, claim: int) -> float:
    """The contract's score computed apart from the search: (m + m/c) / (n + 1), four decimals, halves up."""
    exact = Fraction(matched * (claim + 1), claim * (statement + 1))
    return float((Decimal(exact.numerator) / Decimal(exact.denominator)).quantize(Decimal("0.0001"), ROUND_HALF_UP))


async def test_the_descent_answers_the_best_claims_of_all(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    # Each level sends back only its best claims and how many it read; what the descent answers must
    # still be the best of every stored claim, scored here the long way over all of them.
    rng = random.Random(19)
    words = WORDS.split()
    texts = [" ".join(rng.sample(words, rng.randint(2, 8))) for _ in range(60)]
    bodies = [claim_body(text, hop(inline("Port authority"))) for text in texts]
    for start in range(0, len(bodies), 10):
        await asyncio.gather(*(create_claim(client, body) for body in bodies[start : start + 10]))
    stored = {
        str(r["id"]): set(r["stems"])
        for r in await conn.fetch("SELECT id, tsvector_to_array(search_vector) AS stems FROM claims")
    }
    for _ in range(25):
        statement = " ".join(rng.sample(words, rng.randint(1, 6)))
        stems = set(await repo.lexemes(conn, fold(statement)))
        scores = sorted(
            (true_score(len(stems & held), len(stems), len(held)) for held in stored.values() if stems & held),
            reverse=True,
        )
        for limit in (1, 5, 12):
            items = await best(client, statement, limit)
            assert [item["score"] for item in items] == scores[:limit], statement
            for item in items:
                held = stored[item["trace"]["claim"]["id"]]  # type: ignore[index]
                assert item["score"] == true_score(len(stems & held), len(stems), len(held))


async def test_a_level_answers_its_best_and_how_many_it_read(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    for n in range(12):
        text = f"The quay cranes burned {'again ' * (n % 3)}on day {n}"
        await create_claim(client, claim_body(text, hop(inline("Port"))))
    rows = await repo.level(conn, "'quay' & 'crane'", ["quay", "crane"], traces.LEVEL_CAP, 3, include_retracted=False)
    assert len(rows) == 3 and all(row["read"] == 12 for row in rows)
    assert [row["score"] for row in rows] == sorted((row["score"] for row in rows), reverse=True)
    capped = await repo.level(conn, "'quay'", ["quay"], 4, 10, include_retracted=False)
    assert len(capped) == 4 and capped[0]["read"] == 4
