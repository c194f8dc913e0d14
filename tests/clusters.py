"""Private PostgreSQL clusters for the tests that need a server of their own: one they can start with
chosen settings, kill, archive the WAL of, back up with ``pg_basebackup`` and restore to a point in time,
or follow as a streaming standby and promote.

Every cluster runs on the binaries of ``POSTGRES_BIN``, so the server, ``pg_basebackup`` and the restored
server always agree on the version.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
from pgserver._commands import POSTGRES_BIN_PATH as PGSERVER_BIN
from pgserver.utils import ensure_prefix_permissions, ensure_user_exists

from service import migrations
from tests.helpers import free_port


def postgres_bin() -> Path:
    """The installed PostgreSQL's binaries (Debian's, as ``pg_config --bindir`` says), else pgserver's own."""
    if (pg_config := shutil.which("pg_config")) is None:
        return PGSERVER_BIN
    return Path(subprocess.run([pg_config, "--bindir"], check=True, capture_output=True, text=True).stdout.strip())


POSTGRES_BIN = postgres_bin()

CLUSTER_USER = "pgserver" if os.geteuid() == 0 else None
"""Who runs the clusters: PostgreSQL refuses to run as root, so as pgserver does, a user of its own then."""


def own_folder(path: Path) -> Path:
    """An empty folder at ``path`` that only the cluster's user reads and writes (as a data directory must)."""
    path.mkdir(mode=0o700)
    if CLUSTER_USER is not None:
        account = ensure_user_exists(CLUSTER_USER)
        assert account is not None
        ensure_prefix_permissions(path)
        os.chown(path, account.pw_uid, account.pw_gid)
    return path


def as_cluster_user(*command: str) -> str:
    """Run ``command`` as the cluster's user; its output, or CalledProcessError carrying it."""
    # Output to a file, not a pipe: a server that pg_ctl starts would hold a pipe open.
    with tempfile.TemporaryFile("w+") as output:
        done = subprocess.run(command, user=CLUSTER_USER, stdout=output, stderr=subprocess.STDOUT, text=True)
        output.seek(0)
        text = output.read()
    if done.returncode != 0:
        raise subprocess.CalledProcessError(done.returncode, command, output=text)
    return text


def postgres(program: str, *args: str) -> str:
    """Run one of PostgreSQL's programs (``initdb``, ``pg_ctl``, ``pg_basebackup``) as the cluster's user."""
    return as_cluster_user(str(POSTGRES_BIN / program), *args)


def conf_line(name: str, value: str) -> str:
    """``name = 'value'`` as postgresql.conf reads it."""
    quoted = value.replace("'", "''")
    return f"{name} = '{quoted}'\n"


def archiving_to(archive: Path) -> dict[str, str]:
    """The settings that copy every completed WAL segment into ``archive`` (docs/operations.md)."""
    return {
        "wal_level": "replica",
        "archive_mode": "on",
        "archive_command": f"test ! -f {archive}/%f && cp %p {archive}/%f",
    }


