"""The statement search finds what fact-checkers half remember: recall@1 >= 0.75, recall@5 >= 0.90."""

from __future__ import annotations

import asyncpg
import httpx

from service import seeds
from tests.search_eval.evaluate import evaluate, load, store_corpus


def test_the_set_is_big_and_varied_enough() -> None:
    queries = load("queries_seed.json") + load("queries_claims.json")
    assert len(load("claims.json")) >= 100
    assert sum(q["expected"].startswith("seed:") for q in queries) >= 60
    assert {q["category"] for q in queries} == {
        "partial", "paraphrase", "reordered", "typo", "inflection", "name_variant",
    }  # fmt: skip


async def test_recall_of_statement_search(client: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
    await seeds.load(conn)
    recall = await evaluate(client, await store_corpus(client))
    print("\n" + recall.table())
    misses = "\n".join(recall.misses)
    assert recall.recall_at_5 >= 0.90, f"recall@5 {recall.recall_at_5:.2f}\n{recall.table()}\n{misses}"
    assert recall.recall_at_1 >= 0.75, f"recall@1 {recall.recall_at_1:.2f}\n{recall.table()}\n{misses}"
