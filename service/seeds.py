"""Seeds: hand-curated claims kept as data under ``seeds/``, loaded idempotently.

A seed file holds an ``article`` (where its claims appeared), ``sources`` and ``claims``, each with a
stable ``key``. Stored ids derive from the keys (UUIDv5), so a second load finds everything in place
and adds nothing. A seed source whose name matches exactly one stored source reuses it.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
import msgspec

from service.domain import claims as claims_domain
from service.domain import relations
from service.domain import sources as sources_domain
from service.domain.names import name_key
from service.domain.relations import stored_order
from service.model import AffiliationIn, ClaimIn, HopIn, RelationType, SourceIn, SourceKind
from service.repositories import claims as claims_repo
from service.repositories import relations as relations_repo
from service.repositories import sources as sources_repo

NAMESPACE = uuid.UUID("6f1c2a52-3e0b-4c55-9d7e-0d6c1f2b8a41")
DEFAULT_PATH = Path(__file__).resolve().parent.parent / "seeds"


class SeedAffiliation(msgspec.Struct, forbid_unknown_fields=True):
    organization: str
    role: str | None = None
    since: date | None = None
    until: date | None = None


class SeedSource(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    key: str
    name: str
    kind: SourceKind
    aliases: list[str] = []
    description: str | None = None
    identifiers: dict[str, str] = {}
    affiliations: list[SeedAffiliation] = []


class SeedHop(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    cue: str
    source: str | None = None
    role: str | None = None
    upstream: str | None = None


class SeedClaim(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    key: str
    text: str
    kind: str
    chain: list[SeedHop]
    language: str = "en"
    stated_at: str | None = None
    appeared_in: dict[str, Any] | None = None


class SeedRelation(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    type: RelationType
    claim: str
    target: str
    note: str | None = None


class SeedFile(msgspec.Struct, forbid_unknown_fields=True):
    article: dict[str, Any]
    sources: list[SeedSource]
    claims: list[SeedClaim]
    relations: list[SeedRelation] = []


def seed_id(kind: str, key: str) -> uuid.UUID:
    """The stored id of a seed source or claim."""
    return uuid.uuid5(NAMESPACE, f"{kind}:{key}")


class SeedReport(msgspec.Struct):
    """What one load added."""

    files: int = 0
    sources_added: int = 0
    claims_added: int = 0
    relations_added: int = 0


async def _source_ids(conn: asyncpg.Connection, seed: SeedFile, report: SeedReport) -> dict[str, uuid.UUID]:
    ids: dict[str, uuid.UUID] = {}
    created: list[SeedSource] = []
    for source in seed.sources:
        wanted = seed_id("source", source.key)
        if await sources_repo.summary(conn, wanted) is not None:
            ids[source.key] = wanted
            continue
        matches = await sources_repo.matching(conn, name_key(source.name))
        same_kind = [m for m in matches if m["kind"] == source.kind]
        if len(same_kind) == 1:
            ids[source.key] = same_kind[0]["id"]
            continue
        body = SourceIn(
            name=source.name,
            kind=source.kind,
            aliases=source.aliases,
            description=source.description,
            identifiers=source.identifiers,
        )
        field = f"sources.{source.key}"
        ids[source.key] = await sources_domain.add(conn, body, actor="seed", field=field, id=wanted)
        created.append(source)
        report.sources_added += 1
    for source in created:
        for i, affiliation in enumerate(source.affiliations):
            membership = AffiliationIn(
                organization_id=str(ids[affiliation.organization]),
                role=affiliation.role,
                since=affiliation.since,
                until=affiliation.until,
            )
            field = f"sources.{source.key}.affiliations[{i}]"
            await sources_domain.affiliate(conn, ids[source.key], membership, field)
    return ids


def _claim_body(claim: SeedClaim, seed: SeedFile, sources: dict[str, uuid.UUID]) -> ClaimIn:
    chain = [
        HopIn(
            cue=hop.cue,
            source_id=str(sources[hop.source]) if hop.source else None,
            role=hop.role,
            upstream_claim_id=str(seed_id("claim", hop.upstream)) if hop.upstream else None,
        )
        for hop in claim.chain
    ]
    document = {
        "text": claim.text,
        "kind": claim.kind,
        "language": claim.language,
        "stated_at": claim.stated_at,
        "appeared_in": claim.appeared_in if claim.appeared_in is not None else seed.article,
        "chain": msgspec.to_builtins(chain),
    }
    return msgspec.convert(document, ClaimIn, strict=False)


async def load_file(conn: asyncpg.Connection, path: Path, report: SeedReport) -> None:
    """Load one seed file in one transaction."""
    seed = msgspec.json.decode(path.read_bytes(), type=SeedFile)
    async with conn.transaction():
        sources = await _source_ids(conn, seed, report)
        for claim in seed.claims:
            claim_id = seed_id("claim", claim.key)
            if await claims_repo.exists(conn, claim_id):
                continue
            await claims_domain.create(conn, _claim_body(claim, seed, sources), id=claim_id, actor="seed")
            report.claims_added += 1
        for link in seed.relations:
            first, second = stored_order(seed_id("claim", link.claim), seed_id("claim", link.target), link.type)
            added = await relations_repo.insert_if_absent(conn, first, second, link.type, link.note, "seed")
            if added is not None:
                await relations.record_in_audit(conn, added, first, second, link.type, link.note, "seed", actor="seed")
                report.relations_added += 1
    report.files += 1


async def load(conn: asyncpg.Connection, path: Path = DEFAULT_PATH) -> SeedReport:
    """Load a seed file, or every ``*.json`` of a folder in name order."""
    report = SeedReport()
    files = sorted(path.glob("*.json")) if path.is_dir() else [path]
    for file in files:
        await load_file(conn, file, report)
    return report
