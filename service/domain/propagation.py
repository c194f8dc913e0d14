"""How statements spread: a claim's same_as group as one graph of sources, and a source's network.

A trace path runs from the outermost reporter to the origin, so in ``path[i]``, ``path[i + 1]``
the first took the statement from the second. The cue of ``path[i + 1]`` is the word that says so
("Hina reports, *citing* Reuters": the cue of Reuters), so it is the one an edge carries; the cue of
position 0 only says how the outermost reporter published.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise
from uuid import UUID

import asyncpg

from service.domain.traces import trace_from_record
from service.errors import Moved, NotFound
from service.model import (
    FirstSaid,
    NetworkLink,
    Propagation,
    PropagationEdge,
    PropagationNode,
    SourceNetwork,
    SourceSummary,
    Trace,
)
from service.repositories import network as repo
from service.repositories import sources as sources_repo
from service.repositories import traces as traces_repo

MAX_GROUP_CLAIMS = 1000
"""How many claims of a same_as group a propagation graph merges at most."""


def graph(traces: Sequence[Trace]) -> tuple[list[PropagationNode], list[PropagationEdge]]:
    """The sources on the paths of ``traces`` and who took it from whom, origins' side first."""
    sources: dict[str, SourceSummary] = {}
    on_paths: dict[str, dict[str, None]] = {}  # source id -> claim ids, as ordered sets
    origins: set[str] = set()
    steps: dict[tuple[str, str], tuple[dict[str, None], dict[str, None]]] = {}  # (from, to) -> cues, claims
    for trace in traces:
        claim_id = trace.claim.id
        origins.add(trace.path[-1].source.id)
        for hop in reversed(trace.path):
            sources.setdefault(hop.source.id, hop.source)
            on_paths.setdefault(hop.source.id, {})[claim_id] = None
        for relay, giver in reversed(list(pairwise(trace.path))):
            if relay.source.id == giver.source.id:
                continue  # a source repeated in a chain took nothing from itself
            cues, claims = steps.setdefault((giver.source.id, relay.source.id), ({}, {}))
            cues[giver.cue] = None
            claims[claim_id] = None
    nodes = [
        PropagationNode(source=source, is_origin=source_id in origins, claims=list(on_paths[source_id]))
        for source_id, source in sources.items()
    ]
    edges = [
        PropagationEdge(from_=giver, to=relay, cues=list(cues), claims=list(claims))
        for (giver, relay), (cues, claims) in steps.items()
    ]
    return nodes, edges


def _said_at(trace: Trace) -> datetime | None:
    return trace.claim.stated_at or trace.claim.appeared_in.published_at


def first_said(traces: Sequence[Trace]) -> FirstSaid:
    """The origin of the earliest claim by ``stated_at``, else ``published_at``; undated claims last."""
    dated = [(said, trace) for trace in traces if (said := _said_at(trace)) is not None]
    earliest = min(dated, key=lambda pair: pair[0])[1] if dated else traces[0]  # ties: the group's order
    return FirstSaid(
        source=earliest.origin.source,
        role=earliest.origin.role,
        on_behalf_of=earliest.origin.on_behalf_of,
        claim_id=earliest.claim.id,
        said_at=_said_at(earliest),
    )


async def propagation(
    conn: asyncpg.Connection, claim_id: UUID, max_depth: int, max_claims: int = MAX_GROUP_CLAIMS
) -> Propagation:
    """The traces of a stored claim's same_as group merged into one graph by source."""
    group = await repo.same_as_group(conn, claim_id, max_claims + 1)
    if not group:
        raise NotFound(f"no claim has the id {str(claim_id)!r}")
    traces = [trace_from_record(r) for r in await traces_repo.traces(conn, group[:max_claims], max_depth)]
    nodes, edges = graph(traces)
    return Propagation(
        claim_id=str(claim_id),
        claims=[t.claim.id for t in traces],
        nodes=nodes,
        edges=edges,
        first=first_said(traces),
        truncated=len(group) > max_claims or any(t.truncated for t in traces),
    )


def _links(records: Sequence[asyncpg.Record]) -> list[NetworkLink]:
    return [
        NetworkLink(source=SourceSummary(id=str(r["id"]), name=r["name"], kind=r["kind"]), claims=r["claims"])
        for r in records
    ]


async def network(conn: asyncpg.Connection, source_id: UUID, limit: int) -> SourceNetwork:
    """Whom a stored source cites and who cites it, at most ``limit`` of each, most claims first."""
    survivor = await sources_repo.survivor(conn, source_id)
    if survivor is None:
        raise NotFound(f"no source has the id {str(source_id)!r}")
    if survivor != source_id:
        raise Moved(survivor, f"/network?limit={limit}")
    source = await sources_repo.summary(conn, source_id)
    assert source is not None
    cites = await repo.cites(conn, source_id, limit)
    cited_by = await repo.cited_by(conn, source_id, limit)
    return SourceNetwork(
        source=SourceSummary(id=str(source["id"]), name=source["name"], kind=source["kind"]),
        cites=_links(cites),
        cited_by=_links(cited_by),
        cites_total=cites[0]["total"] if cites else 0,
        cited_by_total=cited_by[0]["total"] if cited_by else 0,
    )
