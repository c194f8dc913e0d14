"""``/sources``: create, read, find, and the claims a source originated or relayed."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import asyncpg
from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody, Parameter

from service import documents
from service.api.claims import claim_page
from service.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, encode_cursor, next_link
from service.api.problems import problems
from service.db import Conn
from service.domain import sources as domain
from service.domain.ids import field_id, path_id
from service.domain.names import name_key
from service.errors import InvalidInput, NotFound
from service.model import ClaimPage, Source, SourceIn, SourceKind, SourcePage
from service.repositories import sources as repo
from service.repositories.claims import ClaimFilters

Role = Literal["origin", "relay", "any"]


async def load_source(conn: asyncpg.Connection, source_id: str) -> Source:
    """One whole source by its path id, or 404."""
    records = await repo.documents(conn, [path_id(source_id, "source")])
    if not records:
        raise NotFound(f"no source has the id {source_id!r}")
    return documents.source(records[0])


class SourceController(Controller):
    """Sources: people, organizations, outlets and anonymous sources."""

    path = "/sources"
    tags = ["sources"]

    @post(
        operation_id="createSource",
        summary="Create a source",
        description="Creates a source with its aliases, identifiers and affiliations. Always creates: "
        "to reuse a stored source by name, name it inline in a claim's chain instead.",
        responses=problems(400, 409, 422),
    )
    async def create_source(self, data: JSONBody[SourceIn], conn: Conn) -> Response[Source]:
        async with conn.transaction():
            source_id = await domain.create(conn, data)
        source = await load_source(conn, str(source_id))
        return Response(source, status_code=201, headers={"Location": f"/sources/{source.id}"})

    @get(
        operation_id="listSources",
        summary="List or find sources",
        description="Without `q`, the newest sources first. With `q`, sources whose name or an alias "
        "matches it (case, accents and punctuation ignored), best match first, each with a `score`. "
        "`kind` and `member_of` (an organization's id) narrow either.",
        responses=problems(400, 422),
    )
    async def list_sources(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        q: Annotated[str | None, Parameter(min_length=1, max_length=300, description="A name to find.")] = None,
        kind: Annotated[SourceKind | None, Parameter(description="Only sources of this kind.")] = None,
        member_of: Annotated[
            str | None, Parameter(max_length=100, description="Only members of this organization or outlet (an id).")
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[SourcePage]:
        organization = field_id(member_of, "member_of") if member_of else None
        if q is not None and not name_key(q):
            raise InvalidInput.field("q", "needs at least one letter or digit")
        if q is not None:
            after = decode_cursor(cursor, "sources?q", (float, int))
            found = await domain.find(
                conn,
                q,
                kind=kind,
                member_of=organization,
                after=(after[0], after[1]) if after else None,
                limit=limit + 1,
            )
            items = [documents.source(record, score) for score, record in found[:limit]]
            last = found[limit - 1] if len(found) > limit else None
            next_cursor = encode_cursor("sources?q", last[0], last[1]["seq"]) if last else None
        else:
            after = decode_cursor(cursor, "sources", (int,))
            records = await repo.page(
                conn, kind=kind, member_of=organization, before_seq=after[0] if after else None, limit=limit + 1
            )
            items = [documents.source(r) for r in records[:limit]]
            last = records[limit - 1] if len(records) > limit else None
            next_cursor = encode_cursor("sources", last["seq"]) if last else None
        return Response(SourcePage(items=items, next_cursor=next_cursor), headers=next_link(request, next_cursor))

    @get(
        "/{source_id:str}",
        operation_id="getSource",
        summary="Read one source",
        description="One source with its aliases, identifiers and affiliations.",
        responses=problems(404),
    )
    async def get_source(
        self, conn: Conn, source_id: Annotated[str, Parameter(description="The source's id.")]
    ) -> Source:
        return await load_source(conn, source_id)

    @get(
        "/{source_id:str}/claims",
        operation_id="listSourceClaims",
        summary="Claims a source originated or relayed",
        description="`role=origin`: claims whose traced origin (following upstream links) is this "
        "source; `relay`: claims it relayed; `any`: either. Newest first.",
        responses=problems(400, 404, 422),
    )
    async def list_source_claims(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        source_id: Annotated[str, Parameter(description="The source's id.")],
        role: Annotated[Role, Parameter(description="Which part the source played.")] = "any",
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[ClaimPage]:
        sid = path_id(source_id, "source")
        if await repo.summary(conn, sid) is None:
            raise NotFound(f"no source has the id {source_id!r}")
        filters = {
            "origin": ClaimFilters(origin=sid),
            "relay": ClaimFilters(via=sid),
            "any": ClaimFilters(origin_or_via=sid),
        }[role]
        return await claim_page(request, conn, filters, limit, cursor)
