"""The ``provenance`` command: serve, migrate, seed, import, export, extract, API keys, and duplicate sources.

Every command reads ``DATABASE_URL``; without it, each uses the embedded PostgreSQL under
``--data-dir`` (default ``.provenance/``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import NoReturn, TypeVar

import asyncpg
import msgspec

from service import db, export, migrations, seeds
from service.domain import audit, duplicates, keys
from service.embedded import resolve_url
from service.errors import ProvenanceError
from service.imports import pipeline
from service.imports.worker import WorkerFailed
from service.model import ProposedClaim
from service.repositories import server as server_repo
from service.settings import Settings, SettingsError, unknown_variables

log = logging.getLogger("provenance")

T = TypeVar("T")


def _database_url(args: argparse.Namespace) -> str:
    return resolve_url(os.environ.get("DATABASE_URL") or None, args.data_dir)


async def _seed(database_url: str, path: Path) -> seeds.SeedReport:
    conn = await db.connect(database_url)
    try:
        report = await seeds.load(conn, path)
        await audit.seal(conn)
        return report
    finally:
        await conn.close()


def _run_seed(database_url: str, path: Path) -> None:
    report = asyncio.run(_seed(database_url, path))
    print(f"seeded {report.files} file(s): {report.claims_added} new claim(s), {report.sources_added} new source(s)")


def cmd_migrate(args: argparse.Namespace) -> None:
    """Apply the migrations up to ``--revision`` (default: the newest)."""
    migrations.upgrade(_database_url(args), args.revision)
    print(f"migrated to {args.revision}")


def cmd_seed(args: argparse.Namespace) -> None:
    """Load the seed claims; running it again adds nothing."""
    _run_seed(_database_url(args), Path(args.path))


def cmd_import(args: argparse.Namespace) -> None:
    """Import NDJSON claims in batches, each line stored or reported; exit 1 if any line failed."""
    database_url = _database_url(args)
    try:
        report = pipeline.run_import(database_url, args.file, args.batch_lines)
    except OSError as exc:
        sys.exit(f"provenance import: {exc}")
    except (asyncpg.PostgresError, WorkerFailed) as exc:
        # Not a line's fault (those are reported line by line): a rebuilt key or a chain refused, or the
        # resolving process failing, ends an initial load rolled back whole.
        sys.exit(f"provenance import stopped, its transaction rolled back: {exc}")
    asyncio.run(_with_connection(database_url, audit.seal))
    skipped = f", {report.already_stored} already stored" if report.already_stored else ""
    print(f"imported {report.imported} claim(s), {report.failed} line(s) failed{skipped}")
    if report.load_seconds:
        phases = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in report.load_seconds.items())
        print(f"as an initial load: {phases}", file=sys.stderr)
    if report.failed:
        sys.exit(1)


def cmd_export(args: argparse.Namespace) -> None:
    """Export every claim with its chain as NDJSON, oldest first."""
    count = export.run_export(_database_url(args), args.output)
    print(f"exported {count} claim(s)", file=sys.stderr)


async def _with_connection(database_url: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """Run ``work`` on one connection, then seal the audit entries of what it wrote."""
    conn = await db.connect(database_url)
    try:
        result = await work(conn)
        await audit.seal(conn)
        return result
    finally:
        await conn.close()


def _chain_line(proposal: ProposedClaim) -> str:
    hops = []
    for hop in proposal.hops:
        speaker = hop.speaker
        detail = [hop.cue_span.text] + ([speaker.role] if speaker.role else [])
        marks = {"stored": "", "new": " (new)", "ambiguous": " (ambiguous)"}[hop.source.match]
        hops.append(f"{speaker.name}{marks} [{'; '.join(detail)}]")
    return " -> ".join(hops)


async def _extract(conn: asyncpg.Connection, args: argparse.Namespace) -> int:
    """Read each file, print its proposals, and store those sure enough when asked; the number stored."""
    from service.domain import claims, extraction
    from service.model import ExtractIn

    stored = 0
    for name in args.files:
        text = Path(name).read_text(encoding="utf-8")
        result = await extraction.extract(conn, ExtractIn(text=text))
        if args.json:
            print(msgspec.json.encode({"file": name, **msgspec.to_builtins(result)}).decode())
        else:
            print(f"{name}: {len(result.attributions)} attribution(s), {len(result.claims)} claim(s) ({result.model})")
            for proposal in result.claims:
                print(f"  {proposal.confidence:.2f} {proposal.claim.kind}: {proposal.claim.text[:100]!r}")
                print(f"       {_chain_line(proposal)}")
        if args.store:
            for proposal in result.claims:
                if proposal.confidence < args.min_confidence:
                    continue
                if any(hop.source.match == "ambiguous" for hop in proposal.hops):
                    print(f"  not stored, a speaker is ambiguous: {proposal.claim.text[:80]!r}", file=sys.stderr)
                    continue
                await claims.create(conn, proposal.claim, actor=args.actor)
                stored += 1
    return stored


def cmd_extract(args: argparse.Namespace) -> None:
    """Print the claims each article proposes; with --store, store those at or above --min-confidence."""
    if args.store and args.min_confidence is None:
        sys.exit("provenance extract: --store needs --min-confidence (0 to 1): the proposals to accept")
    try:
        stored = asyncio.run(_with_connection(_database_url(args), lambda conn: _extract(conn, args)))
    except (OSError, UnicodeDecodeError) as exc:
        sys.exit(f"provenance extract: {exc}")
    except ProvenanceError as exc:
        sys.exit(f"provenance extract: {exc.detail}")
    if args.store:
        print(f"stored {stored} claim(s)", file=sys.stderr)


def cmd_keys_create(args: argparse.Namespace) -> None:
    """Make an API key and print its secret, alone, as the last line: it is shown only this once."""
    try:
        key, secret = asyncio.run(
            _with_connection(_database_url(args), lambda conn: keys.create(conn, args.name, args.scope))
        )
    except ProvenanceError as exc:
        sys.exit(f"provenance keys create: {exc.detail}")
    print(f"created the {key.scope} key {key.name!r}; send it as `Authorization: Bearer <key>`.")
    print("Its secret, shown only now and stored nowhere (only its hash is):")
    print(secret)


def _moment(value: datetime | None) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if value else "-"


def cmd_keys_list(args: argparse.Namespace) -> None:
    """List every key: name, scope, when made and when revoked; never a secret."""
    stored = asyncio.run(_with_connection(_database_url(args), keys.every))
    width = max([len("NAME"), *(len(k.name) for k in stored)])
    print(f"{'NAME':<{width}}  {'SCOPE':<5}  {'CREATED':<20}  REVOKED")
    for key in stored:
        print(f"{key.name:<{width}}  {key.scope:<5}  {_moment(key.created_at):<20}  {_moment(key.revoked_at)}")


def cmd_sources_duplicates(args: argparse.Namespace) -> None:
    """Print every likely pair of duplicate sources: score, the two (name and id), and why."""
    if not 0 <= args.min_score <= 1:
        sys.exit("provenance sources duplicates: --min-score is a number from 0 to 1")
    pairs = asyncio.run(_with_connection(_database_url(args), lambda conn: duplicates.every(conn, args.min_score)))
    for source, duplicate in pairs:
        print(
            f"{duplicate.score:.2f}  {source.name} ({source.id})  ~  {duplicate.source.name} ({duplicate.source.id})"
            f"  [{', '.join(duplicate.reasons)}]"
        )
    print(f"{len(pairs)} likely pair(s)", file=sys.stderr)


def cmd_keys_revoke(args: argparse.Namespace) -> None:
    """Revoke a key by name: requests sending it are refused from now on."""
    try:
        key = asyncio.run(_with_connection(_database_url(args), lambda conn: keys.revoke(conn, args.name)))
    except ProvenanceError as exc:
        sys.exit(f"provenance keys revoke: {exc.detail}")
    print(f"revoked the key {key.name!r} ({key.scope}) at {_moment(key.revoked_at)}")


def _command() -> str:
    """How to call this command from the current folder: ``.venv/bin/provenance`` after ``make install``."""
    script = Path(sys.executable).parent / "provenance"
    if not script.exists():
        return "provenance"
    try:
        return str(script.relative_to(Path.cwd()))
    except ValueError:
        return str(script)


def _drained(signum: int, frame: FrameType | None) -> None:
    """uvicorn raises SIGTERM again once it has drained the requests in flight: a clean stop, so exit 0."""
    raise SystemExit(0)


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve the API with uvicorn; on SIGTERM, stop taking connections, finish the requests in flight
    (for at most ``PROVENANCE_SHUTDOWN_TIMEOUT`` seconds), close the pool and exit 0."""
    import uvicorn

    database_url = _database_url(args)
    # Worker processes read the same server from the environment.
    os.environ["DATABASE_URL"] = database_url
    if args.migrate:
        migrations.upgrade(database_url)
    if args.seed:
        _run_seed(database_url, seeds.DEFAULT_PATH)
    print(f"Provenance on http://{args.host}:{args.port} (interactive docs at /schema)")
    print(f"Writes need an API key; make one in another terminal: {_command()} keys create --name me --scope write")
    print("and send it as `Authorization: Bearer <key>`.", flush=True)
    signal.signal(signal.SIGTERM, _drained)
    # Each worker sets its logging up (service.app.served_app): every line with its request id, one
    # line a request in place of uvicorn's access log.
    os.environ["PROVENANCE_LOG_LEVEL"] = args.log_level
    if args.workers > 1 and not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        # Each worker writes its metrics to files there, so that /metrics answers for all of them.
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="provenance-metrics-")
    uvicorn.run(
        "service.app:served_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=Settings.from_env().shutdown_timeout,
    )


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return number


