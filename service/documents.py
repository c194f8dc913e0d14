"""Rows of the ``source_documents`` and ``claim_documents`` views, as model Structs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import msgspec

from service.model import Affiliation, AppearedInOut, Claim, Hop, Made, Retraction, Source, SourceSummary


def appeared_in(record: Mapping[str, Any]) -> AppearedInOut:
    """Where a claim appeared, from a claim row."""
    return AppearedInOut(
        url=record["url"],
        title=record["title"],
        author=record["author"],
        outlet=record["outlet"],
        published_at=record["published_at"],
    )


def made(record: Mapping[str, Any]) -> Made:
    """How a claim was made, from a claim row."""
    model = record["extracted_by"]
    return Made(method="extraction" if model else "by hand", model=model, accepted_by=record["accepted_by"])


_CHAIN = msgspec.json.Decoder(list[Hop])
_ORIGIN = msgspec.json.Decoder(SourceSummary)


def claim(record: Mapping[str, Any]) -> Claim:
    """A claim with its chain, from a row of ``claims.DOCUMENT``'s columns (chain and origin as JSON text)."""
    return Claim(
        id=str(record["id"]),
        text=record["text"],
        kind=record["kind"],
        language=record["language"],
        appeared_in=appeared_in(record),
        stated_at=record["stated_at"],
        chain=_CHAIN.decode(record["chain"]),
        origin=_ORIGIN.decode(record["origin"]),
        created_at=record["created_at"],
        status=record["status"],
        retraction=(
            Retraction(reason=record["retraction_reason"], retracted_at=record["retracted_at"])
            if record["status"] == "retracted"
            else None
        ),
        made=made(record),
    )


def source(record: Mapping[str, Any], score: float | None = None) -> Source:
    """A source with aliases and affiliations, and how well it matched a query if it was found."""
    return Source(
        id=str(record["id"]),
        name=record["name"],
        kind=record["kind"],
        aliases=list(record["aliases"]),
        description=record["description"],
        identifiers=record["identifiers"],
        affiliations=msgspec.convert(record["affiliations"], list[Affiliation], strict=False),
        created_at=record["created_at"],
        score=score,
    )
