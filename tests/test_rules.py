"""The rules of a claim and its chain (``service.domain.rules``), without a database: every error with
the field it names, reuse and creation of inline sources, affiliations, upstream links. The facts are
the import's own in-memory ones (``Batch``); tests/test_bulk.py and tests/test_claims.py show the
database's facts give the same answers."""

from __future__ import annotations

import uuid
from typing import Any
from uuid import UUID

import msgspec
import pytest

from service.domain import rules
from service.domain.rules import SourceRef, UpstreamRef, at_once
from service.errors import AmbiguousSource, Conflict, InvalidInput, ProvenanceError
from service.imports.resolve import Batch
from service.imports.store import StoredFacts
from service.model import ClaimIn, HopIn, SourceIn

PENTAGON = SourceRef(uuid.uuid4(), "Pentagon", "organization")
RYDER = SourceRef(uuid.uuid4(), "Patrick Ryder", "person")
REUTERS = SourceRef(uuid.uuid4(), "Reuters", "outlet")
HINA = SourceRef(uuid.uuid4(), "Hina", "outlet")
RYDER_TWIN = SourceRef(uuid.uuid4(), "Patrick Ryder", "organization")
ALEX_1 = SourceRef(uuid.uuid4(), "Alex Morgan", "person")
ALEX_2 = SourceRef(uuid.uuid4(), "Alex Morgan", "person")
MERGED = uuid.uuid4()
UPSTREAM = uuid.uuid4()


def facts() -> StoredFacts:
    """A small stored world: the seed story's sources, two people of one name, a merged source, a claim."""
    return StoredFacts(
        stored_claim_ids={UPSTREAM},
        sources_by_key={
            "pentagon": [PENTAGON],
            "patrick ryder": [RYDER, RYDER_TWIN],
            "reuters": [REUTERS],
            "hina": [HINA],
            "alex morgan": [ALEX_1, ALEX_2],
        },
        survivors={s.id: s for s in (PENTAGON, RYDER, REUTERS, HINA, ALEX_1, ALEX_2)} | {MERGED: RYDER},
        upstreams={UPSTREAM: UpstreamRef(REUTERS, RYDER.id, [REUTERS.id])},
        wikidata_taken={"Q42"},
    )


def claim(*hops: dict[str, Any], text: str = "It was the first call since March 2023.") -> ClaimIn:
    return msgspec.convert({"text": text, "kind": "paraphrase", "chain": list(hops)}, ClaimIn)


def resolve(body: ClaimIn) -> rules.Chain:
    return at_once(rules.resolve_chain(Batch(facts()), body))


def refusal(body: ClaimIn) -> ProvenanceError:
    with pytest.raises(ProvenanceError) as refused:
        resolve(body)
    return refused.value


def field_of(problem: ProvenanceError) -> tuple[str, str]:
    [error] = problem.errors
    return error["field"], error["message"]


