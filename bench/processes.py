"""The processes the benchmark starts and watches: the app served as in production (``provenance
serve``, or granian with the same app) on a free port, one worker pinned to the server core with
``taskset``, waited for until ``/ready`` answers and stopped with its whole process group; and the
resident memory of a server's process tree, sampled while a load runs; and Debian's PgBouncer in
transaction mode in front of the database, pinned to the server core too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bench.machine import Cores
from bench.paths import BIN, ROOT, WORK


def free_port() -> int:
    """A TCP port on the loopback that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _children() -> dict[int, list[int]]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(stat.parent.name))
    return children


def process_tree(pid: int) -> list[int]:
    """``pid`` and all its descendants."""
    children, tree, index = _children(), [pid], 0
    while index < len(tree):
        tree.extend(children.get(tree[index], []))
        index += 1
    return tree


def status_kb(pid: int, key: str) -> int:
    """The figure of ``key`` (``VmRSS``, ``VmHWM``...) in kB in the status of process ``pid``; 0 once it is gone."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


class MemorySampler:
    """Samples the resident memory of a process tree while a load runs: the largest process, the sum."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.process_kb = 0
        self.total_kb = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self) -> None:
        rss = [status_kb(p, "VmRSS") for p in process_tree(self.pid)]
        self.process_kb = max(self.process_kb, *rss)
        self.total_kb = max(self.total_kb, sum(rss))

    def _run(self) -> None:
        while not self._stop.wait(0.2):
            self._sample()

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def figures(self) -> dict[str, float]:
        peak = max((status_kb(p, "VmHWM") for p in process_tree(self.pid)), default=0)
        return {
            "rss_mb": round(self.process_kb / 1024, 1),
            "rss_total_mb": round(self.total_kb / 1024, 1),
            "hwm_mb": round(peak / 1024, 1),
        }


SERVERS = ("uvicorn", "granian")
"""``uvicorn`` is ``provenance serve`` (the production choice); ``granian`` its CLI with the same app, as
``provenance serve`` builds it in each worker (``service.app:served_app``)."""


@dataclass
class Served:
    """A running server: its base URL and process id."""

    base: str
    pid: int


@contextlib.contextmanager
def served(
    url: str,
    cores: Cores,
    *,
    server: str = "uvicorn",
    pool: int | None = None,
    env: dict[str, str] | None = None,
    options: list[str] | None = None,
) -> Iterator[Served]:
    """The app on a free port, one worker pinned to the server core, until the block ends."""
    port = str(free_port())
    settings = {
        "DATABASE_URL": url,
        # as in production, the limits stay in the path; one client must not hit them
        "PROVENANCE_RATE_LIMIT_PER_MINUTE": "1000000000",
        "PROVENANCE_WRITE_RATE_LIMIT_PER_MINUTE": "1000000000",
    }
    if pool is not None:
        settings["PROVENANCE_POOL_MIN_SIZE"] = settings["PROVENANCE_POOL_MAX_SIZE"] = str(pool)
    environment = {**os.environ, **settings, **(env or {})}
    if server == "uvicorn":
        command = [str(BIN / "provenance"), "serve", "--port", port, "--workers", "1", *(options or [])]
    elif server == "granian":
        command = [str(BIN / "granian"), "--interface", "asgi", "--factory", "--loop", "uvloop", "--http", "1"]
        command += ["--no-ws", "--workers", "1", "--port", port, "service.app:served_app"]
    elif server == "bare":  # scenario (a0): bench/bare.py, served as provenance serve serves
        command = [str(BIN / "uvicorn"), "bench.bare:create_app", "--factory", "--port", port, "--workers", "1"]
        command += ["--no-access-log", "--log-level", "warning"]
    else:
        raise ValueError(server)
    log_path = WORK / f"server-{server}.log"
    with log_path.open("w") as log:
        process = subprocess.Popen(
            [*cores.server, *command],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while not _ready(base):
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"{server} did not become ready:\n{log_path.read_text()[-3000:]}")
            time.sleep(0.2)  # a starting server; bounded by the deadline
        yield Served(base, process.pid)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _ready(base: str) -> bool:
    try:
        with urllib.request.urlopen(f"{base}/ready", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


PGBOUNCER = "/usr/sbin/pgbouncer"
PGBOUNCER_USER = "pgserver" if os.geteuid() == 0 else None
"""PgBouncer refuses to run as root: then it runs as the user the embedded PostgreSQL runs as."""


@contextlib.contextmanager
def pgbouncer(url: str, cores: Cores, pool_size: int) -> Iterator[str]:
    """Debian's PgBouncer in transaction mode with ``pool_size`` server connections in front of ``url``'s server,
    pinned to the server core (it shares it with the app, as a PgBouncer on the app's machine would): ``url``
    through it, until the block ends."""
    if not os.access(PGBOUNCER, os.X_OK):
        sys.exit("pgbouncer is missing: make bench-deps")
    server, port = urlsplit(url), free_port()
    options = dict(parse_qsl(server.query))
    host = server.hostname or options.pop("host", "127.0.0.1")  # the embedded server's socket folder
    folder = WORK / "pgbouncer"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "users.txt").write_text(f'"{server.username or "postgres"}" ""\n')
    (folder / "pgbouncer.ini").write_text(
        f"[databases]\n* = host={host} port={server.port or 5432}\n"
        f"[pgbouncer]\nlisten_addr = 127.0.0.1\nlisten_port = {port}\nunix_socket_dir =\n"
        f"pool_mode = transaction\ndefault_pool_size = {pool_size}\nmax_client_conn = 1000\n"
        f"auth_type = trust\nauth_file = {folder / 'users.txt'}\nlogfile = {folder / 'pgbouncer.log'}\n"
    )
    if PGBOUNCER_USER is not None:
        from pgserver.utils import ensure_user_exists

        account = ensure_user_exists(PGBOUNCER_USER)
        assert account is not None
        for path in (folder, *folder.iterdir()):
            os.chown(path, account.pw_uid, account.pw_gid)
    process = subprocess.Popen(
        [*cores.server, PGBOUNCER, str(folder / "pgbouncer.ini")],
        user=PGBOUNCER_USER,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"pgbouncer did not start: {(folder / 'pgbouncer.log').read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            time.sleep(0.05)  # a starting PgBouncer; bounded by the deadline
        user = f"{server.username}@" if server.username else ""
        yield urlunsplit(server._replace(netloc=f"{user}127.0.0.1:{port}", query=urlencode(options)))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
