"""Tracing: a claim's path with upstream claims expanded, its origin, and on whose behalf it spoke."""

from __future__ import annotations

from datetime import date, datetime
from itertools import combinations
from math import comb
from typing import Any, NamedTuple
from uuid import UUID

import asyncpg
import msgspec

from service.documents import appeared_in
from service.domain.names import fold
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
    conn: asyncpg.Connection, statement: str, limit: int, max_depth: int, *, include_retracted: bool = False
) -> list[StatementMatch]:
    """The stored claims that best match a free text, best first, each with its trace; retracted
    claims only when ``include_retracted``."""
    folded = fold(statement)
    if not folded:
        raise InvalidInput.field("statement", "the statement needs at least one letter or digit")
    matches = await best_matches(conn, folded, limit, include_retracted=include_retracted)
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


def score(matched: int, statement_lexemes: int, claim_lexemes: int) -> float:
    """``(m + m/c) / (n + 1)`` for a claim of ``c`` distinct stems holding ``m`` of the statement's ``n``:
    more of the statement always scores higher, then more of the claim covered; an exact match is 1."""
    return round((matched + matched / max(claim_lexemes, 1)) / (statement_lexemes + 1), 4)


async def best_matches(
    conn: asyncpg.Connection, folded_statement: str, limit: int, *, include_retracted: bool = False
) -> list[Match]:
    """The ``limit`` claims scoring best against a folded statement, best first.

    Rather than scoring every claim sharing a word with the statement (a common word is in a large
    share of a million claims), the search goes down in levels: the claims holding all ``n`` of the
    statement's stems, then at least ``n - 1``, and so on, each level one indexed query reading at
    most ``LEVEL_CAP`` claims. Since holding more stems always scores higher, it stops at the first
    level that found ``limit`` claims. A level whose conjunctions would exceed ``LEVEL_TERMS`` is
    replaced by one OR of every stem, the last level. Only when a level has more than ``LEVEL_CAP``
    matches are some of those (holding the same number of stems) left unscored.
    """
    lexemes = await repo.lexemes(conn, folded_statement)
    n = len(lexemes)
    found: dict[UUID, Match] = {}
    for k in range(n, 0, -1):
        last = comb(n, k) > LEVEL_TERMS
        query = level_query(lexemes, 1 if last else k)
        for row in await repo.matching(conn, query, lexemes, LEVEL_CAP, include_retracted=include_retracted):
            if row["id"] not in found:
                found[row["id"]] = Match(score(row["matched"], n, row["claim_lexemes"]), row["rank"], row["id"])
        if last or len(found) >= limit:
            break
    return sorted(found.values(), key=lambda m: (-m.score, -m.rank, m.id))[:limit]
