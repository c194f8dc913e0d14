"""``POST /claims/import``: many claims in one request, as NDJSON, stored in batches and reported line by line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, Router, post
from litestar.exceptions import HTTPException
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from msgspec import Meta

from service.api.auth import BEARER, Actor
from service.api.connections import Conn
from service.api.examples import JsonExample
from service.api.idempotency import REPLAYED_HEADER, Idempotent
from service.api.metrics import IMPORT_LINES, IMPORTS_RUNNING
from service.api.problems import FieldProblem, Problem, problems
from service.errors import PROBLEM_MEDIA_TYPE
from service.imports.pipeline import Importer, LineFailure, split_lines
from service.settings import AppSettings, Settings

NDJSON_TYPES = ("application/x-ndjson", "application/jsonl")
BATCH_LINES = 2_000
"""Lines a batch stores in one transaction: a batch holds the source-creation lock about a second at most."""
LISTED_FAILURES = 1_000


class LineProblemBody(Problem, omit_defaults=True):
    """The problem `POST /claims` would have answered for the line: status, title, detail, and for
    invalid input the offending fields (and, for an ambiguous inline source, the candidates)."""


class LineProblem(msgspec.Struct):
    """A line that was not stored, and why."""

    line: Annotated[int, Meta(description="Its number in the body, from 1; blank lines count.", examples=[7])]
    problem: Annotated[LineProblemBody, Meta(description="What `POST /claims` would have answered for it.")]


class ClaimImport(msgspec.Struct):
    """What an import stored: counts, and the lines that failed with their problems."""

    imported: Annotated[int, Meta(description="Lines stored as new claims.", examples=[41])]
    already_stored: Annotated[
        int, Meta(description="Lines whose `id` was already stored (or came earlier in the body): skipped.")
    ]
    failed: Annotated[int, Meta(description="Lines not stored: each stores nothing.", examples=[1])]
    failures: Annotated[
        list[LineProblem], Meta(description=f"The failed lines in order, the first {LISTED_FAILURES:,} of them.")
    ]


_LINES = [
    {
        "id": "aba19814-a5bd-4f6e-9a97-86dba6abb8e1",
        "text": "Austin initiated the phone call with Belousov, the first since March 2023",
        "kind": "paraphrase",
        "chain": [
            {"source": {"name": "Hina", "kind": "outlet"}, "cue": "reports"},
            {"source": {"name": "Reuters", "kind": "outlet"}, "cue": "citing"},
            {"source": {"name": "Patrick Ryder", "kind": "person"}, "cue": "told reporters", "role": "spokesman"},
        ],
    },
    {
        "text": "The call lasted about an hour",
        "kind": "paraphrase",
        "chain": [
            {"source": {"name": "Daily Bugle", "kind": "outlet"}, "cue": "reports"},
            {"cue": "citing", "upstream_claim_id": "aba19814-a5bd-4f6e-9a97-86dba6abb8e1"},
        ],
    },
]
EXAMPLE_BODY = "".join(msgspec.json.encode(line).decode() + "\n" for line in _LINES)
EXAMPLE_REPORT = ClaimImport(
    imported=41,
    already_stored=2,
    failed=1,
    failures=[
        LineProblem(
            line=7,
            problem=LineProblemBody(
                status=422,
                title="Unprocessable Entity",
                detail="chain[1].upstream_claim_id: no claim has this id",
                errors=[FieldProblem(field="chain[1].upstream_claim_id", message="no claim has this id")],
            ),
        )
    ],
)


class _Listed:
    """An import's progress over HTTP: its first failures, listed in the answer, and its lines counted."""

    def __init__(self) -> None:
        self.failures: list[LineProblem] = []

    def failed(self, failure: LineFailure) -> None:
        if len(self.failures) < LISTED_FAILURES:
            problem = msgspec.convert(failure.problem, LineProblemBody)
            self.failures.append(LineProblem(line=failure.number, problem=problem))

    def done(self, lines: int) -> None:
        IMPORT_LINES.inc(lines)


