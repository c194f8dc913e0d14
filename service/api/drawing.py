"""``/claims/{id}/trace.svg``: the attribution chain of a claim as a picture."""

from __future__ import annotations

from litestar import get

from service.api.connections import Conn
from service.api.params import ClaimIdPath
from service.api.problems import problems
from service.domain import drawing, traces
from service.domain.ids import path_id
from service.settings import AppSettings

SVG_MEDIA_TYPE = "image/svg+xml"


@get(
    "/claims/{claim_id:str}/trace.svg",
    operation_id="drawClaimTrace",
    summary="Draw a claim's attribution chain",
    description="The trace of `GET /claims/{claim_id}/trace` as a self-contained SVG 600 px wide, "
    "growing downward with the hops: the origin on top (heavier border, its role and on whose behalf "
    "under it), then every source the statement went through down to the piece it appeared in, each "
    "arrow labelled with the attribution words. Person, organization, outlet and anonymous sources "
    "differ by colour and shape, anonymous ones dashed. No scripts, styles, fonts or links to fetch: "
    "embed it in an article as it is.",
    tags=["claims"],
    media_type=SVG_MEDIA_TYPE,
    response_description="The drawing (`image/svg+xml`).",
    responses=problems(404),
)
async def draw_claim_trace(
    conn: Conn,
    settings: AppSettings,
    claim_id: ClaimIdPath,
) -> str:
    trace = await traces.trace(conn, path_id(claim_id, "claim"), settings.trace_max_depth)
    return drawing.draw_trace(trace)
