"""Ids are opaque strings to clients and UUIDs inside."""

from __future__ import annotations

from uuid import UUID

from service.errors import InvalidInput, NotFound


def path_id(value: str, what: str) -> UUID:
    """An id from a URL path: anything that is not one names nothing, so 404."""
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"no {what} has the id {value!r}") from None


def field_id(value: str, field: str) -> UUID:
    """An id from a body or query field: a malformed one is invalid input naming the field."""
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInput.field(field, f"{value!r} is not an id") from None
