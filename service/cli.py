"""The ``provenance`` command: serve, migrate, seed, import, export.

Every command reads ``DATABASE_URL``; without it, each uses the embedded PostgreSQL under
``--data-dir`` (default ``.provenance/``).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from service import bulk, db, migrations, seeds
from service.database import resolve_url

log = logging.getLogger("provenance")


def _database_url(args: argparse.Namespace) -> str:
    return resolve_url(os.environ.get("DATABASE_URL") or None, args.data_dir)


async def _seed(database_url: str, path: Path) -> seeds.SeedReport:
    conn = await db.connect(database_url)
    try:
        return await seeds.load(conn, path)
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
    """Import NDJSON claims, one transaction a line; exit 1 if any line failed."""
    try:
        report = bulk.run_import(_database_url(args), args.file)
    except OSError as exc:
        sys.exit(f"provenance import: {exc}")
    skipped = f", {report.already_stored} already stored" if report.already_stored else ""
    print(f"imported {report.imported} claim(s), {report.failed} line(s) failed{skipped}")
    if report.failed:
        sys.exit(1)


def cmd_export(args: argparse.Namespace) -> None:
    """Export every claim with its chain as NDJSON, oldest first."""
    count = bulk.run_export(_database_url(args), args.output)
    print(f"exported {count} claim(s)", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> None:
    """Serve the API with uvicorn."""
    import uvicorn

    database_url = _database_url(args)
    # Worker processes read the same server from the environment.
    os.environ["DATABASE_URL"] = database_url
    if args.migrate:
        migrations.upgrade(database_url)
    if args.seed:
        _run_seed(database_url, seeds.DEFAULT_PATH)
    print(f"Provenance on http://{args.host}:{args.port} (interactive docs at /schema)", flush=True)
    uvicorn.run(
        "service.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level=args.log_level,
    )


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
    serve.add_argument("--log-level", default="info")
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
    load.set_defaults(func=cmd_import)

    dump = commands.add_parser("export", parents=[common], help="export every claim with its chain as NDJSON")
    dump.add_argument("--output", help="write to this file instead of stdout")
    dump.set_defaults(func=cmd_export)
    return top


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``provenance`` console script."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main(sys.argv[1:])
