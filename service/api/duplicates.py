"""``/sources/{id}/duplicates``: the stored sources likely to be one source again; and the ``Link`` a
write answers with when a source it created has likely duplicates, so a client can merge at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated
from uuid import UUID

import asyncpg
from litestar import get
from litestar.datastructures import ResponseHeader
from litestar.params import Parameter

from service.api.connections import Conn
from service.api.params import SourceIdPath
from service.api.problems import problems
from service.domain import duplicates as domain
from service.domain import sources
from service.domain.ids import path_id
from service.model import LikelyDuplicates

DUPLICATES_REL = "duplicates"
DUPLICATES_LINK = ResponseHeader(
    name="Link",
    description='`</sources/{id}/duplicates>; rel="duplicates"` for each source the write created that has '
    "likely duplicates among the stored sources: read them, and merge if they are one. Absent when there are none.",
    value='</sources/2f1c9a4e-6b7d-4c1e-9f3a-8d2b5e7c1a90/duplicates>; rel="duplicates"',  # documents it as a string
    documentation_only=True,
)


@get(
    "/sources/{source_id:str}/duplicates",
    operation_id="getSourceDuplicates",
    summary="Stored sources likely to be this one again",
    description="Sources of the same kind likely to be the same person or body, best first, each with a "
    "`score` (0 to 1) and its `reasons`: the same name or an alias in common, the same name once a title "
    'is set aside ("President Buhari"), another spelling or transliteration, the same surname with an '
    "initial or a short form of the given name, the same affiliations. A surname alone, or different "
    "given names, are not enough. Nothing is merged: `POST /sources/{id}/merge` does that.",
    tags=["sources"],
    responses=problems(404, 422),
)
async def source_duplicates(
    conn: Conn,
    source_id: SourceIdPath,
    min_score: Annotated[
        float, Parameter(ge=0, le=1, description="The lowest score listed (0.8: likely duplicates).")
    ] = domain.LIKELY,
) -> LikelyDuplicates:
    return LikelyDuplicates(items=await domain.of_id(conn, path_id(source_id, "source"), min_score))


async def duplicates_link(conn: asyncpg.Connection, created: Sequence[UUID]) -> dict[str, str]:
    """The ``Link`` header naming the likely duplicates of each source a write created, if any has some."""
    links = []
    for source_id in created:
        stored = (await sources.read(conn, source_id)).source
        if await domain.of(conn, stored):
            links.append(f'</sources/{source_id}/duplicates>; rel="{DUPLICATES_REL}"')
    return {"Link": ", ".join(links)} if links else {}