class Postmaster:
    """A private PostgreSQL on its own data directory and loopback port, started with chosen settings
    and killable; ``initdb`` makes a new one, ``restored`` one from a base backup."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()

    @classmethod
    def initdb(cls, root: Path, name: str = "pgdata") -> Postmaster:
        """A new cluster in ``root/name``, where ``postgres`` may connect from the loopback without a password."""
        data_dir = own_folder(root / name)
        postgres("initdb", "-D", str(data_dir), "--auth=trust", "--encoding=utf8", "--no-sync", "-U", "postgres")
        return cls(data_dir)

    @classmethod
    def restored(cls, base_backup: Path, root: Path, name: str, **recovery: str) -> Postmaster:
        """A cluster in ``root/name`` that starts by recovering ``base_backup`` with the ``recovery`` settings
        (``restore_command``, ``recovery_target_*``...), as an operator restores one."""
        data_dir = own_folder(root / name)
        as_cluster_user("cp", "-a", f"{base_backup}/.", str(data_dir))
        restoring = cls(data_dir)
        restoring.configure(**recovery)
        as_cluster_user("touch", str(data_dir / "recovery.signal"))
        return restoring

    @classmethod
    def standby_of(cls, primary: Postmaster, root: Path, name: str, **settings: str) -> Postmaster:
        """A hot standby in ``root/name``, from a base backup of the running ``primary``, streaming its WAL
        under ``application_name=name`` once started (with ``settings`` too)."""
        data_dir = primary.base_backup(root / name)
        standby = cls(data_dir)
        conninfo = f"host=127.0.0.1 port={primary.port} user=postgres application_name={name}"
        standby.configure(primary_conninfo=conninfo, hot_standby="on", **settings)
        as_cluster_user("touch", str(data_dir / "standby.signal"))
        return standby

    def promote(self) -> None:
        """End a standby's recovery: it takes writes from now on (``pg_ctl promote``, waited for)."""
        postgres("pg_ctl", "-D", str(self.data_dir), "-w", "promote")

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def configure(self, **settings: str) -> None:
        """Add ``settings`` to postgresql.auto.conf, read at the next start (values with spaces and quotes
        welcome, unlike ``start``'s)."""
        with (self.data_dir / "postgresql.auto.conf").open("a") as conf:  # the cluster's file, kept its owner's
            conf.writelines(conf_line(name, value) for name, value in settings.items())

    def start(self, *settings: str, within: float = 15) -> None:
        """Start on the same data directory and port; after a SIGKILL the old backends may need a moment to go."""
        options = f"-h 127.0.0.1 -p {self.port} -k {self.data_dir} " + " ".join(f"-c {s}" for s in settings)
        deadline = time.monotonic() + within
        while True:
            try:
                postgres("pg_ctl", "-D", str(self.data_dir), "-w", "-o", options, "-l", str(self.log), "start")
                return
            except subprocess.CalledProcessError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)  # waiting for the killed server's backends to exit; bounded above

    @property
    def log(self) -> Path:
        """The server's log."""
        return self.data_dir / "log"

    def stop(self) -> None:
        if (self.data_dir / "postmaster.pid").exists():
            postgres("pg_ctl", "-D", str(self.data_dir), "-w", "-m", "fast", "stop")

    def kill(self) -> None:
        """SIGKILL the postmaster, as the OOM killer would."""
        pid = int((self.data_dir / "postmaster.pid").read_text().split()[0])
        os.kill(pid, signal.SIGKILL)

    def stop_after_kill(self) -> None:
        """Stop whatever a test left running, killed or not; one that does not stop within pg_ctl's minute
        (a busy machine writing a standby's restartpoint) is stopped at once, so that no test leaves a
        server behind."""
        try:
            self.stop()
        except subprocess.CalledProcessError:  # killed and not restarted: nothing runs
            if (self.data_dir / "postmaster.pid").exists():
                with contextlib.suppress(subprocess.CalledProcessError):
                    postgres("pg_ctl", "-D", str(self.data_dir), "-w", "-m", "immediate", "stop")

    def base_backup(self, target: Path) -> Path:
        """``pg_basebackup`` of the running cluster into ``target``, with the WAL it needs to be consistent."""
        own_folder(target)
        postgres(
            "pg_basebackup", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "-D", str(target),
            "--checkpoint=fast", "--wal-method=stream",
        )  # fmt: skip
        postgres("pg_verifybackup", str(target))  # every file as its manifest lists it, and the WAL it needs
        return target


async def fetchval(url: str, query: str, *args: Any) -> Any:
    """One value, on a connection of its own."""
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


async def until(url: str, query: str, *args: Any, within: float = 30) -> None:
    """Poll ``query`` on ``url`` until it answers true, for at most ``within`` seconds."""
    deadline = time.monotonic() + within
    while not await fetchval(url, query, *args):
        assert time.monotonic() < deadline, f"still false after {within} s: {query}"
        await asyncio.sleep(0.05)


STREAMING = "SELECT EXISTS (SELECT 1 FROM pg_stat_replication WHERE application_name = $1 AND state = 'streaming')"


@contextlib.contextmanager
def replicated(root: Path, **standby_settings: str) -> Iterator[tuple[Postmaster, Postmaster]]:
    """A migrated primary and its hot standby (named ``standby``, with ``standby_settings``), once it
    streams; both stopped on exit, killed or not."""
    primary = Postmaster.initdb(root, "primary")
    primary.start()
    standby: Postmaster | None = None
    try:
        migrations.upgrade(primary.url())
        standby = Postmaster.standby_of(primary, root, "standby", **standby_settings)
        standby.start()
        asyncio.run(until(primary.url(), STREAMING, "standby"))
        yield primary, standby
    finally:
        if standby is not None:
            standby.stop_after_kill()
        primary.stop_after_kill()
