"""The committed OpenAPI document is what the app generates, and documents every operation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from service.openapi import document

COMMITTED = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


def test_committed_document_matches_the_app() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == document(), "run `make openapi`"


@pytest.mark.parametrize(("path", "method", "operation"), operations(json.loads(COMMITTED.read_text())))
def test_every_operation_is_documented(path: str, method: str, operation: dict[str, Any]) -> None:
    assert operation.get("operationId"), f"{method} {path}"
    assert operation.get("summary")
    assert operation.get("tags")
    errors = {code: r for code, r in operation["responses"].items() if code.startswith(("4", "5"))}
    if path not in {"/health"}:
        assert errors, f"{method} {path} documents no error"
    for response in errors.values():
        assert list(response["content"]) == ["application/problem+json"]


def test_operation_ids_are_unique() -> None:
    ids = [op["operationId"] for _, _, op in operations(json.loads(COMMITTED.read_text()))]
    assert len(ids) == len(set(ids))


async def test_live_routes_are_the_documented_operations(app: Litestar) -> None:
    live = {
        (route.path.replace(":str", ""), method.lower())
        for route in app.routes
        for method in getattr(route, "methods", ())
        if method not in {"HEAD", "OPTIONS"} and not route.path.startswith("/schema")
    }
    documented = {(path, method) for path, method, _ in operations(json.loads(COMMITTED.read_text()))}
    assert live == documented