def parser() -> argparse.ArgumentParser:
    """The command line."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data-dir",
        default=os.environ.get("PROVENANCE_DATA_DIR", ".provenance"),
        help="where the embedded PostgreSQL keeps its data when DATABASE_URL is unset (default: .provenance)",
    )
    top = argparse.ArgumentParser(prog="provenance", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = top.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", parents=[common], help="serve the HTTP API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument(
        "--log-level",
        default=os.environ.get("PROVENANCE_LOG_LEVEL", "info"),
        help="info (the default: a line a request), warning, error... (default: PROVENANCE_LOG_LEVEL, else info)",
    )
    serve.add_argument("--migrate", action="store_true", help="apply the migrations first")
    serve.add_argument("--seed", action="store_true", help="load seeds/ first (idempotent)")
    serve.set_defaults(func=cmd_serve)

    migrate = commands.add_parser("migrate", parents=[common], help="apply the database migrations")
    migrate.add_argument("--revision", default="head")
    migrate.set_defaults(func=cmd_migrate)

    seed = commands.add_parser("seed", parents=[common], help="load seed claims (idempotent)")
    seed.add_argument("path", nargs="?", default=str(seeds.DEFAULT_PATH))
    seed.set_defaults(func=cmd_seed)

    load = commands.add_parser("import", parents=[common], help="import NDJSON claims (one POST /claims body a line)")
    load.add_argument("file", help="the NDJSON file, or - for stdin")
    load.add_argument(
        "--batch-lines",
        type=_positive,
        default=pipeline.BATCH_LINES,
        help=f"lines stored in one transaction (default {pipeline.BATCH_LINES})",
    )
    load.set_defaults(func=cmd_import)

    dump = commands.add_parser("export", parents=[common], help="export every claim with its chain as NDJSON")
    dump.add_argument("--output", help="write to this file instead of stdout")
    dump.set_defaults(func=cmd_export)

    read = commands.add_parser("extract", parents=[common], help="read attribution chains out of article files")
    read.add_argument("files", nargs="+", metavar="FILE", help="article text files (UTF-8, paragraphs on lines)")
    read.add_argument("--json", action="store_true", help="print each file's answer as POST /extract gives it")
    read.add_argument("--store", action="store_true", help="store the proposed claims sure enough")
    read.add_argument("--min-confidence", type=float, help="store only claims at or above this confidence")
    read.add_argument("--actor", default="provenance-extract", help="who accepts them (recorded on each claim)")
    read.set_defaults(func=cmd_extract)

    api_keys = commands.add_parser("keys", help="make, list and revoke API keys")
    key_commands = api_keys.add_subparsers(dest="keys_command", required=True)
    create = key_commands.add_parser(
        "create", parents=[common], help="make a key and print its secret (shown only once) as the last line"
    )
    create.add_argument("--name", required=True, help="who the key is for: the actor its writes record")
    create.add_argument("--scope", required=True, choices=keys.SCOPES, help="read; write (and read); admin (merges)")
    create.set_defaults(func=cmd_keys_create)
    listing = key_commands.add_parser("list", parents=[common], help="list keys (never their secrets)")
    listing.set_defaults(func=cmd_keys_list)
    revoke = key_commands.add_parser("revoke", parents=[common], help="revoke a key by name")
    revoke.add_argument("name")
    revoke.set_defaults(func=cmd_keys_revoke)
    config = commands.add_parser("config", help="print every setting, its value and where it came from")
    config.set_defaults(func=cmd_config)
    stored_sources = commands.add_parser("sources", help="look after the stored sources")
    source_commands = stored_sources.add_subparsers(dest="sources_command", required=True)
    likely = source_commands.add_parser(
        "duplicates", parents=[common], help="print every likely pair of duplicate sources, best first"
    )
    likely.add_argument(
        "--min-score",
        type=float,
        default=duplicates.LIKELY,
        help=f"the lowest score printed (default {duplicates.LIKELY})",
    )
    likely.set_defaults(func=cmd_sources_duplicates)
    return top


def cmd_config(args: argparse.Namespace) -> None:
    """Print every setting: its variable, its value (secrets masked) and where it came from."""
    rows = Settings.from_env().described()
    width = max(len(variable) for variable, _, _ in rows)
    value_width = max(len(value) for _, value, _ in rows)
    for variable, value, origin in rows:
        print(f"{variable:<{width}}  {value:<{value_width}}  {origin}")


def _require_schema(database_url: str) -> None:
    """Exit 2 with one line naming the command to run when the database's schema is missing or behind."""

    async def revision() -> str | None:
        conn = await db.connect(database_url)
        try:
            state = await server_repo.state(conn)
        finally:
            await conn.close()
        return state["revision"] if state is not None else None

    found = asyncio.run(revision())
    if found is None:
        _refuse(f"the database has no schema: run `{_command()} migrate` first")
    elif found != migrations.head():
        _refuse(f"the database schema is at {found}, the code needs {migrations.head()}: run `{_command()} migrate`")


def _refuse(message: str) -> NoReturn:
    print(f"provenance: {message}", file=sys.stderr)
    sys.exit(2)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``provenance`` console script. A setting the environment gets wrong, or a
    database whose schema is missing or behind, is one line and exit status 2."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    try:
        Settings.from_env()
    except SettingsError as exc:
        _refuse(str(exc))
    for variable in unknown_variables(os.environ):
        log.warning(
            "%s is set but nothing reads it: a misspelt setting? (`%s config` lists them)", variable, _command()
        )
    needs_schema = args.func not in (cmd_migrate, cmd_config) and not (args.func is cmd_serve and args.migrate)
    if needs_schema:
        _require_schema(_database_url(args))
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
