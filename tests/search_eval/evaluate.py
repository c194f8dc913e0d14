"""Recall of ``GET /trace?statement=`` on the evaluation set: the seeds plus ``claims.json``, queried
with ``queries_seed.json`` and ``queries_claims.json`` (partial quotes, paraphrases, reordered words,
typos, other inflections, names spelled otherwise), each with the claim it should find."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from service import seeds

HERE = Path(__file__).resolve().parent


@dataclass
class Recall:
    """Hits at rank 1 and within the first five, overall and per category."""

    queries: int = 0
    at1: int = 0
    at5: int = 0
    by_category: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))
    misses: list[str] = field(default_factory=list)

    @property
    def recall_at_1(self) -> float:
        return self.at1 / self.queries

    @property
    def recall_at_5(self) -> float:
        return self.at5 / self.queries

    def table(self) -> str:
        """A Markdown table of the figures."""
        lines = ["| category | queries | recall@1 | recall@5 |", "| --- | ---: | ---: | ---: |"]
        for category, (n, one, five) in sorted(self.by_category.items()):
            lines.append(f"| {category} | {n} | {one / n:.2f} | {five / n:.2f} |")
        lines.append(f"| **all** | {self.queries} | {self.recall_at_1:.2f} | {self.recall_at_5:.2f} |")
        return "\n".join(lines)


def load(name: str) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = json.loads((HERE / name).read_text(encoding="utf-8"))
    return data


async def store_corpus(client: httpx.AsyncClient) -> dict[str, str]:
    """Create the evaluation claims through the API; their ids by key (seed ones as ``seed:<key>``)."""
    ids = {}
    for claim in load("claims.json"):
        body = {k: v for k, v in claim.items() if k != "key"}
        response = await client.post("/claims", json=body)
        assert response.status_code == 201, response.text
        ids[claim["key"]] = response.json()["id"]
    seed_file = json.loads(next(seeds.DEFAULT_PATH.glob("*.json")).read_text(encoding="utf-8"))
    for claim in seed_file["claims"]:
        ids[f"seed:{claim['key']}"] = str(seeds.seed_id("claim", claim["key"]))
    return ids


async def evaluate(client: httpx.AsyncClient, ids: dict[str, str]) -> Recall:
    """Run every query and count where its claim ranks."""
    recall = Recall()
    for query in load("queries_seed.json") + load("queries_claims.json"):
        response = await client.get("/trace", params={"statement": query["query"], "limit": 5})
        assert response.status_code == 200, response.text
        ranked = [item["trace"]["claim"]["id"] for item in response.json()["items"]]
        expected = ids[query["expected"]]
        counts = recall.by_category[query["category"]]
        recall.queries += 1
        counts[0] += 1
        if ranked[:1] == [expected]:
            recall.at1 += 1
            counts[1] += 1
        if expected in ranked:
            recall.at5 += 1
            counts[2] += 1
        else:
            recall.misses.append(f"{query['category']}: {query['query']!r} -> {query['expected']}")
    return recall