class TestChains:
    def test_the_seed_story_resolves_to_its_stored_sources_origin_last(self) -> None:
        chain = resolve(
            claim(
                {"source": {"name": "Hina", "kind": "outlet"}, "cue": "reports"},
                {"source_id": str(REUTERS.id), "cue": "citing"},
                {"source": {"name": "Patrick Ryder", "kind": "person"}, "cue": " told reporters ", "role": "spokesman"},
            )
        )
        assert [(h.source, h.cue, h.role) for h in chain.hops] == [
            (HINA, "reports", None),
            (REUTERS, "citing", None),
            (RYDER, "told reporters", "spokesman"),  # two stored of the name: the one of the kind asked for
        ]
        assert (chain.origin, chain.relays) == (RYDER.id, [HINA.id, REUTERS.id])

    def test_a_merged_source_id_names_its_survivor(self) -> None:
        assert resolve(claim({"source_id": str(MERGED), "cue": "said"})).hops[0].source == RYDER

    def test_an_upstream_link_traces_through_the_upstream_claim(self) -> None:
        chain = resolve(
            claim({"source_id": str(HINA.id), "cue": "reports"}, {"upstream_claim_id": str(UPSTREAM), "cue": "citing"})
        )
        assert chain.hops[1].source == REUTERS and chain.hops[1].upstream_claim_id == UPSTREAM
        assert (chain.origin, chain.relays) == (RYDER.id, [HINA.id, REUTERS.id])

    def test_an_unknown_inline_source_is_created_once_and_found_again(self) -> None:
        batch = Batch(facts())
        chain = at_once(
            rules.resolve_chain(
                batch,
                claim(
                    {"source": {"name": "Wu Qian", "kind": "person", "aliases": ["Senior Colonel Wu"]}, "cue": "said"},
                    {"source": {"name": "WU QIAN", "kind": "person"}, "cue": "said"},
                ),
            )
        )
        assert chain.hops[0].source == chain.hops[1].source
        assert [s.made.name for s in batch._made.sources] == ["Wu Qian"]
        assert batch._made.sources[0].made.aliases == [("Senior Colonel Wu", "senior colonel wu")]

    @pytest.mark.parametrize(
        ("hops", "field", "message"),
        [
            (
                [{"source_id": str(HINA.id), "source": {"name": "Hina", "kind": "outlet"}, "cue": "said"}],
                "chain[0]",
                "give one of source_id and source, not both",
            ),
            ([{"source_id": str(uuid.uuid4()), "cue": "said"}], "chain[0].source_id", "no source has this id"),
            ([{"source_id": "hina", "cue": "said"}], "chain[0].source_id", "'hina' is not an id"),
            ([{"source": {"name": "!!", "kind": "person"}, "cue": "said"}], "chain[0].source.name", None),
            ([{"cue": "said"}], "chain[0]", "give source_id or source"),
            (
                [{"upstream_claim_id": str(UPSTREAM), "cue": "citing"}, {"source_id": str(HINA.id), "cue": "said"}],
                "chain[0].upstream_claim_id",
                "only the last hop of a chain may link an upstream claim",
            ),
            (
                [{"upstream_claim_id": str(uuid.uuid4()), "cue": "citing"}],
                "chain[0].upstream_claim_id",
                "no claim has this id",
            ),
            (
                [{"upstream_claim_id": "x", "cue": "citing"}],
                "chain[0].upstream_claim_id",
                "'x' is not an id",
            ),
            (
                [{"source_id": str(HINA.id), "upstream_claim_id": str(UPSTREAM), "cue": "citing"}],
                "chain[0]",
                "the hop linking an upstream claim must name that claim's first source",
            ),
        ],
    )
    def test_each_error_names_its_field(self, hops: list[dict[str, Any]], field: str, message: str | None) -> None:
        problem = refusal(claim(*hops))
        assert isinstance(problem, InvalidInput) and problem.status == 422
        assert field_of(problem)[0] == field
        if message is not None:
            assert field_of(problem)[1] == message
        assert problem.detail.startswith(field)

    def test_a_blank_text_or_cue_is_refused_even_where_the_schema_did_not_check_it(self) -> None:
        # The schema refuses both first; the rules hold for a body made without it (Struct constructors).
        hop = HopIn(cue=" ", source_id=str(HINA.id))
        problem = refusal(ClaimIn(text="   ", kind="quote", chain=[hop]))
        assert field_of(problem) == ("text", "the text is blank")
        problem = refusal(ClaimIn(text="Said.", kind="quote", chain=[hop]))
        assert field_of(problem) == ("chain[0].cue", "the cue is blank")

    def test_several_matches_of_one_kind_are_refused_with_every_candidate(self) -> None:
        problem = refusal(claim({"source": {"name": "alex  MORGAN", "kind": "person"}, "cue": "said"}))
        assert isinstance(problem, AmbiguousSource)
        assert field_of(problem) == ("chain[0].source.name", "matches several sources")
        assert [c["id"] for c in problem.extra["candidates"]] == [str(ALEX_1.id), str(ALEX_2.id)]
        assert "matches 2 stored sources" in problem.detail


