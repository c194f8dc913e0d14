"""Keyset pagination: opaque cursors and the ``Link: <...>; rel="next"`` header.

A cursor encodes the sort key of the last item served, never an offset, so rows inserted while a
client pages through a list neither repeat nor hide the rows it has yet to see.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Request
from litestar.params import Parameter

from service.errors import InvalidInput

Limit = Annotated[int, Parameter(ge=1, le=200, description="Page size, 1 to 200.")]
Cursor = Annotated[str | None, Parameter(max_length=200, description="The `next_cursor` of the previous page.")]
DEFAULT_LIMIT = 50


def encode_cursor(kind: str, *key: Any) -> str:
    """An opaque cursor for the list ``kind`` positioned after ``key``."""
    return base64.urlsafe_b64encode(msgspec.json.encode([kind, *key])).decode().rstrip("=")


def decode_cursor(cursor: str | None, kind: str, types: tuple[type, ...]) -> tuple[Any, ...] | None:
    """The key a cursor of list ``kind`` holds; a cursor that is not one is invalid input."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = msgspec.json.decode(raw)
    except (binascii.Error, ValueError, msgspec.DecodeError):
        values = None
    if (
        not isinstance(values, list)
        or len(values) != len(types) + 1
        or values[0] != kind
        or not all(_fits(v, t) for v, t in zip(values[1:], types, strict=True))
    ):
        raise InvalidInput.field("cursor", "not a cursor of this list")
    return tuple(values[1:])


def _fits(value: object, kind: type) -> bool:
    """A key of the expected type that PostgreSQL can compare: a bigint, or a finite float."""
    if isinstance(value, bool):
        return False
    if kind is int:
        return isinstance(value, int) and 0 <= value < 2**63
    return isinstance(value, float) and math.isfinite(value)


def next_link(request: Request[Any, Any, Any], next_cursor: str | None) -> dict[str, str]:
    """The ``Link`` header pointing at the next page, if there is one."""
    if next_cursor is None:
        return {}
    params = [(k, v) for k, v in request.query_params.multi_items() if k != "cursor"]
    params.append(("cursor", next_cursor))
    url = request.url.with_replacements(query=urlencode(params))
    return {"Link": f'<{url}>; rel="next"'}
