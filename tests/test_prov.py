"""W3C PROV export: the trace as PROV-JSON that the ``prov`` package reads, and as PROV-N."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from prov.constants import (
    PROV,
    PROV_ATTR_AGENT,
    PROV_ATTR_DELEGATE,
    PROV_ATTR_ENTITY,
    PROV_ATTR_GENERAL_ENTITY,
    PROV_ATTR_GENERATED_ENTITY,
    PROV_ATTR_RESPONSIBLE,
    PROV_ATTR_SPECIFIC_ENTITY,
    PROV_ATTR_USED_ENTITY,
    PROV_LABEL,
    PROV_TYPE,
)
from prov.identifier import Namespace, QualifiedName
from prov.model import (
    ProvAgent,
    ProvAttribution,
    ProvDelegation,
    ProvDerivation,
    ProvDocument,
    ProvEntity,
    ProvRecord,
    ProvSpecialization,
)

from tests.helpers import assert_problem, claim_body, create_claim, hop, inline, relayed_ryder_story

TERMS = Namespace("provenance", "urn:provenance:terms:")
CLAIM = Namespace("claim", "urn:provenance:claim:")


HINA_PIECE = {"url": "https://example.com/hina", "published_at": "2024-06-25T10:00:00Z"}
"""Where Hina's report appeared."""


async def prov_document(client: httpx.AsyncClient, claim_id: str) -> ProvDocument:
    """``GET /claims/{id}/prov`` read by the ``prov`` package (whose warnings fail the test)."""
    response = await client.get(f"/claims/{claim_id}/prov")
    assert response.status_code == 200, response.text
    return ProvDocument.deserialize(content=response.text, format="json")


def formal(record: ProvRecord) -> dict[QualifiedName, Any]:
    """A record's formal attributes (``prov:entity``, ``prov:agent``...) by name."""
    return dict(record.formal_attributes)


def the(values: set[Any]) -> Any:
    """The one value of an attribute."""
    assert len(values) == 1, values
    return next(iter(values))


def derivation_walk(document: ProvDocument, start: QualifiedName) -> list[tuple[QualifiedName, ProvDerivation]]:
    """From ``start``, each entity it was derived from and by which derivation, to the end of the chain."""
    derived_from = {formal(d)[PROV_ATTR_GENERATED_ENTITY]: d for d in document.get_records(ProvDerivation)}
    walk: list[tuple[QualifiedName, ProvDerivation]] = []
    entity = start
    while entity in derived_from and len(walk) < 100:
        derivation = derived_from[entity]
        entity = formal(derivation)[PROV_ATTR_USED_ENTITY]
        walk.append((entity, derivation))
    return walk


def attributed_to(document: ProvDocument) -> dict[QualifiedName, str]:
    """Each attributed entity and the label of its agent."""
    labels = {agent.identifier: str(the(agent.get_attribute(PROV_LABEL))) for agent in document.get_records(ProvAgent)}
    return {
        formal(a)[PROV_ATTR_ENTITY]: labels[formal(a)[PROV_ATTR_AGENT]] for a in document.get_records(ProvAttribution)
    }


def statements(document: ProvDocument) -> set[tuple[Any, ...]]:
    """The document's records, ignoring the blank ids of relations (PROV-N has none)."""
    return {
        (
            record.get_type(),
            record.identifier if record.is_element() else None,
            record.formal_attributes,
            frozenset(record.extra_attributes),
        )
        for record in document.get_records()
    }


