"""The problem responses every operation documents, with an example each, from one shared table."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated

import msgspec
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec
from msgspec import Meta

from service.api.examples import JsonExample
from service.errors import PROBLEM_MEDIA_TYPE
from service.model import SourceSummary


class FieldProblem(msgspec.Struct):
    """One offending field."""

    field: Annotated[
        str,
        Meta(
            description="Where: a body field's path, a parameter's name, or `body` for the body as a whole.",
            examples=["chain[1].source_id"],
        ),
    ]
    message: Annotated[str, Meta(description="What is wrong with it.", examples=["no source has this id"])]


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem: every error of this API has this shape."""

    status: Annotated[int, Meta(description="The HTTP status code.", examples=[404])]
    title: Annotated[str, Meta(description="The status in words.", examples=["Not Found"])]
    detail: Annotated[str, Meta(description="What went wrong with this request, for a person to read.")]
    type: Annotated[str, Meta(description="The problem type; left out, it means `about:blank`.")] = "about:blank"
    errors: Annotated[list[FieldProblem], Meta(description="The offending fields, for invalid input.")] | None = None
    candidates: (
        Annotated[
            list[SourceSummary],
            Meta(description="For an ambiguous inline source: the stored sources it matches; name one by id."),
        ]
        | None
    ) = None
    constraint: Annotated[str, Meta(description="For a conflict with stored data: the violated constraint.")] | (
        None
    ) = None
    survivor: (
        Annotated[
            str, Meta(description="For a merge of a source already merged: the id of the source it was merged into.")
        ]
        | None
    ) = None
    request_id: (
        Annotated[
            str,
            Meta(
                description="The request's id, as `X-Request-Id` answered it: quote it in a report, it finds the logs."
            ),
        ]
        | None
    ) = None


_DESCRIPTIONS = {
    400: "The request could not be parsed (malformed JSON or query), or names a query parameter the operation "
    "does not have.",
    401: "No API key, or an unknown, revoked or malformed one: send `Authorization: Bearer <key>`. "
    "`WWW-Authenticate` names the scheme.",
    403: "The API key's scope does not allow this: writes need `write` or `admin`, merges `admin`.",
    404: "No such resource, or an id that is not one.",
    409: "The request conflicts with stored data.",
    412: "`If-Match` names a version that is no longer current: read again and retry.",
    422: "The input breaks a rule; `errors` names the fields.",
    413: "The body is larger than `PROVENANCE_MAX_BODY_BYTES` (default 1 MiB).",
    415: "The body is not of a media type this operation reads; `detail` names those it does.",
    428: "An edit needs `If-Match` with the `ETag` as read.",
    429: "Too many requests this minute for this API key (else this address); `Retry-After` says when to "
    "come back, and `RateLimit-Limit`, `RateLimit-Remaining` and `RateLimit-Reset` are on every "
    "counted response.",
    500: "A bug: the server failed to answer.",
    503: "The database is unavailable; retry later.",
}


# What an Idempotency-Key adds to the 409 and 422 of a POST (service.api.idempotency).
_IDEMPOTENT_DESCRIPTIONS = {
    409: " Or a request with the same `Idempotency-Key` is still running: retry after `Retry-After` seconds.",
    422: " Or the `Idempotency-Key` is malformed, or was sent before with another request (method, path or body).",
}


def _example(key: str, summary: str, status: int, detail: str, **extra: object) -> JsonExample:
    value = {"status": status, "title": HTTPStatus(status).phrase, "detail": detail, **extra}
    return JsonExample(id=key, summary=summary, value=value)


