"""Reading an article's attribution chains: the model's proposals, each speaker linked to the stored sources.

The model runs in a worker thread (it is CPU-bound: parsing and tagging), one article at a time
per process, so that requests for the API's other routes keep being answered meanwhile. Each
speaker's name then goes through the service's own source search (``sources.find``: names,
aliases, spelling variants): one stored source with that exact name or alias is proposed, several
(or only near spellings) are listed as candidates and never chosen, none proposes a new source.
Nothing is stored.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

import anyio
import asyncpg

from service import heap
from service.domain import rules, sources
from service.extraction import MODEL_DIR
from service.extraction.words import kind_of
from service.model import (
    AffiliationIn,
    AppearedIn,
    ClaimIn,
    ExtractedAttribution,
    ExtractIn,
    Extraction,
    HopIn,
    OrganizationRef,
    ProposedClaim,
    ProposedHop,
    ProposedSource,
    Source,
    SourceIn,
    SourceKind,
    SourceSummary,
    TextSpan,
)
from service.model import Speaker as SpeakerOut

if TYPE_CHECKING:
    from service.extraction.extractor import Extractor, Node
    from service.extraction.proposals import ClaimDraft
    from service.extraction.speakers import Speaker
    from service.extraction.tagger import CharSpan

# One article at a time per process: two would only share the same cores, each finishing later.
_one_at_a_time = anyio.CapacityLimiter(1)
# Near spellings of a name worth showing as candidates (1.0 is the exact name or an alias).
CANDIDATE_SCORE = 0.5
MAX_CANDIDATES = 5


@functools.cache
def extractor() -> Extractor:
    """The process's extractor, loaded once (about a second and 150 MB) on first use. spaCy comes
    with it, imported here and not with the module: a worker that never reads an article does not
    carry it (about 60 MB resident)."""
    from service.extraction.extractor import Extractor

    loaded = Extractor(MODEL_DIR)
    heap.settle()  # the model lives as long as the process (service/heap.py)
    return loaded


@functools.cache
def model_name() -> str:
    """The model's name and version, from its card."""
    meta = json.loads((MODEL_DIR / "meta.json").read_text(encoding="utf-8"))
    return f"{meta['name']}-{meta['version']}"


@dataclass
class _Read:
    nodes: list[Node]
    speakers: dict[int, Speaker | None]
    claims: list[ClaimDraft]


def _read(text: str) -> _Read:
    model = extractor()
    from service.extraction.proposals import drafts, speakers_of  # imported with spaCy, by extractor()

    nodes = model.attributions(model.tagger.parse(text))
    speakers = speakers_of(nodes, model.tagger.inflected)
    return _Read(nodes, speakers, drafts(text, nodes, speakers))


def _span(text: str, span: CharSpan) -> TextSpan:
    return _text_span(text, span.start, span.end)


def _text_span(text: str, start: int, end: int) -> TextSpan:
    return TextSpan(start=start, end=end, text=text[start:end])


def _attribution(text: str, node: Node) -> ExtractedAttribution:
    parts = node.contents
    return ExtractedAttribution(
        id=node.id,
        parent_id=node.parent,
        source=_span(text, node.source) if node.source else None,
        cue=_span(text, node.cue),
        content=_text_span(text, parts[0].start, parts[-1].end),
        content_parts=[_span(text, part) for part in parts],
        confidence=node.confidence,
    )


async def _link(conn: asyncpg.Connection, speaker: Speaker) -> tuple[ProposedSource, Source | None]:
    """The stored source a speaker is (and that source as stored), the candidates it may be, or the source
    to create."""
    found = await sources.find(conn, speaker.name, kind=None, member_of=None, after=None, limit=MAX_CANDIDATES)
    exact = [stored.source for stored in found if stored.source.score == 1.0]
    if speaker.anonymous:
        # An unnamed speaker is only the stored one of exactly that description ("Pentagon sources").
        exact = [source for source in exact if source.kind == "anonymous"]
        found = [stored for stored in found if stored.source in exact]
    if len(exact) == 1:
        return ProposedSource(match="stored", id=exact[0].id, score=1.0), exact[0]
    near = exact or [stored.source for stored in found if (stored.source.score or 0) >= CANDIDATE_SCORE]
    affiliations = []
    if speaker.organization:
        kind: Literal["organization", "outlet"] = (
            "outlet" if kind_of(speaker.organization) == "outlet" else "organization"
        )
        affiliations = [
            AffiliationIn(organization=OrganizationRef(name=speaker.organization, kind=kind), role=speaker.role)
        ]
    new = SourceIn(name=speaker.name, kind=cast(SourceKind, speaker.kind), affiliations=affiliations)
    if near:
        return ProposedSource(match="ambiguous", candidates=near, new=new), None
    return ProposedSource(match="new", new=new), None


async def _on_behalf_of(conn: asyncpg.Connection, speaker: Speaker, stored: Source | None) -> SourceSummary | None:
    """The stored organization the speaker speaks for: the one the text names, else the stored source's own."""
    if speaker.organization:
        found = await sources.find(conn, speaker.organization, kind=None, member_of=None, after=None, limit=3)
        exact = [s.source for s in found if s.source.score == 1.0 and s.source.kind in rules.AFFILIABLE_KINDS]
        if len(exact) == 1:
            return SourceSummary(id=exact[0].id, name=exact[0].name, kind=exact[0].kind)
        return None
    if stored is not None and stored.affiliations:
        return stored.affiliations[0].organization
    return None


async def extract(conn: asyncpg.Connection, body: ExtractIn) -> Extraction:
    """Read the article's attributions and propose its claims, linking speakers to stored sources."""
    text = body.text
    read = await anyio.to_thread.run_sync(_read, text, limiter=_one_at_a_time)
    linked: dict[tuple[str, bool], ProposedSource] = {}
    behalf: dict[tuple[str, bool], SourceSummary | None] = {}
    claims = []
    for draft in read.claims:
        hops_in = []
        hops_out = []
        for hop in draft.hops:
            speaker = hop.speaker
            key = (speaker.name, speaker.anonymous)
            if key not in linked:
                linked[key], stored = await _link(conn, speaker)
                behalf[key] = await _on_behalf_of(conn, speaker, stored)
            proposed = linked[key]
            if proposed.match == "stored":
                hops_in.append(HopIn(cue=hop.cue, source_id=proposed.id, role=speaker.role))
            else:
                assert proposed.new is not None
                hops_in.append(HopIn(cue=hop.cue, source=proposed.new, role=speaker.role))
            node = hop.node
            hops_out.append(
                ProposedHop(
                    attribution_id=node.id,
                    source_span=_span(text, node.source) if node.source else None,
                    cue_span=_span(text, node.cue),
                    speaker=SpeakerOut(
                        name=speaker.name,
                        role=speaker.role,
                        organization=speaker.organization,
                        anonymous=speaker.anonymous,
                        resolved_from="coreference" if speaker.via == "coreference" else "span",
                    ),
                    source=proposed,
                    on_behalf_of=behalf[key],
                    confidence=node.confidence,
                )
            )
        claim = ClaimIn(
            text=draft.text[:10_000],
            kind=draft.kind,  # type: ignore[arg-type]
            chain=hops_in[:16],
            language=body.language,
            appeared_in=body.appeared_in or AppearedIn(),
            extracted_by=model_name(),
        )
        claims.append(
            ProposedClaim(
                claim=claim, content=_span(text, draft.content), hops=hops_out[:16], confidence=draft.confidence
            )
        )
    return Extraction(
        model=model_name(),
        language=body.language,
        attributions=[_attribution(text, node) for node in read.nodes],
        claims=claims,
    )
