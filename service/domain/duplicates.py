"""Likely duplicates among sources: one person stored twice under the ways the news names them.

A pair of names is scored from what they share, each reason named: the same name, an alias in common,
the same name once titles are set aside ("President Buhari" and "Buhari"), the same name spelt or
transliterated otherwise ("Дмитрий Песков" and "Dmitry Peskov"), or the same surname with a given
name that agrees, an initial ("M. Buhari") or a short form ("Pat Ryder"). A surname alone, or two
different given names, are not enough: families and namesakes share surnames. Two sources score by
their best pair of names, a little more when they belong to the same organization. Nothing is merged:
the scores are for a person to decide.
"""

from __future__ import annotations

from typing import NamedTuple
from uuid import UUID

import asyncpg

from service.domain import sources, titles
from service.domain.names import name_key, name_tokens, token_similarity
from service.model import DuplicateReason, LikelyDuplicate, Source, SourceSummary

LIKELY = 0.8
"""The score from which a pair is a likely duplicate (tests/test_duplicates.py measures it)."""
SAME_ORGANIZATION = 0.05
CANDIDATES = 20


class Likeness(NamedTuple):
    score: float
    reasons: list[DuplicateReason]


def _surname_and_given(tokens: list[str]) -> tuple[str, list[str]]:
    return tokens[-1], tokens[:-1]


def pair(a: str, b: str) -> Likeness:
    """How likely two written names are one person's."""
    if name_key(a) == name_key(b):
        return Likeness(1.0, ["same name"])
    bare_a, bare_b = titles.split(a).name or a, titles.split(b).name or b
    if name_key(bare_a) == name_key(bare_b):
        return Likeness(0.95, ["title variant"])
    ta, tb = name_tokens(bare_a), name_tokens(bare_b)
    if not ta or not tb:
        return Likeness(0.0, [])
    if ta == tb:
        return Likeness(0.92, ["transliteration"])
    surname_a, given_a = _surname_and_given(ta)
    surname_b, given_b = _surname_and_given(tb)
    if token_similarity(surname_a, surname_b) < 0.85:
        # A second surname written or not ("Pedro Sánchez Pérez-Castejón"): the shorter name's surname
        # among the longer's words after the first.
        shorter, longer = sorted((ta, tb), key=len)
        if len(shorter) < 2 or shorter[-1] not in longer[1:]:
            return Likeness(0.0, [])
        given_a, given_b = shorter[:1], longer[:1]
    if not given_a or not given_b:
        # A surname alone: with a title ("President Buhari") it names someone in office, likely the one
        # of that surname stored with a given name; without one, it may be any of a family.
        titled = titles.split(a).role is not None or titles.split(b).role is not None
        return Likeness(0.8, ["title variant", "shared surname"]) if titled else Likeness(0.7, ["shared surname"])
    first_a, first_b = given_a[0], given_b[0]
    spelt: list[DuplicateReason] = [] if surname_a == surname_b and first_a == first_b else ["transliteration"]
    if first_a == first_b or (len(first_a) > 2 and len(first_b) > 2 and token_similarity(first_a, first_b) >= 0.85):
        return Likeness(0.9, ["shared given name and surname", *spelt])
    if min(len(first_a), len(first_b)) <= 2 and first_a[0] == first_b[0]:
        return Likeness(0.85, ["shared surname and initial"])
    short, long = sorted((first_a, first_b), key=len)
    if len(short) >= 3 and long.startswith(short):
        return Likeness(0.82, ["shared surname", "short form of the given name"])
    return Likeness(0.3, ["shared surname"])


def likeness(a: Source, b: Source) -> Likeness:
    """How likely two stored sources are one: their best pair of names (an alias in common says so),
    and a little more when they belong to the same organization."""
    if a.kind != b.kind:
        return Likeness(0.0, [])
    best = Likeness(0.0, [])
    for name_a in (a.name, *a.aliases):
        for name_b in (b.name, *b.aliases):
            found = pair(name_a, name_b)
            if found.score == 1.0 and (name_a != a.name or name_b != b.name):
                found = Likeness(1.0, ["alias overlap"])
            if found.score > best.score:
                best = found
    shared = {x.organization.id for x in a.affiliations} & {y.organization.id for y in b.affiliations}
    if best.score > 0 and shared:
        best = Likeness(min(1.0, best.score + SAME_ORGANIZATION), [*best.reasons, "same affiliations"])
    return best


async def of(conn: asyncpg.Connection, source: Source, min_score: float = LIKELY) -> list[LikelyDuplicate]:
    """The stored sources likely to be ``source`` again, best first."""
    seen: dict[str, Source] = {}
    names = {source.name, *source.aliases}
    names |= {bare for name in list(names) if (bare := titles.split(name).name)}
    for name in sorted(names):
        for found in await sources.find(conn, name, kind=source.kind, member_of=None, after=None, limit=CANDIDATES):
            if found.source.id != source.id:
                seen.setdefault(found.source.id, found.source)
    scored = [(likeness(source, other), other) for other in seen.values()]
    likely = [
        LikelyDuplicate(
            source=SourceSummary(id=other.id, name=other.name, kind=other.kind),
            score=round(found.score, 3),
            reasons=found.reasons,
        )
        for found, other in scored
        if found.score >= min_score
    ]
    return sorted(likely, key=lambda d: (-d.score, d.source.name, d.source.id))


async def of_id(conn: asyncpg.Connection, source_id: UUID, min_score: float = LIKELY) -> list[LikelyDuplicate]:
    """The likely duplicates of a stored source (404 if unknown, ``Moved`` if merged)."""
    return await of(conn, (await sources.read(conn, source_id, "/duplicates")).source, min_score)


async def every(conn: asyncpg.Connection, min_score: float = LIKELY) -> list[tuple[Source, LikelyDuplicate]]:
    """Every likely pair among the unmerged sources, each once, best first."""
    pairs: list[tuple[Source, LikelyDuplicate]] = []
    before: int | None = None
    while batch := await sources.page(conn, kind=None, member_of=None, before_seq=before, limit=500):
        for stored in batch:
            for duplicate in await of(conn, stored.source, min_score):
                if stored.source.id < duplicate.source.id:
                    pairs.append((stored.source, duplicate))
        before = batch[-1].seq
    return sorted(pairs, key=lambda p: (-p[1].score, p[0].name, p[1].source.name))
