"""A Python client generated from the committed OpenAPI document works against the served app.

Integrators generate their clients from ``openapi/openapi.json``: this test does the same with
``openapi-python-client`` (into a temporary folder, never committed) and uses only that client to
store a source and a claim, trace it, and review it.
"""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest

from service import db
from service.domain import keys
from tests.helpers import empty_tables, serving

SPEC = Path(__file__).resolve().parent.parent / "openapi" / "openapi.json"
GENERATOR = Path(sys.executable).parent / "openapi-python-client"
PACKAGE = "provenance_client"


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[Any]:
    """The generated package's modules: ``generated("api.claims.create_claim")``."""
    # NDJSON (POST /claims/import) is sent as bytes: the generator is told so, as an integrator would.
    config = tmp_path / "config.yaml"
    config.write_text("content_type_overrides:\n  application/x-ndjson: application/octet-stream\n")
    result = subprocess.run(
        [
            str(GENERATOR),
            "generate",
            "--path",
            str(SPEC),
            "--output-path",
            str(tmp_path / PACKAGE),
            "--meta",
            "none",
            "--config",
            str(config),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    sys.path.insert(0, str(tmp_path))

    def module(name: str) -> ModuleType:
        return importlib.import_module(f"{PACKAGE}.{name}")

    try:
        yield module
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(f"{PACKAGE}.")]:
            del sys.modules[name]


async def _empty_tables_and_make_a_key(url: str) -> str:
    conn = await db.connect(url)
    try:
        await empty_tables(conn)
        _, secret = await keys.create(conn, "generated-client", "write")
        return secret
    finally:
        await conn.close()


class Served(NamedTuple):
    """A served app and the secret of a write key it accepts."""

    base: str
    key: str


@pytest.fixture
def served(database_url: str) -> Iterator[Served]:
    """``provenance serve`` (uvicorn) on a free port, against the migrated test database, emptied, with a key."""
    key = asyncio.run(_empty_tables_and_make_a_key(database_url))
    with serving(env={**os.environ, "DATABASE_URL": database_url}, ready_within=60) as base:
        yield Served(base, key)


def test_generated_client_creates_traces_and_reviews_a_claim(generated: Any, served: Served) -> None:
    models = generated("models")
    create_source = generated("api.sources.create_source")
    create_claim = generated("api.claims.create_claim")
    trace_claim = generated("api.claims.trace_claim")
    create_claim_review = generated("api.claims.create_claim_review")
    list_claim_reviews = generated("api.claims.list_claim_reviews")

    with generated("client").AuthenticatedClient(
        base_url=served.base, token=served.key, raise_on_unexpected_status=True
    ) as client:
        created_source = create_source.sync_detailed(
            client=client,
            body=models.SourceIn(
                name="Patrick Ryder",
                kind=models.SourceInKind("person"),
                aliases=["Pat Ryder"],
                affiliations=[
                    models.AffiliationIn(organization=models.OrganizationRef(name="Pentagon"), role="spokesman")
                ],
            ),
        )
        assert created_source.status_code == 201, created_source.content
        ryder = created_source.parsed
        assert isinstance(ryder, models.Source)

        created_claim = create_claim.sync_detailed(
            client=client,
            body=models.ClaimIn(
                text="Austin initiated the phone call with Belousov, the first since March 2023",
                kind=models.ClaimInKind("paraphrase"),
                appeared_in=models.AppearedIn(published_at=datetime(2024, 6, 25, 18, 30, tzinfo=UTC)),
                chain=[
                    models.HopIn(
                        source=models.SourceIn(name="Hina", kind=models.SourceInKind("outlet")), cue="reports"
                    ),
                    models.HopIn(
                        source=models.SourceIn(name="Reuters", kind=models.SourceInKind("outlet")), cue="citing"
                    ),
                    models.HopIn(source_id=ryder.id, cue="told reporters", role="spokesman"),
                ],
            ),
        )
        assert created_claim.status_code == 201, created_claim.content
        claim = created_claim.parsed
        assert isinstance(claim, models.Claim)
        assert claim.origin.id == ryder.id

        trace = trace_claim.sync(claim.id, client=client)
        assert isinstance(trace, models.Trace)
        assert [hop.source.name for hop in trace.path] == ["Hina", "Reuters", "Patrick Ryder"]
        assert [hop.claim_id for hop in trace.path] == [claim.id] * 3
        assert trace.origin.source.id == ryder.id
        assert trace.origin.role == "spokesman"
        assert trace.origin.on_behalf_of.name == "Pentagon"
        assert (trace.hops, trace.anonymous_origin) == (3, False)

        reviewed = create_claim_review.sync_detailed(
            claim.id,
            client=client,
            body=models.ReviewIn(
                reviewer=models.SourceIn(name="FactCheck Desk", kind=models.SourceInKind("organization")),
                rating=models.RatingIn(label="Accurate", value=5, best=5, worst=1),
                url="https://factcheck.example/2024/06/austin-belousov-call",
                reviewed_at=datetime(2024, 6, 26, 10, 0, tzinfo=UTC),
            ),
        )
        assert reviewed.status_code == 201, reviewed.content

        reviews = list_claim_reviews.sync(claim.id, client=client)
        assert isinstance(reviews, models.ReviewList)
        assert [(r.reviewer.name, r.rating.label, r.rating.value) for r in reviews.items] == [
            ("FactCheck Desk", "Accurate", 5.0)
        ]

        line = {"text": "The call lasted an hour", "kind": "paraphrase",
                "chain": [{"source": {"name": "Daily Bugle", "kind": "outlet"}, "cue": "reports"},
                          {"cue": "citing", "upstream_claim_id": str(claim.id)}]}  # fmt: skip
        body = generated("types").File(payload=io.BytesIO(json.dumps(line).encode() + b"\n"))
        imported = generated("api.claims.import_claims").sync(client=client, body=body)
        assert isinstance(imported, models.ClaimImport)
        assert (imported.imported, imported.failed) == (1, 0)
