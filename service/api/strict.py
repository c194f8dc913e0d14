"""JSON bodies decoded strictly: a value of the wrong JSON type is invalid input, never coerced.

Litestar converts request bodies with msgspec's lax mode, which takes a number for a time (``0`` as
1970-01-01), a string for a number (``"5"``) or for a boolean: values the OpenAPI document says are
invalid. This ``before_request`` hook decodes the body against the handler's ``data`` type in strict
mode first, so those are a 422 naming the field, as every other invalid input is.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request

from service.errors import InvalidInput

_WHERE = " - at `$"


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    """Refuse a JSON body whose values do not have the JSON types of the handler's ``data``."""
    data = request.route_handler.parsed_data_field
    if data is None:
        return
    try:
        value = msgspec.json.decode(await request.body())
    except msgspec.DecodeError:
        return  # not JSON at all: Litestar answers that with its 400
    validated(value, data.annotation)


def validated(value: Any, annotation: Any) -> Any:
    """``value`` as ``annotation``, its JSON types taken strictly; a 422 naming the offending field if not."""
    try:
        return msgspec.convert(value, annotation, strict=True)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).partition(_WHERE)
        path = where.rstrip("`").lstrip(".")
        name, colon, rule = message.partition(": ")
        if colon and name.isidentifier():  # a Struct's own check names its field (model.check_moments)
            path, message = f"{path}.{name}" if path else name, rule
        raise InvalidInput.field(path or "body", message) from None
