"""Tracing: a claim's path with upstream claims expanded, its origin, and on whose behalf it spoke."""

from __future__ import annotations

import time
from datetime import date, datetime
from itertools import combinations
from math import comb
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import msgspec

from service.documents import appeared_in, made
from service.domain.names import fold, searchable
from service.errors import InvalidInput, NotFound
from service.model import (
    Affiliation,
    ClaimSummary,
    Origin,
    PathHop,
    Relation,
    SourceSummary,
    StatementMatch,
    Trace,
)
from service.repositories import traces as repo

LEVEL_TERMS = 64
"""The most ``k of n lexemes`` conjunctions a level's query may hold; beyond, one OR of every lexeme."""

LEVEL_CAP = 400
"""The most claims a level reads: a level with more matches takes those the index gives first."""

LEVEL_WORK = 50_000
"""The most work a level below the first may cost: the claims holding one of the stems the index must
walk for "at least k of n" (the n - k + 1 rarest: a claim holding k of n stems holds one of them),
times the conjunctions each is checked against. The budget bounds the slowest statements while
keeping the best match of almost every phrase (bench/README.md, "Why the code is as it is", has the
measurement)."""

LAST_LEVEL_CLAIMS = 10_000
"""The most claims the last level's OR may walk: it takes the rarest stems, at least one, while the
claims holding them stay within this."""

STATISTICS_SECONDS = 300.0
"""How long the stems' statistics are kept before they are read again (ANALYZE changes them)."""


class StemStatistics:
    """About how many claims hold each stem, from the statistics ANALYZE keeps of the search vectors,
    read at most every ``STATISTICS_SECONDS``: one per app, shared by its requests."""

    def __init__(self) -> None:
        self._claims: dict[str, float] = {}
        self._unlisted = 0.0
        self._read_at = -STATISTICS_SECONDS

    async def claims(self, conn: asyncpg.Connection, stems: list[str]) -> dict[str, float]:
        """About how many claims hold each of ``stems``, in that order."""
        if time.monotonic() - self._read_at >= STATISTICS_SECONDS:
            self._claims, self._unlisted = await repo.stem_claims(conn)
            self._read_at = time.monotonic()
        return {stem: self._claims.get(stem, self._unlisted) for stem in stems}


def _valid_at(affiliation: Affiliation, day: date) -> bool:
    return (affiliation.since is None or affiliation.since <= day) and (
        affiliation.until is None or day <= affiliation.until
    )


def origin_of(last: PathHop, affiliations: list[Affiliation], said_at: datetime | None) -> Origin:
    """The origin's role and organization: the hop's role picks among the affiliations valid then."""
    valid = [a for a in affiliations if said_at is None or _valid_at(a, said_at.date())]
    if last.role is not None:
        wanted = fold(last.role)
        same_role = [a for a in valid if a.role is not None and fold(a.role) == wanted]
        chosen = same_role[0] if same_role else (valid[0] if len(valid) == 1 else None)
        return Origin(source=last.source, role=last.role, on_behalf_of=chosen.organization if chosen else None)
    if valid:
        return Origin(source=last.source, role=valid[0].role, on_behalf_of=valid[0].organization)
    return Origin(source=last.source, role=None, on_behalf_of=None)


def trace_from_record(record: asyncpg.Record) -> Trace:
    """Assemble a trace from one row of the trace query."""
    rows: list[dict[str, Any]] = record["path"]
    path = [
        PathHop(
            position=position,
            source=msgspec.convert(row["source"], SourceSummary),
            cue=row["cue"],
            role=row["role"],
            claim_id=row["claim_id"],
        )
        for position, row in enumerate(rows)
    ]
    affiliations = msgspec.convert(record["origin_affiliations"], list[Affiliation], strict=False)
    origin = origin_of(path[-1], affiliations, record["origin_said_at"])
    return Trace(
        claim=ClaimSummary(
            id=str(record["id"]),
            text=record["text"],
            kind=record["kind"],
            language=record["language"],
            appeared_in=appeared_in(record),
            stated_at=record["stated_at"],
            status=record["status"],
            made=made(record),
        ),
        path=path,
        origin=origin,
        hops=len(path),
        anonymous_origin=origin.source.kind == "anonymous",
        upstream_depth=max(row["depth"] for row in rows),
        truncated=rows[-1]["upstream_claim_id"] is not None,
        related=msgspec.convert(record["related"], list[Relation], strict=False),
    )


async def trace(conn: asyncpg.Connection, claim_id: UUID, max_depth: int) -> Trace:
    """The full provenance of one stored claim."""
    records = await repo.traces(conn, [claim_id], max_depth)
    if not records:
        raise NotFound(f"no claim has the id {str(claim_id)!r}")
    return trace_from_record(records[0])


