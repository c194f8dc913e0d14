"""``/sources``: create, read, find, and the claims a source originated or relayed."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

import asyncpg
from litestar import Controller, Request, Response, get, patch, post
from litestar.params import JSONBody, Parameter

from service.api import examples
from service.api.auth import BEARER, Actor
from service.api.claims import claim_page
from service.api.connections import Conn
from service.api.duplicates import DUPLICATES_LINK, duplicates_link
from service.api.etags import IfMatch, etag
from service.api.examples import with_examples
from service.api.idempotency import REPLAYED_HEADER, Idempotent
from service.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, encode_cursor, next_link
from service.api.params import UUID_FORMAT, SourceIdPath, SourceIfMatch
from service.api.problems import etag_header, problems
from service.domain import sources as domain
from service.domain.claims import ClaimFilters
from service.domain.ids import path_id
from service.domain.names import name_key
from service.errors import InvalidInput
from service.model import ClaimPage, MergeIn, Source, SourceIn, SourceKind, SourcePage, SourcePatch

Role = Literal["origin", "relay", "any"]


ETAG_HEADER = etag_header("source")


async def source_response(conn: asyncpg.Connection, source_id: UUID, status_code: int = 200) -> Response[Source]:
    """One whole source with its ``ETag``; 404 if unknown, 308 to the survivor if merged."""
    stored = await domain.read(conn, source_id)
    source = stored.source
    headers = {"ETag": etag(stored.version)}
    if status_code == 201:
        headers["Location"] = f"/sources/{source.id}"
    return Response(source, status_code=status_code, headers=headers)


class SourceController(Controller):
    """Sources: people, organizations, outlets and anonymous sources."""

    path = "/sources"
    tags = ["sources"]

    @post(
        operation_id="createSource",
        operation_class=with_examples(request=examples.CREATE_SOURCE, response=examples.CREATED_SOURCE_ANSWER),
        summary="Create a source",
        description="Creates a source with its aliases, identifiers and affiliations. Always creates: "
        "to reuse a stored source by name, name it inline in a claim's chain instead. When stored sources "
        "are likely the same one, a `Link` header points at them (`/sources/{id}/duplicates`): merge if so.",
        responses=problems(400, 401, 403, 409, 422, idempotent=True),
        response_headers=[*ETAG_HEADER, REPLAYED_HEADER, DUPLICATES_LINK],
        security=BEARER,
        opt={"scope": "write"},
    )
    async def create_source(
        self, data: JSONBody[SourceIn], conn: Conn, actor: Actor, idempotency: Idempotent
    ) -> Response[Source]:
        async def write(conn: asyncpg.Connection) -> Response[Source]:
            source_id = await domain.add(conn, data, actor=actor)
            answer = await source_response(conn, source_id, status_code=201)
            answer.headers.update(await duplicates_link(conn, [source_id]))
            return answer

        return await idempotency.run(conn, write)

    @get(
        operation_id="listSources",
        operation_class=with_examples(response=examples.SOURCE_PAGE_ANSWER),
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
        q: Annotated[
            str | None,
            Parameter(min_length=1, max_length=300, description="A name to find (a letter or digit at least)."),
        ] = None,
        kind: Annotated[SourceKind | None, Parameter(description="Only sources of this kind.")] = None,
        member_of: Annotated[
            str | None,
            Parameter(
                max_length=100,
                description="Only members of this organization or outlet (an id).",
                schema_extra=UUID_FORMAT,
            ),
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[SourcePage]:
        organization = await domain.filter_id(conn, member_of, "member_of")
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
            items = [stored.source for stored in found[:limit]]
            last = found[limit - 1] if len(found) > limit else None
            next_cursor = encode_cursor("sources?q", last.source.score, last.seq) if last else None
        else:
            after = decode_cursor(cursor, "sources", (int,))
            listed = await domain.page(
                conn, kind=kind, member_of=organization, before_seq=after[0] if after else None, limit=limit + 1
            )
            items = [stored.source for stored in listed[:limit]]
            last = listed[limit - 1] if len(listed) > limit else None
            next_cursor = encode_cursor("sources", last.seq) if last else None
        return Response(SourcePage(items=items, next_cursor=next_cursor), headers=next_link(request, next_cursor))

    @get(
        "/{source_id:str}",
        operation_id="getSource",
        operation_class=with_examples(response=examples.SOURCE_ANSWER),
        summary="Read one source",
        description="One source with its aliases, identifiers and affiliations, and its `ETag`. A source "
        "merged into another answers 308 with the survivor's `Location`.",
        responses=problems(404),
        response_headers=ETAG_HEADER,
    )
    async def get_source(self, conn: Conn, source_id: SourceIdPath) -> Response[Source]:
        return await source_response(conn, path_id(source_id, "source"))

    @patch(
        "/{source_id:str}",
        operation_id="updateSource",
        operation_class=with_examples(request=examples.UPDATE_SOURCE, response=examples.SOURCE_ANSWER),
        summary="Edit a source",
        description="Each given field replaces the stored one (`aliases` and `affiliations` as whole "
        "lists; `description: null` clears it). `If-Match` must carry the `ETag` of the source as "
        "read: without it 428, with a stale one 412, so no edit silently overwrites another. An "
        "affiliation given twice, or a Wikidata identifier another source has, is a 409.",
        responses=problems(401, 403, 404, 409, 412, 422, 428),
        response_headers=ETAG_HEADER,
        security=BEARER,
        opt={"scope": "write"},
    )
    async def update_source(
        self,
        data: JSONBody[SourcePatch],
        conn: Conn,
        actor: Actor,
        source_id: SourceIdPath,
        if_match: SourceIfMatch = None,
    ) -> Response[Source]:
        sid = path_id(source_id, "source")
        await domain.edit(conn, sid, data, IfMatch(if_match), actor=actor)
        return await source_response(conn, sid)

    @post(
        "/{source_id:str}/merge",
        operation_id="mergeSource",
        operation_class=with_examples(request=examples.MERGE_SOURCE, response=examples.MERGED_SOURCE_ANSWER),
        summary="Merge a duplicate source into another",
        description="Folds this source into `into` in one transaction: its name and aliases become the "
        "survivor's aliases, its affiliations, identifiers (the survivor's win) and every hop and claim "
        "that named it move over. Afterwards this id answers 308 to the survivor, and lists and traces "
        "show only the survivor. Merging into itself or into a merged source is a 422; merging a source "
        "already merged is a 409. Answers the survivor. Needs an `admin` key.",
        status_code=200,
        responses=problems(401, 403, 404, 409, 422, idempotent=True),
        response_headers=[*ETAG_HEADER, REPLAYED_HEADER],
        security=BEARER,
        opt={"scope": "admin"},
    )
    async def merge_source(
        self,
        data: JSONBody[MergeIn],
        conn: Conn,
        actor: Actor,
        idempotency: Idempotent,
        source_id: Annotated[str, Parameter(description="The duplicate's id.", schema_extra=UUID_FORMAT)],
    ) -> Response[Source]:
        duplicate = path_id(source_id, "source")

        async def write(conn: asyncpg.Connection) -> Response[Source]:
            survivor = await domain.merge(conn, duplicate, data, actor=actor)
            return await source_response(conn, survivor)

        return await idempotency.run(conn, write)

    @get(
        "/{source_id:str}/claims",
        operation_id="listSourceClaims",
        operation_class=with_examples(response=examples.CLAIM_PAGE_ANSWER),
        summary="Claims a source originated or relayed",
        description="`role=origin`: claims whose traced origin (following upstream links) is this "
        "source; `relay`: claims it relayed; `any`: either. Newest first.",
        responses=problems(400, 404, 422),
    )
    async def list_source_claims(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        source_id: SourceIdPath,
        role: Annotated[Role, Parameter(description="Which part the source played.")] = "any",
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[ClaimPage]:
        sid = path_id(source_id, "source")
        query = f"?{request.url.query}" if request.url.query else ""
        await domain.read(conn, sid, f"/claims{query}")
        filters = {
            "origin": ClaimFilters(origin=sid),
            "relay": ClaimFilters(via=sid),
            "any": ClaimFilters(origin_or_via=sid),
        }[role]
        return await claim_page(request, conn, filters, limit, cursor)
