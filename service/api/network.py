"""``/claims/{id}/propagation`` and ``/sources/{id}/network``: how statements spread between sources."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import Parameter

from service.api.connections import Conn
from service.api.examples import NETWORK_ANSWER, with_examples
from service.api.params import ClaimIdPath, SourceIdPath
from service.api.problems import problems
from service.domain import propagation as domain
from service.domain.ids import path_id
from service.model import Propagation, SourceNetwork
from service.settings import AppSettings


@get(
    "/claims/{claim_id:str}/propagation",
    operation_id="getClaimPropagation",
    summary="How a claim spread, from its origin to every relay",
    description="Merges the traces of the claim's `same_as` group (the claims linked to it by "
    "`same_as`, directly or through others, at most 1000) into one graph by source. `nodes` are the "
    "sources on any path, origins marked; each edge says that source `to` took the statement from "
    "source `from`, with the cues naming `from` and the claims whose path shows it. `first` is the "
    "origin of the group's earliest claim by `stated_at`, else `appeared_in.published_at` (undated "
    "claims last).",
    tags=["claims"],
    responses=problems(404),
)
async def claim_propagation(
    conn: Conn,
    settings: AppSettings,
    claim_id: ClaimIdPath,
) -> Propagation:
    return await domain.propagation(conn, path_id(claim_id, "claim"), settings.trace_max_depth)


@get(
    "/sources/{source_id:str}/network",
    operation_id="getSourceNetwork",
    operation_class=with_examples(response=NETWORK_ANSWER),
    summary="Whom a source cites and who cites it",
    description="In the chains of stored claims, the sources right after this one (`cites`: it took "
    "statements from them) and right before it (`cited_by`: they took statements from it), each with "
    "the number of claims showing it, most claims first, then by name. Upstream links are not "
    "followed: a linked upstream claim's chain counts as a claim of its own.",
    tags=["sources"],
    responses=problems(404, 422),
)
async def source_network(
    conn: Conn,
    source_id: SourceIdPath,
    limit: Annotated[int, Parameter(ge=1, le=200, description="How many sources in each list, 1 to 200.")] = 50,
) -> SourceNetwork:
    return await domain.network(conn, path_id(source_id, "source"), limit)