_EXAMPLES = {
    400: [_example("unparseable", "A body that is not JSON", 400, "Input data was truncated")],
    401: [
        _example(
            "no-key",
            "A write without a key",
            401,
            "this operation needs an API key: send `Authorization: Bearer <key>`",
        ),
        _example("revoked-key", "A revoked or unknown key", 401, "the API key is unknown or revoked"),
    ],
    403: [
        _example(
            "read-key",
            "A write with a read key",
            403,
            "this operation needs a key with the write scope; this key has read",
        )
    ],
    404: [_example("unknown-id", "An id that names nothing", 404, "no claim has the id 'not-an-id'")],
    409: [
        _example(
            "repeated",
            "A relation recorded twice",
            409,
            "this relation is already recorded",
            constraint="claim_relations_unique",
        )
    ],
    412: [
        _example(
            "stale", "An edit of a version read before", 412, 'the claim is at "3", not "2": read it again and retry'
        )
    ],
    422: [
        _example(
            "invalid-field",
            "A field breaking the schema",
            422,
            "Validation failed for POST /claims",
            errors=[{"field": "kind", "message": "Invalid enum value 'rumour'"}],
        ),
        _example(
            "ambiguous-source",
            "An inline source matching two stored ones",
            422,
            "chain[0].source: 'Pat Ryder' matches 2 stored sources; name one by source_id",
            errors=[{"field": "chain[0].source.name", "message": "matches several sources"}],
            candidates=[
                {"id": "9062f0c0-9021-5499-9d41-d89165299f5f", "name": "Patrick Ryder", "kind": "person"},
                {"id": "2a7db910-2053-4c85-bf29-c23b5a3756f8", "name": "Pat Ryder", "kind": "person"},
            ],
        ),
    ],
    428: [
        _example(
            "no-if-match", "An edit without If-Match", 428, "send If-Match with the ETag of the claim as you read it"
        )
    ],
    413: [_example("too-large", "A body over the limit", 413, "Request Entity Too Large")],
    415: [
        _example(
            "not-ndjson",
            "JSON sent where NDJSON is read",
            415,
            "send the claims as NDJSON: Content-Type application/x-ndjson or application/jsonl",
        )
    ],
    429: [_example("too-many", "Over this minute's budget", 429, "Too many requests")],
    500: [_example("bug", "A bug", 500, "The server failed to answer this request; it has been logged.")],
    503: [
        _example(
            "database-down",
            "The database does not answer",
            503,
            "The database does not answer right now; retry in a moment.",
        )
    ],
}

_IDEMPOTENT_EXAMPLES = {
    409: [
        _example(
            "key-in-flight",
            "A retry while the first request with its Idempotency-Key still runs",
            409,
            "a request with the Idempotency-Key '4f1c2e2a-7d0b-4d8e-9a57-2f0c9c1b6b11' is still running; "
            "retry in a moment",
        )
    ],
    422: [
        _example(
            "key-reused",
            "An Idempotency-Key sent again with another body",
            422,
            "the Idempotency-Key '4f1c2e2a-7d0b-4d8e-9a57-2f0c9c1b6b11' was sent with another request "
            "(method, path or body); use a new key for a new write",
            errors=[{"field": "Idempotency-Key", "message": "already used for another request"}],
        )
    ],
}


def problems(*statuses: int, limited: bool = True, idempotent: bool = False) -> dict[int, ResponseSpec]:
    """OpenAPI responses for the given error statuses, and those any request may meet: 400 and 500,
    429 on rate-limited routes, and 413 on writes (the routes that document 401). ``idempotent``
    (a POST taking ``Idempotency-Key``) adds its 409 and 422."""
    always = {400, 500} | ({429} if limited else set()) | ({413} if 401 in statuses else set())
    extra = _IDEMPOTENT_DESCRIPTIONS if idempotent else {}
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[status] + extra.get(status, ""),
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
            examples=[*_EXAMPLES[status], *(_IDEMPOTENT_EXAMPLES[status] if status in extra else [])],
        )
        for status in sorted(always | set(statuses) | set(extra))
    }


def etag_header(what: str) -> list[ResponseHeader]:
    """The documented ``ETag`` response header of a versioned resource."""
    return [
        ResponseHeader(
            name="ETag",
            description=f"The {what}'s version, for `If-Match` on edits.",
            value='"1"',  # documents the header as a string; each response sets its own value
            documentation_only=True,
        )
    ]
