"""Requests read strictly: a JSON value of the wrong type is invalid input, never coerced, and a query
parameter the operation does not have is invalid input, never ignored.

Litestar converts request bodies with msgspec's lax mode, which takes a number for a time (``0`` as
1970-01-01), a string for a number (``"5"``) or for a boolean: values the OpenAPI document says are
invalid. This ``before_request`` hook decodes the body against the handler's ``data`` type in strict
mode first, so those are a 422 naming the field, as every other invalid input is.

Query parameters an API operation does not declare (a misspelt ``limt``) are a 400 naming them
(``refuse_unknown_query``), where Litestar would drop them unread; the workspace's pages, read by
browsers that add their own (``utm_source``), take them and ignore them.
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar, Request
from litestar.enums import ParamType
from litestar.routes import HTTPRoute

from service.errors import BadRequest, FieldError, InvalidInput

_WHERE = " - at `$"


async def strict_json_body(request: Request[Any, Any, Any]) -> None:
    """Refuse a JSON body whose values do not have the JSON types of the handler's ``data``, and query
    parameters an API operation does not have."""
    known = request.route_handler.opt.get(QUERY_PARAMETERS)
    # Without a query string there is nothing to refuse, and no parameters to parse for it.
    if known is not None and request.scope["query_string"] and (unknown := sorted(set(request.query_params) - known)):
        message = "this operation has no such query parameter"
        raise BadRequest(f"{unknown[0]}: {message}", errors=[FieldError(unknown[0], message)])
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


QUERY_PARAMETERS = "query_parameters"
"""Where an API operation's handler keeps the names of its query parameters (``opt``)."""


def refuse_unknown_query(app: Litestar) -> None:
    """Note on each API operation's handler the query parameters it reads, for ``strict_json_body``."""
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler, kwargs_model in route.route_handler_map.values():
            if not handler.resolve_include_in_schema() or handler.http_methods == {"OPTIONS"}:
                continue
            names = {p.field_alias for p in kwargs_model.expected_query_params if p.param_type == ParamType.QUERY}
            handler.opt[QUERY_PARAMETERS] = frozenset(names)
