"""What the load generators send, drawn from the stored data with a fixed seed: the table
``bench_ids`` (every stored claim with a dense row number and its upstream depth), a sample of
stored claims, and from them the files of requests each scenario walks, one request a line,
shuffled: claims to read and trace, phrases to search, filters to list, bodies to post.
"""

from __future__ import annotations

import json
import random
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlencode

import asyncpg

MAX_DEPTH = 6
"""The corpus links claims up to six upstream claims deep; the depth series runs 0..6."""
FILTERS = ("origin", "via", "q", "kind+language", "since+until", "origin+since")
"""The filters of GET /claims in scenario (e), each also timed alone."""

# Every stored claim with a dense row number (so pgbench and the samplers can pick one at random
# with an integer) and its upstream depth: how many upstream claims its trace walks through.
BENCH_IDS = """
CREATE TABLE bench_ids AS
WITH RECURSIVE chain (id, depth) AS (
    SELECT c.id, 0 FROM claims c
     WHERE NOT EXISTS (SELECT 1 FROM hops h WHERE h.claim_id = c.id AND h.upstream_claim_id IS NOT NULL)
    UNION ALL
    SELECT h.claim_id, chain.depth + 1
      FROM chain JOIN hops h ON h.upstream_claim_id = chain.id
     WHERE chain.depth < 64
)
SELECT row_number() OVER (ORDER BY id)::integer AS n, id, depth FROM chain
"""
BENCH_IDS_KEY = "ALTER TABLE bench_ids ADD PRIMARY KEY (n)"
BENCH_IDS_DEPTH = "CREATE INDEX bench_ids_depth_idx ON bench_ids (depth, n)"

SAMPLE_CLAIMS = """
SELECT b.id, b.depth, c.text, c.kind, c.language, c.published_at, c.origin_source_id, c.relay_source_ids
  FROM bench_ids b JOIN claims c ON c.id = b.id
 WHERE b.n = ANY($1::integer[])
"""
AT_DEPTH = "SELECT id FROM bench_ids WHERE depth = $1 ORDER BY n LIMIT $2"

# Sources an inline hop can name without ambiguity: exactly one stored source answers the name.
UNAMBIGUOUS_SOURCES = """
SELECT s.name, s.kind
  FROM sources s
 WHERE s.merged_into IS NULL AND s.kind <> 'anonymous'
   AND (SELECT count(*) FROM sources t WHERE t.name_key = s.name_key)
     + (SELECT count(*) FROM source_aliases a WHERE a.alias_key = s.name_key) = 1
 ORDER BY s.seq
 LIMIT 2000
"""


@dataclass
class Requests:
    """The files of requests each scenario walks (one request a line), and their counts."""

    folder: Path
    claims: int = 0
    by_depth: dict[int, int] = field(default_factory=dict)

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.txt"

    def write(self, name: str, lines: list[str], rng: random.Random) -> None:
        rng.shuffle(lines)
        self.path(name).write_text("".join(f"{line}\n" for line in lines))


async def prepare(url: str, folder: Path, seed: int, sample: int) -> Requests:
    """Make ``bench_ids``, sample ``sample`` stored claims and write the request files of every scenario."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_ids")
        for statement in (BENCH_IDS, BENCH_IDS_KEY, BENCH_IDS_DEPTH, "VACUUM ANALYZE"):
            await conn.execute(statement)
        requests = Requests(folder, claims=await conn.fetchval("SELECT count(*) FROM bench_ids"))
        if requests.claims == 0:
            sys.exit("the corpus loaded no claims")
        rng = random.Random(seed)
        picked = rng.sample(range(1, requests.claims + 1), min(sample, requests.claims))
        claims = await conn.fetch(SAMPLE_CLAIMS, picked)
        names = [(r["name"], r["kind"]) for r in await conn.fetch(UNAMBIGUOUS_SOURCES)]
        for depth in range(MAX_DEPTH + 1):
            ids = [str(r["id"]) for r in await conn.fetch(AT_DEPTH, depth, 2000)]
            requests.by_depth[depth] = len(ids)
            if ids:
                requests.write(f"depth-{depth}", [f"/claims/{i}/trace" for i in ids], rng)
    finally:
        await conn.close()
    requests.write("status", [f"/claims/{r['id']}/status" for r in claims], rng)
    requests.write("trace", [f"/claims/{r['id']}/trace" for r in claims], rng)
    requests.write("statement", [f"/trace?statement={quote(phrase(r['text'], rng))}" for r in claims], rng)
    by_claim = [filters(r, rng) for r in claims]
    requests.write("filters", [rng.choice(list(f.values())) for f in by_claim], rng)
    for name in FILTERS:
        requests.write(f"filter-{name}", [f[name] for f in by_claim if name in f], rng)
    requests.write("create", [new_claim(r, names, rng) for r in claims[:5000]], rng)
    return requests


def phrase(text: str, rng: random.Random) -> str:
    """What a fact-checker pastes: four to ten consecutive words of a stored claim."""
    words = text.split()
    length = min(len(words), rng.randint(4, 10))
    start = rng.randrange(len(words) - length + 1)
    return " ".join(words[start : start + length])


def filters(claim: asyncpg.Record, rng: random.Random) -> dict[str, str]:
    """GET /claims with each filter a reader combines, built around a stored claim, by filter name."""
    published = claim["published_at"]
    words = re.findall(r"[A-Za-z]{5,}", claim["text"]) or ["claim"]
    found = {
        "origin": {"origin": str(claim["origin_source_id"])},
        "q": {"q": rng.choice(words)},
        "kind+language": {"kind": claim["kind"], "language": claim["language"]},
    }
    if claim["relay_source_ids"]:
        found["via"] = {"via": str(rng.choice(claim["relay_source_ids"]))}
    if published is not None:
        month = published.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        until = (
            month.replace(year=month.year + 1, month=1) if month.month == 12 else month.replace(month=month.month + 1)
        )
        found["since+until"] = {"since": month.isoformat(), "until": until.isoformat()}
        found["origin+since"] = {"origin": str(claim["origin_source_id"]), "since": month.isoformat()}
    return {name: "/claims?" + urlencode(query) for name, query in found.items()}


def new_claim(claim: asyncpg.Record, names: list[tuple[str, str]], rng: random.Random) -> str:
    """A POST /claims body: a stored claim's words relayed along a 3-hop chain of inline sources."""
    if len(names) < 3:
        names = [("Bench Wire", "outlet"), ("Bench Agency", "outlet"), ("Bench Speaker", "person")]
    outer, middle, origin = rng.sample(names, 3)
    body = {
        "text": f"{claim['text']} (relayed)",
        "kind": "paraphrase",
        "language": "en",
        "appeared_in": {"title": phrase(claim["text"], rng), "published_at": "2024-06-25T18:30:00Z"},
        "chain": [
            {"source": {"name": outer[0], "kind": outer[1]}, "cue": "reports"},
            {"source": {"name": middle[0], "kind": middle[1]}, "cue": "citing"},
            {"source": {"name": origin[0], "kind": origin[1]}, "cue": "told reporters"},
        ],
    }
    return json.dumps(body, separators=(",", ":"))
