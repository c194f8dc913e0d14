"""``ETag`` and ``If-Match``: a claim's or source's version as HTTP names it, and an edit's precondition
(``domain.versions.Precondition``) read from the request."""

from __future__ import annotations

from service.errors import PreconditionFailed, PreconditionRequired


def etag(version: int) -> str:
    """The strong ``ETag`` of a claim or source at ``version``."""
    return f'"{version}"'


class IfMatch:
    """An edit's ``If-Match`` (a list of tags, or ``*``); without one, the edit is refused (428) unless
    the route makes it optional."""

    def __init__(self, header: str | None, *, required: bool = True) -> None:
        self.header = header
        self.required = required

    def allows(self, version: int) -> bool:
        """Whether the header names ``version`` (or is ``*``)."""
        if self.header is None:
            return not self.required
        tags = {tag.strip().removeprefix("W/") for tag in self.header.split(",")}
        return "*" in tags or etag(version) in tags

    def require(self, what: str) -> None:
        """428 now if the header is missing, before anything else is looked at."""
        if self.header is None and self.required:
            raise PreconditionRequired(f"send If-Match with the ETag of the {what} as you read it")

    def check(self, what: str, version: int) -> None:
        self.require(what)
        if not self.allows(version):
            raise PreconditionFailed(f"the {what} is at {etag(version)}, not {self.header}: read it again and retry")
