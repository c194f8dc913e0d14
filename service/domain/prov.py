"""W3C PROV for one claim: its trace as a PROV-JSON document, and the same document as PROV-N.

The document is built from the trace (``traces.trace``), never from a second walk of the chains:

- each hop of the path is an entity, ``claim:<traced id>/hop/<position>``: the statement as that
  hop's source relayed it (the origin's hop: as it was first said). Hop ids belong to the traced
  claim's document, as positions belong to its path. ``wasAttributedTo`` names the hop's source.
- hop ``i`` ``wasDerivedFrom`` hop ``i + 1``, so the derivations walk from the outermost reporter
  (hop 0) to the origin. When the traced claim is a quote, each is a quotation (PROV-DM writes
  ``wasQuotedFrom`` as a derivation with ``prov:type`` ``prov:Quotation``).
- each stored claim on the path is an entity, ``claim:<id>``, with its text, where it appeared and
  how it was made (``provenance:madeBy``: by hand or extraction, its ``extractionModel`` and the key
  that stored it, ``acceptedBy``),
  and the hop that stands for it is ``specializationOf`` it: hop 0 for the traced claim, and for an
  upstream claim the hop linking to it (the upstream claim's own first hop names the same source
  and is not repeated in the path). Specialization, not derivation, keeps the walk one line.
- each source is an agent, ``source:<id>``; the origin ``actedOnBehalfOf`` the organization the
  trace found for it, in its role.
"""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from uuid import UUID

import asyncpg
import msgspec
from msgspec import UNSET, UnsetType

from service import documents
from service.domain import traces
from service.model import Claim, ClaimSummary, SourceSummary, Trace
from service.repositories import claims as claims_repo

PROV = "http://www.w3.org/ns/prov#"
TERMS = "urn:provenance:terms:"
"""Our own attribute names (``provenance:text``): a URN, so that it never pretends to resolve."""
NAMESPACES = {
    "prov": PROV,
    "provenance": TERMS,
    "claim": "urn:provenance:claim:",
    "source": "urn:provenance:source:",
}
PROVN_MEDIA_TYPE = "text/provenance-notation"
"""The media type the PROV-N Recommendation registers; PROV-JSON registers none, so it is JSON."""

_AGENT_TYPES = {"person": "prov:Person", "organization": "prov:Organization", "outlet": "prov:Organization"}


class ProvLiteral(msgspec.Struct, omit_defaults=True, rename={"value": "$"}):
    """A PROV-JSON typed or language-tagged value: ``{"$": "prov:Person", "type": "prov:QUALIFIED_NAME"}``."""

    value: str
    type: str | UnsetType = UNSET
    lang: str | UnsetType = UNSET


Attributes = dict[str, str | int | ProvLiteral]
Records = dict[str, Attributes]


class ProvJson(msgspec.Struct, kw_only=True, omit_defaults=True, rename="camel"):
    """A PROV-JSON document (W3C Member Submission, 2013): records by kind, each by its id."""

    prefix: dict[str, str]
    entity: Records = msgspec.field(default_factory=dict)
    agent: Records = msgspec.field(default_factory=dict)
    was_attributed_to: Records = msgspec.field(default_factory=dict)
    was_derived_from: Records = msgspec.field(default_factory=dict)
    specialization_of: Records = msgspec.field(default_factory=dict)
    acted_on_behalf_of: Records = msgspec.field(default_factory=dict)


def _name(value: str) -> ProvLiteral:
    return ProvLiteral(value, type="prov:QUALIFIED_NAME")


def _moment(value: datetime) -> ProvLiteral:
    return ProvLiteral(value.isoformat(), type="xsd:dateTime")


def _claim_entity(claim: ClaimSummary | Claim) -> Attributes:
    attributes: Attributes = {
        "provenance:text": ProvLiteral(claim.text, lang=claim.language),
        "provenance:kind": claim.kind,
        "provenance:language": claim.language,
    }
    appeared = claim.appeared_in
    for key, text in (("url", appeared.url), ("title", appeared.title), ("outlet", appeared.outlet)):
        if text is not None:
            attributes[f"provenance:{key}"] = text
    for key, moment in (("publishedAt", appeared.published_at), ("statedAt", claim.stated_at)):
        if moment is not None:
            attributes[f"provenance:{key}"] = _moment(moment)
    attributes["provenance:madeBy"] = claim.made.method
    if claim.made.model is not None:
        attributes["provenance:extractionModel"] = claim.made.model
    if claim.made.accepted_by is not None:
        attributes["provenance:acceptedBy"] = claim.made.accepted_by
    return attributes


def _agent(source: SourceSummary) -> Attributes:
    attributes: Attributes = {"prov:label": source.name, "provenance:kind": source.kind}
    if source.kind in _AGENT_TYPES:
        attributes["prov:type"] = _name(_AGENT_TYPES[source.kind])
    return attributes