class TestProvJson:
    async def test_derivations_walk_from_the_outermost_hop_to_the_origin(self, client: httpx.AsyncClient) -> None:
        hina, _ = await relayed_ryder_story(client, appeared_in=HINA_PIECE)
        document = await prov_document(client, hina["id"])
        outermost = CLAIM[f"{hina['id']}/hop/0"]
        walk = derivation_walk(document, outermost)
        chain = [outermost, *(entity for entity, _ in walk)]
        assert chain == [CLAIM[f"{hina['id']}/hop/{position}"] for position in range(3)]
        by_entity = attributed_to(document)
        assert [by_entity[entity] for entity in chain] == ["Hina", "Reuters", "Patrick Ryder"]

    async def test_the_origin_acted_on_behalf_of_its_organization_in_its_role(self, client: httpx.AsyncClient) -> None:
        hina, _ = await relayed_ryder_story(client, appeared_in=HINA_PIECE)
        document = await prov_document(client, hina["id"])
        labels = {
            agent.identifier: str(the(agent.get_attribute(PROV_LABEL))) for agent in document.get_records(ProvAgent)
        }
        delegation = the(set(document.get_records(ProvDelegation)))
        assert labels[formal(delegation)[PROV_ATTR_DELEGATE]] == "Patrick Ryder"
        assert labels[formal(delegation)[PROV_ATTR_RESPONSIBLE]] == "Pentagon"
        assert the(delegation.get_attribute(TERMS["role"])) == "spokesman"

    async def test_agents_are_people_and_organizations_by_source_kind(self, client: httpx.AsyncClient) -> None:
        hina, _ = await relayed_ryder_story(client, appeared_in=HINA_PIECE)
        document = await prov_document(client, hina["id"])
        types = {
            str(the(agent.get_attribute(PROV_LABEL))): the(agent.get_attribute(PROV_TYPE))
            for agent in document.get_records(ProvAgent)
        }
        assert types == {
            "Hina": PROV["Organization"],
            "Reuters": PROV["Organization"],
            "Patrick Ryder": PROV["Person"],
            "Pentagon": PROV["Organization"],
        }

    async def test_a_paraphrase_is_a_plain_derivation(self, client: httpx.AsyncClient) -> None:
        hina, _ = await relayed_ryder_story(client, appeared_in=HINA_PIECE)
        document = await prov_document(client, hina["id"])
        derivations = list(document.get_records(ProvDerivation))
        assert len(derivations) == 2
        assert all(not d.get_attribute(PROV_TYPE) for d in derivations)

    async def test_a_quote_is_quoted_from_hop_to_hop(self, client: httpx.AsyncClient) -> None:
        hina, _ = await relayed_ryder_story(client, kind="quote", appeared_in=HINA_PIECE)
        document = await prov_document(client, hina["id"])
        walk = derivation_walk(document, CLAIM[f"{hina['id']}/hop/0"])
        assert len(walk) == 2
        assert all(the(derivation.get_attribute(PROV_TYPE)) == PROV["Quotation"] for _, derivation in walk)

    async def test_every_stored_claim_on_the_path_is_an_entity_its_hop_specializes(
        self, client: httpx.AsyncClient
    ) -> None:
        hina, wire = await relayed_ryder_story(client, appeared_in=HINA_PIECE)
        document = await prov_document(client, hina["id"])
        entities = {entity.identifier: entity for entity in document.get_records(ProvEntity)}
        for claim in (hina, wire):
            entity = entities[CLAIM[claim["id"]]]
            text = the(entity.get_attribute(TERMS["text"]))
            assert (text.value, text.langtag) == ("Austin initiated the conversation", "en")
            assert the(entity.get_attribute(TERMS["kind"])) == "paraphrase"
        assert the(entities[CLAIM[hina["id"]]].get_attribute(TERMS["url"])) == "https://example.com/hina"
        specializations = {
            formal(s)[PROV_ATTR_GENERAL_ENTITY]: formal(s)[PROV_ATTR_SPECIFIC_ENTITY]
            for s in document.get_records(ProvSpecialization)
        }
        # the traced claim is what its outermost hop says; the wire story, what Reuters relayed
        assert specializations == {
            CLAIM[hina["id"]]: CLAIM[f"{hina['id']}/hop/0"],
            CLAIM[wire["id"]]: CLAIM[f"{hina['id']}/hop/1"],
        }

    async def test_hops_say_in_which_stored_claim_they_were_recorded(self, client: httpx.AsyncClient) -> None:
        hina, wire = await relayed_ryder_story(client, appeared_in=HINA_PIECE)
        document = await prov_document(client, hina["id"])
        entities = {entity.identifier: entity for entity in document.get_records(ProvEntity)}
        recorded_in = [
            the(entities[CLAIM[f"{hina['id']}/hop/{position}"]].get_attribute(TERMS["recordedIn"]))
            for position in range(3)
        ]
        assert recorded_in == [CLAIM[hina["id"]], CLAIM[hina["id"]], CLAIM[wire["id"]]]

    async def test_the_loaded_document_writes_as_provn(self, client: httpx.AsyncClient) -> None:
        hina, _ = await relayed_ryder_story(client, appeared_in=HINA_PIECE)
        document = await prov_document(client, hina["id"])
        text = document.get_provn()
        assert "wasDerivedFrom" in text
        assert "actedOnBehalfOf" in text

    async def test_prov_json_is_served_as_json_with_its_namespaces(self, client: httpx.AsyncClient) -> None:
        hina, _ = await relayed_ryder_story(client, appeared_in=HINA_PIECE)
        response = await client.get(f"/claims/{hina['id']}/prov", params={"format": "json"})
        assert response.headers["content-type"] == "application/json"
        assert response.json()["prefix"] == {
            "prov": "http://www.w3.org/ns/prov#",
            "provenance": "urn:provenance:terms:",
            "claim": "urn:provenance:claim:",
            "source": "urn:provenance:source:",
        }

    async def test_a_claim_without_organization_has_no_delegation(self, client: httpx.AsyncClient) -> None:
        claim = await create_claim(client, claim_body("x", hop(inline("A Blogger"))))
        document = await prov_document(client, claim["id"])
        assert list(document.get_records(ProvDelegation)) == []
        assert list(document.get_records(ProvDerivation)) == []
        assert list(attributed_to(document).values()) == ["A Blogger"]


