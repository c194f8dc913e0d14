"""A PgBouncer of the test's own in transaction mode, in front of the tests' PostgreSQL server.

Debian's ``pgbouncer`` (1.18: no prepared statements in transaction mode) is started on a free port of
the loopback from an ini written here; its ``*`` database entry passes any database name through to the
server, so the session's throwaway database needs no entry of its own. PgBouncer refuses to run as root:
then it runs as the clusters' user (tests/clusters.py).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pgserver.utils import ensure_user_exists

from tests.clusters import CLUSTER_USER
from tests.helpers import free_port

PGBOUNCER = "/usr/sbin/pgbouncer"


def server_address(url: str) -> str:
    """``host=... port=...`` of ``url``'s server as PgBouncer reads it: a host, or the socket folder of a
    ``?host=/folder`` URL (the embedded server's)."""
    parts = urlsplit(url)
    socket_folder = dict(parse_qsl(parts.query)).get("host")
    return f"host={parts.hostname or socket_folder or '127.0.0.1'} port={parts.port or 5432}"


def pgbouncer_ini(server_url: str, port: int, folder: Path, pool_size: int) -> str:
    """The ini of a PgBouncer on ``port`` in transaction mode, passing every database to ``server_url``'s server."""
    return "\n".join(
        [
            "[databases]",
            f"* = {server_address(server_url)}",
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "pool_mode = transaction",
            f"default_pool_size = {pool_size}",
            "max_client_conn = 500",
            "auth_type = trust",
            f"auth_file = {folder / 'users.txt'}",
            f"logfile = {folder / 'pgbouncer.log'}",
            "",
        ]
    )


def through(url: str, port: int) -> str:
    """``url`` (user, database, options) with its host and port replaced by PgBouncer's."""
    parts = urlsplit(url)
    user = f"{parts.username}@" if parts.username else ""
    options = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "host"])
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}", query=options))


@contextmanager
def pgbouncer(server_url: str, *, pool_size: int = 4, within: float = 10) -> Iterator[str]:
    """A PgBouncer in transaction mode in front of ``server_url``'s server, with ``pool_size`` server
    connections per database, once it takes connections: ``server_url`` through it. Killed on exit."""
    assert os.access(PGBOUNCER, os.X_OK), "pgbouncer is not installed (make test-deps installs it)"
    user = urlsplit(server_url).username or "postgres"
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="provenance-pgbouncer-") as name:
        folder = Path(name)
        (folder / "users.txt").write_text(f'"{user}" ""\n')
        (folder / "pgbouncer.ini").write_text(pgbouncer_ini(server_url, port, folder, pool_size))
        if CLUSTER_USER is not None:  # its own files, written by root, handed to the user it runs as
            account = ensure_user_exists(CLUSTER_USER)
            assert account is not None
            for path in (folder, *folder.iterdir()):
                shutil.chown(path, account.pw_uid, account.pw_gid)
        process = subprocess.Popen(
            [PGBOUNCER, str(folder / "pgbouncer.ini")],
            user=CLUSTER_USER,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + within
            while True:
                log = folder / "pgbouncer.log"
                assert process.poll() is None, f"pgbouncer exited at start: {log.read_text() if log.exists() else ''}"
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    assert time.monotonic() < deadline, "pgbouncer did not take connections"
                    time.sleep(0.05)  # polling a starting process; bounded by the deadline above
            yield through(server_url, port)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
