"""Path, query and header parameters that several routes share, described once."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar.openapi.spec import OpenAPIFormat
from litestar.params import HeaderParameter, Parameter

from service.errors import InvalidInput

# Ids are opaque to clients, and UUIDs all the same: the document says so, and an id that is not one
# names nothing (404 in a path, 422 in a query).
UUID_FORMAT: dict[str, Any] = {"format": OpenAPIFormat.UUID}

ClaimIdPath = Annotated[str, Parameter(description="The claim's id.", schema_extra=UUID_FORMAT)]
SourceIdPath = Annotated[str, Parameter(description="The source's id.", schema_extra=UUID_FORMAT)]
ReviewIdPath = Annotated[str, Parameter(description="The review's id.", schema_extra=UUID_FORMAT)]
SourceIdQuery = Annotated[str | None, Parameter(max_length=100, description="A source's id.", schema_extra=UUID_FORMAT)]

# An edit needs If-Match (without it 428, not 400): documented as required, decoded as optional.
ClaimIfMatch = Annotated[
    str | None, HeaderParameter(name="If-Match", required=True, description="The `ETag` of the claim as read.")
]
SourceIfMatch = Annotated[
    str | None, HeaderParameter(name="If-Match", required=True, description="The `ETag` of the source as read.")
]
OptionalClaimIfMatch = Annotated[
    str | None, HeaderParameter(name="If-Match", description="The `ETag` of the claim as read; optional here.")
]

Moment = Annotated[
    str | None,
    Parameter(
        description="RFC 3339 date-time with an offset.",
        schema_extra={"format": OpenAPIFormat.DATE_TIME},
    ),
]


def moment(value: str | None, name: str) -> datetime | None:
    """A ``Moment`` parameter as a datetime: RFC 3339 with an offset, else invalid input naming it."""
    if value is None:
        return None
    try:
        # Strict: a number is not a time (Litestar's own query decoding took "0.5" for 1970-01-01).
        parsed = msgspec.convert(value, datetime, strict=True)
    except msgspec.ValidationError:
        raise InvalidInput.field(name, "not an RFC 3339 date-time, e.g. 2024-06-25T00:00:00Z") from None
    if parsed.tzinfo is None:
        raise InvalidInput.field(name, "give an offset, e.g. 2024-06-25T00:00:00Z")
    return parsed