class TestProvN:
    async def test_provn_reads_as_the_same_document_as_prov_json(self, client: httpx.AsyncClient) -> None:
        hina, _ = await relayed_ryder_story(client, kind="quote", appeared_in=HINA_PIECE)
        response = await client.get(f"/claims/{hina['id']}/prov", params={"format": "provn"})
        assert response.status_code == 200
        assert response.headers["content-type"] == "text/provenance-notation; charset=utf-8"
        from_provn = ProvDocument.deserialize(content=response.text, format="provn", profile="strict")
        assert statements(from_provn) == statements(await prov_document(client, hina["id"]))

    async def test_provn_escapes_quotes_backslashes_and_line_breaks(self, client: httpx.AsyncClient) -> None:
        text = 'He said "no"\\ then\nleft\r\tfor good'
        claim = await create_claim(client, claim_body(text, hop(inline("Somebody")), kind="quote"))
        response = await client.get(f"/claims/{claim['id']}/prov", params={"format": "provn"})
        document = ProvDocument.deserialize(content=response.text, format="provn", profile="strict")
        entity = next(e for e in document.get_records(ProvEntity) if e.identifier == CLAIM[claim["id"]])
        assert the(entity.get_attribute(TERMS["text"])).value == text


class TestErrors:
    @pytest.mark.parametrize("claim_id", ["00000000-0000-0000-0000-000000000000", "not-an-id"])
    async def test_unknown_or_malformed_claim_is_404(self, client: httpx.AsyncClient, claim_id: str) -> None:
        response = await client.get(f"/claims/{claim_id}/prov")
        assert_problem(response, 404)

    @pytest.mark.parametrize("value", ["turtle", "xml", ""])
    async def test_an_unknown_format_is_422_naming_format(self, client: httpx.AsyncClient, value: str) -> None:
        claim = await create_claim(client, claim_body("x", hop(inline("A Blogger"))))
        response = await client.get(f"/claims/{claim['id']}/prov", params={"format": value})
        assert_problem(response, 422, field="format")
