"""Edits that must not overwrite what the editor has not seen: each stored claim and source has a
version, and an edit names the version it was made against. How a client names it (HTTP's
``If-Match`` and ``ETag``) is the API's business; the domain only asks, under the row's lock."""

from __future__ import annotations

from typing import Protocol


class Precondition(Protocol):
    """The version an edit was made against, as the client named it."""

    def check(self, what: str, version: int) -> None:
        """Return if an edit of ``what`` (a claim, a source) now at ``version`` may go on; raise
        ``PreconditionRequired`` or ``PreconditionFailed`` if not."""
        ...
