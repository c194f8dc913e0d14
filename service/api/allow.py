"""``OPTIONS`` answers with ``Allow`` listing every method of the path.

Litestar 2 makes a path's automatic ``OPTIONS`` handler with the first handler registered there, and
that handler's ``Allow`` lists only the methods known then: ``OPTIONS /claims`` said ``OPTIONS, POST``
and left out ``GET`` (Litestar issue 4169, fixed in Litestar 3). The app's route table knows every
method, so a ``before_send`` hook writes the whole list on those answers.
"""

from __future__ import annotations

from litestar import Litestar
from litestar.datastructures import MutableScopeHeaders
from litestar.routes import HTTPRoute
from litestar.types import Message, Scope


def every_method_in_allow(app: Litestar) -> None:
    """Make each automatic ``OPTIONS`` answer of ``app`` list every method its path has."""
    allowed = {
        id(handler): ", ".join(sorted(route.methods))
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if handler.http_methods == {"OPTIONS"}
    }

    async def rewrite_allow(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope.get("method") != "OPTIONS":
            return
        methods = allowed.get(id(scope.get("route_handler")))
        if methods is not None and message["status"] == 204:
            MutableScopeHeaders.from_message(message)["Allow"] = methods

    app.before_send.append(rewrite_allow)
