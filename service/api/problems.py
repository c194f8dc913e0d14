"""The problem responses every operation documents, from one shared table."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar.datastructures import ResponseHeader
from litestar.openapi.datastructures import ResponseSpec

from service.errors import PROBLEM_MEDIA_TYPE


class FieldProblem(msgspec.Struct):
    """One offending field."""

    field: str
    message: str


class Problem(msgspec.Struct, kw_only=True):
    """An RFC 9457 problem: every error of this API has this shape."""

    status: int
    title: str
    detail: str
    type: str = "about:blank"
    errors: list[FieldProblem] | None = None
    """The offending fields, for invalid input."""
    candidates: list[dict[str, Any]] | None = None
    """For an ambiguous inline source: the stored sources it matches."""


_DESCRIPTIONS = {
    400: "The request could not be parsed (malformed JSON or query).",
    404: "No such resource, or an id that is not one.",
    409: "The request conflicts with stored data.",
    412: "`If-Match` names a version that is no longer current: read again and retry.",
    422: "The input breaks a rule; `errors` names the fields.",
    428: "An edit needs `If-Match` with the `ETag` as read.",
    500: "A bug: the server failed to answer.",
    503: "The database is unavailable; retry later.",
}


def problems(*statuses: int) -> dict[int, ResponseSpec]:
    """OpenAPI responses for the given error statuses, and 400 and 500 that any request may meet."""
    return {
        status: ResponseSpec(
            data_container=Problem,
            description=_DESCRIPTIONS[status],
            media_type=PROBLEM_MEDIA_TYPE,
            generate_examples=False,
        )
        for status in sorted({400, 500, *statuses})
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