def prov_json(trace: Trace, claims: dict[str, ClaimSummary | Claim]) -> ProvJson:
    """The PROV-JSON document of a trace; ``claims`` are the stored claims on its path, by id."""
    document = ProvJson(prefix=dict(NAMESPACES))
    hop_ids = [f"claim:{trace.claim.id}/hop/{hop.position}" for hop in trace.path]
    stands_for: dict[str, str] = {}  # stored claim id -> the hop entity that stands for it
    for hop, hop_id in zip(trace.path, hop_ids, strict=True):
        entity: Attributes = {
            "prov:label": f"{hop.source.name} ({hop.cue})",
            "provenance:position": hop.position,
            "provenance:cue": hop.cue,
            "provenance:recordedIn": _name(f"claim:{hop.claim_id}"),
        }
        if hop.role is not None:
            entity["provenance:role"] = hop.role
        document.entity[hop_id] = entity
        document.agent.setdefault(f"source:{hop.source.id}", _agent(hop.source))
        document.was_attributed_to[f"_:attribution{hop.position}"] = {
            "prov:entity": hop_id,
            "prov:agent": f"source:{hop.source.id}",
        }
        # hop 0 stands for the traced claim; an upstream claim's first hop here, for the hop before it
        stands_for.setdefault(hop.claim_id, hop_ids[max(hop.position - 1, 0)])
    for claim_id, hop_id in stands_for.items():
        stored = claims.get(claim_id)
        document.entity[f"claim:{claim_id}"] = _claim_entity(stored) if stored else {}
        document.specialization_of[f"_:specialization{len(document.specialization_of)}"] = {
            "prov:specificEntity": hop_id,
            "prov:generalEntity": f"claim:{claim_id}",
        }
    for position, (relay, giver) in enumerate(pairwise(hop_ids)):
        derivation: Attributes = {"prov:generatedEntity": relay, "prov:usedEntity": giver}
        if trace.claim.kind == "quote":
            derivation["prov:type"] = _name("prov:Quotation")
        document.was_derived_from[f"_:derivation{position}"] = derivation
    origin = trace.origin
    if origin.on_behalf_of is not None:
        responsible = origin.on_behalf_of
        document.agent.setdefault(f"source:{responsible.id}", _agent(responsible))
        delegation: Attributes = {
            "prov:delegate": f"source:{origin.source.id}",
            "prov:responsible": f"source:{responsible.id}",
        }
        if origin.role is not None:
            delegation["provenance:role"] = origin.role
        document.acted_on_behalf_of["_:delegation0"] = delegation
    return document


async def claim_document(conn: asyncpg.Connection, claim_id: UUID, max_depth: int) -> ProvJson:
    """The PROV-JSON document of one stored claim's trace, or 404."""
    trace = await traces.trace(conn, claim_id, max_depth)
    claims: dict[str, ClaimSummary | Claim] = {trace.claim.id: trace.claim}
    upstream = list(dict.fromkeys(UUID(hop.claim_id) for hop in trace.path if hop.claim_id != trace.claim.id))
    if upstream:
        for record in await claims_repo.documents(conn, upstream):
            claim = documents.claim(record)
            claims[claim.id] = claim
    return prov_json(trace, claims)


# --- PROV-N ------------------------------------------------------------------------------------

# The formal arguments of each kind of record, in PROV-N order; the rest go in the [...] list.
_FORMAL = {
    "entity": (),
    "agent": (),
    "wasAttributedTo": ("prov:entity", "prov:agent"),
    "wasDerivedFrom": ("prov:generatedEntity", "prov:usedEntity"),
    "specializationOf": ("prov:specificEntity", "prov:generalEntity"),
    "actedOnBehalfOf": ("prov:delegate", "prov:responsible"),
}
_STRING_ESCAPES = str.maketrans(
    {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f"}
)


def _provn_value(value: str | int | ProvLiteral) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return f'"{value.translate(_STRING_ESCAPES)}"'
    if value.type == "prov:QUALIFIED_NAME":
        return f"'{value.value}'"
    text = f'"{value.value.translate(_STRING_ESCAPES)}"'
    if value.lang is not UNSET:
        return f"{text}@{value.lang}"
    return f"{text}%%{value.type}" if value.type is not UNSET else text


def _provn_statement(kind: str, record_id: str, attributes: Attributes) -> str:
    formal = _FORMAL[kind]
    arguments = [str(attributes[name]) for name in formal]
    extra = [f"{name}={_provn_value(value)}" for name, value in attributes.items() if name not in formal]
    if extra:
        arguments.append(f"[{', '.join(extra)}]")
    if not formal:
        return f"  {kind}({', '.join([record_id, *arguments])})"
    # PROV-N has no blank identifiers: a relation keyed "_:..." in PROV-JSON is written without one.
    identifier = "" if record_id.startswith("_:") else f"{record_id}; "
    return f"  {kind}({identifier}{', '.join(arguments)})"


def provn(document: ProvJson) -> str:
    """The same document in PROV-N, the W3C PROV notation."""
    records = {
        "entity": document.entity,
        "agent": document.agent,
        "wasAttributedTo": document.was_attributed_to,
        "wasDerivedFrom": document.was_derived_from,
        "specializationOf": document.specialization_of,
        "actedOnBehalfOf": document.acted_on_behalf_of,
    }
    lines = ["document"]
    # prov (and xsd) are PROV-N's own prefixes: declared in PROV-JSON for clarity, never here.
    lines += [f"  prefix {prefix} <{uri}>" for prefix, uri in document.prefix.items() if prefix != "prov"]
    for kind, by_id in records.items():
        lines += [_provn_statement(kind, record_id, attributes) for record_id, attributes in by_id.items()]
    lines.append("endDocument")
    return "\n".join(lines) + "\n"