class TestSources:
    def source(self, **fields: Any) -> SourceIn:
        return msgspec.convert({"name": "Wu Qian", "kind": "person", **fields}, SourceIn)

    def make(self, source: SourceIn) -> SourceRef:
        return at_once(rules.create_source(Batch(facts()), source))

    def test_aliases_under_the_names_key_or_repeated_are_not_kept(self) -> None:
        batch = Batch(facts())
        at_once(rules.create_source(batch, self.source(aliases=["WU QIAN", "Wu", "wu"])))
        assert batch._made.sources[0].made.aliases == [("Wu", "wu")]

    def test_affiliations_by_id_and_inline_are_recorded(self) -> None:
        batch = Batch(facts())
        affiliations = [
            {"organization_id": str(PENTAGON.id), "role": "spokesman"},
            {"organization": {"name": "Chinese Defence Ministry"}, "role": "spokesman"},
        ]
        at_once(rules.create_source(batch, self.source(affiliations=affiliations)))
        wu, ministry = batch._made.sources
        assert [a[:2] for a in wu.affiliations] == [(PENTAGON.id, "spokesman"), (ministry.id, "spokesman")]
        assert ministry.made.kind == "organization"

    @pytest.mark.parametrize(
        ("fields", "field", "message"),
        [
            ({"name": " - "}, "name", "a name needs at least one letter or digit"),
            ({"aliases": ["ok", "?"]}, "aliases[1]", "a name needs at least one letter or digit"),
            (
                {"affiliations": [{"role": "x"}]},
                "affiliations[0]",
                "give exactly one of organization_id and organization",
            ),
            (
                {"affiliations": [{"organization_id": str(PENTAGON.id), "since": "2024-02-01", "until": "2024-01-01"}]},
                "affiliations[0].until",
                "until is before since",
            ),
            (
                {"affiliations": [{"organization_id": str(uuid.uuid4())}]},
                "affiliations[0].organization_id",
                "no source has this id",
            ),
            (
                {"affiliations": [{"organization_id": str(RYDER.id)}]},
                "affiliations[0]",
                "'Patrick Ryder' is a person, not an organization or outlet",
            ),
            (
                {"affiliations": [{"organization": {"name": "Alex Morgan"}}]},
                "affiliations[0].organization.name",
                "matches several sources",
            ),
        ],
    )
    def test_each_error_names_its_field(self, fields: dict[str, Any], field: str, message: str) -> None:
        with pytest.raises(InvalidInput) as refused:
            self.make(self.source(**fields))
        assert field_of(refused.value) == (field, message)

    def test_a_source_cannot_belong_to_itself(self) -> None:
        class Itself(Batch):
            async def survivor(self, source_id: UUID) -> SourceRef | None:
                return SourceRef(source_id, "Self", "organization")

        # The id given is the new source's own: made under it, its membership of itself is refused.
        source = self.source(kind="organization", affiliations=[{"organization_id": str(PENTAGON.id)}])
        with pytest.raises(InvalidInput) as refused:
            at_once(rules.create_source(Itself(facts()), source, id=PENTAGON.id))
        assert field_of(refused.value) == ("affiliations[0]", "a source cannot be affiliated to itself")

    @pytest.mark.parametrize(
        ("fields", "constraint"),
        [
            ({"identifiers": {"wikidata": "Q42"}}, "sources_wikidata_key"),
            (
                {"affiliations": [{"organization_id": str(PENTAGON.id)}, {"organization": {"name": "pentagon"}}]},
                "affiliations_unique",
            ),
        ],
    )
    def test_conflicts_read_as_the_databases_constraint_would(self, fields: dict[str, Any], constraint: str) -> None:
        with pytest.raises(Conflict) as refused:
            self.make(self.source(**fields))
        assert refused.value.status == 409 and refused.value.extra == {"constraint": constraint}


def test_rules_over_facts_that_wait_are_refused_outside_an_event_loop() -> None:
    class Waiting(Batch):
        async def named(self, key: str) -> list[SourceRef]:
            import asyncio

            await asyncio.sleep(0)
            return []

    with pytest.raises(RuntimeError, match="in memory"):
        at_once(
            rules.resolve_chain(Waiting(facts()), claim({"source": {"name": "X", "kind": "person"}, "cue": "said"}))
        )
