"""Where the database is: ``DATABASE_URL``, else an embedded PostgreSQL under the data directory.

The embedded server is the pip package ``pgserver``: a private PostgreSQL started on demand, shared by
every process that asks for the same data directory, and stopped when the last of them exits.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

_embedded: dict[Path, Any] = {}


def embedded_url(data_dir: str | Path) -> str:
    """Start (or join) the embedded PostgreSQL under ``data_dir`` and return its URL."""
    import pgserver  # imported here: only processes without DATABASE_URL need it

    path = Path(data_dir).resolve()
    server = _embedded.get(path)
    if server is None:
        path.mkdir(parents=True, exist_ok=True)
        log.info("starting the embedded PostgreSQL under %s", path)
        with warnings.catch_warnings():
            # platformdirs warns when XDG_RUNTIME_DIR is unset, as in most containers and CI.
            warnings.simplefilter("ignore")
            server = pgserver.get_server(path, cleanup_mode="stop")  # type: ignore[attr-defined]
        _embedded[path] = server
    return str(server.get_uri())


def resolve_url(database_url: str | None, data_dir: str | Path) -> str:
    """The URL to use: the given one, else the embedded server's."""
    return database_url or embedded_url(data_dir)
