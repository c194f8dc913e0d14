"""Alembic, configured in code: the one way the schema changes.

Alembic, and SQLAlchemy under it, are imported only to migrate. A serving worker asks for nothing but
``head()``, to refuse a database its code was not written for, and holding both libraries in every
worker for that one string would cost about 23 MB of its memory (bench/README.md, memory).
"""

from __future__ import annotations

import ast
import functools
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alembic.config import Config

SCRIPT_LOCATION = Path(__file__).resolve().parent.parent / "alembic"


def alembic_config(database_url: str) -> Config:
    """An Alembic configuration for ``database_url`` using the repository's ``alembic/`` scripts."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    # ConfigParser interpolates "%"; URLs may hold percent-escapes.
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at ``database_url`` up to ``revision``."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    """Migrate the database at ``database_url`` down to ``revision``."""
    from alembic import command

    command.downgrade(alembic_config(database_url), revision)


@functools.cache
def head() -> str:
    """The revision the code's schema is at: the one migration under ``alembic/versions/`` that no
    other revises. Read from each script's ``revision`` and ``down_revision`` as Alembic reads them,
    without importing Alembic (tests/test_migrations.py holds the two to the same answer)."""
    revises: dict[str, str | None] = {}
    for path in sorted((SCRIPT_LOCATION / "versions").glob("*.py")):
        assigned = _assigned(path)
        revises[str(assigned["revision"])] = assigned.get("down_revision")
    heads = set(revises) - set(revises.values())
    if len(heads) != 1:
        raise RuntimeError(f"alembic/versions has {len(heads)} heads, not one: {', '.join(sorted(heads))}")
    return heads.pop()


def _assigned(path: Path) -> dict[str, str | None]:
    """The constant values a migration script assigns at its top level (``revision: str = "0014"``)."""
    values: dict[str, str | None] = {}
    for statement in ast.parse(path.read_text(encoding="utf-8")).body:
        targets: list[ast.expr]
        if isinstance(statement, ast.AnnAssign) and statement.value is not None:
            targets, value = [statement.target], statement.value
        elif isinstance(statement, ast.Assign):
            targets, value = statement.targets, statement.value
        else:
            continue
        if isinstance(value, ast.Constant) and (value.value is None or isinstance(value.value, str)):
            values.update((target.id, value.value) for target in targets if isinstance(target, ast.Name))
    return values