async def trace_statement(
    conn: asyncpg.Connection,
    statement: str,
    limit: int,
    max_depth: int,
    *,
    include_retracted: bool = False,
    statistics: StemStatistics | None = None,
) -> list[StatementMatch]:
    """The stored claims that best match a free text, best first, each with its trace; retracted
    claims only when ``include_retracted``."""
    folded = searchable(statement)
    if not folded:
        raise InvalidInput.field("statement", "the statement needs at least one letter or digit")
    matches = await best_matches(conn, folded, limit, include_retracted=include_retracted, statistics=statistics)
    if not matches:
        return []
    records = await repo.traces(conn, [m.id for m in matches], max_depth)
    by_id = {r["id"]: trace_from_record(r) for r in records}
    return [StatementMatch(score=min(max(m.score, 0.0), 1.0), trace=by_id[m.id]) for m in matches if m.id in by_id]


class Match(NamedTuple):
    """A candidate claim and its score; cover density breaks ties."""

    score: float
    rank: float
    id: UUID


def level_query(lexemes: list[str], k: int) -> str:
    """A tsquery matching the claims that hold at least ``k`` of ``lexemes``."""
    quoted = ["'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'" for lexeme in lexemes]
    return " | ".join("(" + " & ".join(terms) + ")" for terms in combinations(quoted, k))


def level_work(shares: list[float], k: int) -> float:
    """About what "at least ``k`` of the stems" costs the index, ``shares`` being how many claims hold
    each stem: the claims holding one of the ``n - k + 1`` rarest, times the conjunctions."""
    n = len(shares)
    return sum(sorted(shares)[: n - k + 1]) * comb(n, k)


def last_level_stems(stems: dict[str, float]) -> list[str]:
    """The stems of the last level's OR: the rarest, at least one, while their claims stay within
    ``LAST_LEVEL_CLAIMS``; in the statement's order."""
    rarest = sorted(stems, key=lambda stem: (stems[stem], stem))
    taken, claims = rarest[:1], stems[rarest[0]]
    for stem in rarest[1:]:
        claims += stems[stem]
        if claims > LAST_LEVEL_CLAIMS:
            break
        taken.append(stem)
    return [stem for stem in stems if stem in taken]


async def best_matches(
    conn: asyncpg.Connection,
    folded_statement: str,
    limit: int,
    *,
    include_retracted: bool = False,
    statistics: StemStatistics | None = None,
) -> list[Match]:
    """The ``limit`` claims scoring best against a folded statement, best first.

    Rather than scoring every claim sharing a word with the statement (a common word is in a large
    share of a million claims), the search goes down in levels: the claims holding all ``n`` of the
    statement's stems, then at least ``n - 1``, and so on, each level one indexed query reading at
    most ``LEVEL_CAP`` claims and scoring them where they are read, answering only its ``limit`` best
    (the rows sent, not the claims read, were most of a level's cost to the app). Since holding more
    stems always scores higher, it stops at the first
    level that found ``limit`` claims. The last level is one OR of the rarest stems (every stem, on
    a corpus too small for them to matter): it comes instead of a level whose conjunctions would
    exceed ``LEVEL_TERMS`` or whose work would exceed ``LEVEL_WORK`` (common stems, many
    conjunctions), estimated from the stems' statistics. Only when a level has more than
    ``LEVEL_CAP`` matches, or the last level comes early, are claims holding as many stems as some
    match left unscored.
    """
    lexemes = await repo.lexemes(conn, folded_statement)
    stems = await statistics.claims(conn, lexemes) if statistics else dict.fromkeys(lexemes, 0.0)
    shares = list(stems.values())
    n = len(lexemes)
    found: dict[UUID, Match] = {}
    for k in range(n, 0, -1):
        last = k < n and (comb(n, k) > LEVEL_TERMS or level_work(shares, k) > LEVEL_WORK)
        query = level_query(last_level_stems(stems), 1) if last else level_query(lexemes, k)
        rows = await repo.level(conn, query, lexemes, LEVEL_CAP, limit, include_retracted=include_retracted)
        for row in rows:
            found.setdefault(row["id"], Match(row["score"], row["rank"], row["id"]))
        # A level below another holds every claim of it (at least k of the stems), unless the one
        # above was cut at the cap, which ended the descent: so the claims read so far are this
        # level's count, and the best of each level together hold the best of all.
        if last or (rows and rows[0]["read"] >= limit):
            break
    return sorted(found.values(), key=lambda m: (-m.score, -m.rank, m.id))[:limit]
