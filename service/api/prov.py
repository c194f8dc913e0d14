"""``/claims/{id}/prov``: a claim's provenance as a W3C PROV document, PROV-JSON or PROV-N."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

import msgspec
from litestar import Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import Parameter
from msgspec import UNSET, Meta, UnsetType

from service.api.connections import Conn
from service.api.params import ClaimIdPath
from service.api.problems import problems
from service.domain import prov
from service.domain.ids import path_id
from service.settings import AppSettings

ProvFormat = Literal["json", "provn"]
PROV_JSON_MEDIA_TYPE = "application/json"


class ProvLiteral(msgspec.Struct, omit_defaults=True, rename={"value": "$"}):
    """A PROV-JSON typed or language-tagged value: `{"$": "prov:Person", "type": "prov:QUALIFIED_NAME"}`."""

    value: Annotated[str, Meta(description="The value, as a string.", examples=["prov:Person"])]
    type: (
        Annotated[
            str,
            Meta(description="Its type: `prov:QUALIFIED_NAME` or `xsd:dateTime`.", examples=["prov:QUALIFIED_NAME"]),
        ]
        | UnsetType
    ) = UNSET
    lang: Annotated[str, Meta(description="The language of a text.", examples=["en"])] | UnsetType = UNSET


Records = dict[str, dict[str, str | int | ProvLiteral]]
RECORDS = "by id: each a map of attribute names to values."


class ProvJson(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """A PROV-JSON document (W3C Member Submission, 2013): records by kind, each by its id."""

    # The shape of ``domain.prov.ProvJson``, described for the OpenAPI document (the domain's Struct is
    # not the place for it); tests/test_openapi.py keeps the two in step.

    prefix: Annotated[
        dict[str, str],
        Meta(description="The namespace of each prefix of the qualified names.", examples=[{"prov": prov.PROV}]),
    ]
    entity: Annotated[Records, Meta(description=f"The hops of the path and the stored claims on it, {RECORDS}")] = (
        msgspec.field(default_factory=dict)
    )
    agent: Annotated[Records, Meta(description=f"The sources, {RECORDS}")] = msgspec.field(default_factory=dict)
    was_attributed_to: Annotated[Records, Meta(description=f"Which source each hop is attributed to, {RECORDS}")] = (
        msgspec.field(default_factory=dict)
    )
    was_derived_from: Annotated[
        Records, Meta(description=f"Each hop derived from the next one towards the origin, {RECORDS}")
    ] = msgspec.field(default_factory=dict)
    specialization_of: Annotated[Records, Meta(description=f"Which stored claim each hop stands for, {RECORDS}")] = (
        msgspec.field(default_factory=dict)
    )
    acted_on_behalf_of: Annotated[
        Records, Meta(description=f"The origin acting for its organization in its role, {RECORDS}")
    ] = msgspec.field(default_factory=dict)


@dataclass
class ProvOperation(Operation):
    """The operation, with the PROV-N answer added to its 200: a ``ResponseSpec`` holds one media type."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[prov.PROVN_MEDIA_TYPE] = OpenAPIMediaType(
                schema=Schema(type=OpenAPIType.STRING, description="PROV-N, with `?format=provn`.")
            )


@get(
    "/claims/{claim_id:str}/prov",
    operation_id="getClaimProv",
    summary="A claim's provenance as W3C PROV",
    description="The claim's trace as a W3C PROV document. Each hop of the path is an entity "
    "(`claim:<id>/hop/<position>`: the statement as that source relayed it) attributed "
    "(`wasAttributedTo`) to its source, an agent (`source:<id>`, `prov:Person` or `prov:Organization`); "
    "hop `i` `wasDerivedFrom` hop `i + 1`, from the outermost reporter to the origin, each a "
    "`prov:Quotation` when the claim is a quote. Each stored claim on the path is an entity "
    "(`claim:<id>`, with its text) that the hop standing for it is a `specializationOf`, and the "
    "origin `actedOnBehalfOf` its organization in its role. `format=json` (the default) answers "
    "PROV-JSON (W3C Member Submission) as `application/json`, since PROV-JSON registers no media type "
    "of its own; `format=provn` answers PROV-N as `text/provenance-notation`.",
    tags=["claims"],
    responses={
        200: ResponseSpec(
            data_container=ProvJson,
            description="The PROV document.",
            media_type=PROV_JSON_MEDIA_TYPE,
            generate_examples=False,
        ),
        **problems(404, 422),
    },
    operation_class=ProvOperation,
)
async def claim_prov(
    conn: Conn,
    settings: AppSettings,
    claim_id: ClaimIdPath,
    format: Annotated[ProvFormat, Parameter(description="`json` for PROV-JSON, `provn` for PROV-N.")] = "json",
) -> Response[Any]:  # the 200 above documents both answers
    document = await prov.claim_document(conn, path_id(claim_id, "claim"), settings.trace_max_depth)
    if format == "provn":
        return Response(prov.provn(document), media_type=prov.PROVN_MEDIA_TYPE)
    return Response(document, media_type=PROV_JSON_MEDIA_TYPE)