@dataclass
class NdjsonOperation(Operation):
    """The operation with its NDJSON request body described: Litestar describes none for a streamed body."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            required=True,
            description="NDJSON (`application/x-ndjson`, or `application/jsonl`): one `POST /claims` body a "
            "line (a `ClaimIn`), with the claim's `id` when it should keep one, as `provenance export` "
            "writes them. Blank lines are skipped.",
            # One media type documented (application/jsonl is read alike), as bytes: a client generator
            # told to send application/x-ndjson as application/octet-stream then takes a file.
            content={
                NDJSON_TYPES[0]: OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.STRING,
                        format=OpenAPIFormat.BINARY,
                        description="Lines of JSON, each a claim to store.",
                    ),
                    examples={
                        "two-claims": JsonExample(summary="A claim, and one linking it upstream", value=EXAMPLE_BODY)
                    },
                )
            },
        )
        for status, answer in (self.responses or {}).items():
            if status == "200" and isinstance(answer, OpenAPIResponse) and answer.content:
                answer.content["application/json"].examples = {
                    "report": JsonExample(summary="One line failed", value=msgspec.to_builtins(EXAMPLE_REPORT))
                }


TOO_LARGE = ResponseSpec(
    data_container=Problem,
    description="The body is larger than `PROVENANCE_MAX_IMPORT_BYTES` (default 128 MiB): with a `Content-Length` "
    "over it, before anything is stored; a body sent in chunks is cut off where it passes the bound, and the "
    "batches stored before stay stored (send it again: lines whose `id` is stored are skipped).",
    media_type=PROBLEM_MEDIA_TYPE,
    generate_examples=False,
    examples=[
        JsonExample(
            id="too-large",
            summary="A body over the bound",
            value={"status": 413, "title": "Request Entity Too Large", "detail": "Request Entity Too Large"},
        )
    ],
)


@post(
    "/",
    operation_id="importClaims",
    operation_class=NdjsonOperation,
    summary="Import claims in bulk (NDJSON)",
    description="Stores the claims of an NDJSON body, one `POST /claims` body a line, as `provenance import` "
    "does: each line is stored, or refused with the problem `POST /claims` would have answered, and a refused "
    "line stores nothing while the others are stored all the same. A line keeps its `id` if it has one; a line "
    "whose `id` is already stored (or came earlier) is skipped and counted, so an import can be sent again. "
    f"Lines are stored in batches of {BATCH_LINES:,}, each in one transaction, as the body arrives. The answer "
    "is 200 with the counts and the failed lines, even when some failed. A line longer than "
    "`PROVENANCE_MAX_BODY_BYTES` is refused with 413 like an oversized `POST /claims`; the whole body may be up "
    "to `PROVENANCE_MAX_IMPORT_BYTES`.",
    status_code=200,
    responses={**problems(401, 403, 415, 422, idempotent=True), 413: TOO_LARGE},
    response_headers=[REPLAYED_HEADER],
    security=BEARER,
    opt={"scope": "write"},
    tags=["claims"],
)
async def import_claims(
    request: Request[Any, Any, Any], conn: Conn, actor: Actor, settings: AppSettings, idempotency: Idempotent
) -> Response[ClaimImport]:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in NDJSON_TYPES:
        raise HTTPException(
            status_code=415, detail=f"send the claims as NDJSON: Content-Type {' or '.join(NDJSON_TYPES)}"
        )
    listed = _Listed()

    async def work(body: AsyncIterator[bytes]) -> Response[ClaimImport]:
        # A second connection reads ahead for the next batch while one is written.
        async with request.app.state.pool.acquire(timeout=settings.acquire_timeout) as reader:
            bound = settings.max_body_bytes
            importer = Importer(conn, listed, actor=actor, batch_lines=BATCH_LINES, max_line_bytes=bound, reader=reader)
            with IMPORTS_RUNNING.track_inprogress():
                report = await importer.run(split_lines(body))
        stored, failures = report.already_stored, listed.failures
        answer = ClaimImport(imported=report.imported, already_stored=stored, failed=report.failed, failures=failures)
        return Response(answer, status_code=200)

    return await idempotency.run_streamed(request.app.state.pool, settings.acquire_timeout, request.stream(), work)


def import_router(settings: Settings) -> Router:
    """``POST /claims/import`` with its own body bound, ``PROVENANCE_MAX_IMPORT_BYTES``."""
    return Router("/claims/import", route_handlers=[import_claims], request_max_body_size=settings.max_import_bytes)
