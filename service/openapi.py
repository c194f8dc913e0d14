"""Write or check the committed OpenAPI document: ``python -m service.openapi --output|--check FILE``."""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path

from service.app import create_app
from service.settings import Settings


def document() -> str:
    """The OpenAPI document the app generates, as stable, indented JSON."""
    app = create_app(Settings(database_url="postgresql://unused"))
    return json.dumps(app.openapi_schema.to_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main() -> int:
    """Write the document, or exit 1 with a diff when the committed one differs."""
    parser = argparse.ArgumentParser(description=__doc__)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--output", type=Path)
    group.add_argument("--check", type=Path)
    args = parser.parse_args()
    generated = document()
    if args.output:
        args.output.write_text(generated, encoding="utf-8")
        print(f"wrote {args.output}")
        return 0
    committed = args.check.read_text(encoding="utf-8") if args.check.exists() else ""
    if committed != generated:
        sys.stdout.writelines(
            difflib.unified_diff(
                committed.splitlines(keepends=True),
                generated.splitlines(keepends=True),
                str(args.check),
                "generated",
            )
        )
        print(f"{args.check} is out of date: run `make openapi` and commit it", file=sys.stderr)
        return 1
    print(f"{args.check} matches the app")
    return 0


if __name__ == "__main__":
    sys.exit(main())
