"""Speakers as the news names them: a title or role around a person's inline name is not part of the
name. The name resolves without it, the title becomes the hop's role, an organization it names becomes
the new source's affiliation (so the trace says on whose behalf), and GET /sources?q= looks past it.
The words are data (service/domain/titles.json), in six languages."""

from __future__ import annotations

import uuid

import asyncpg
import httpx
import msgspec
import pytest

from service import seeds
from service.domain import rules
from service.domain.rules import SourceRef, at_once
from service.domain.titles import Titled, split
from service.imports.resolve import Batch
from service.imports.store import StoredFacts
from service.model import ClaimIn, SourceIn
from tests.helpers import claim_body, create_claim, hop, inline

RYDER = str(seeds.seed_id("source", "ryder"))
PENTAGON = str(seeds.seed_id("source", "pentagon"))


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("President Muhammadu Buhari", Titled("Muhammadu Buhari", "president", None)),
        ("Pentagon spokesman Patrick Ryder", Titled("Patrick Ryder", "spokesman", "Pentagon")),
        ("Gov. Ron DeSantis", Titled("Ron DeSantis", "gov.", None)),
        ("Dr. Anthony Fauci", Titled("Anthony Fauci", None, None)),  # an honorific is no role
        ("Foreign Minister Sergei Lavrov", Titled("Sergei Lavrov", "foreign minister", None)),
        ("Maj. Gen. Patrick Ryder", Titled("Patrick Ryder", "maj. gen.", None)),
        ("the governor of Sevastopol, Mikhail Razvozhayev", Titled("Mikhail Razvozhayev", "governor", "Sevastopol")),
        ("Patrick Ryder, Pentagon spokesman", Titled("Patrick Ryder", "spokesman", "Pentagon")),
        ("Президент Владимир Путин", Titled("Владимир Путин", "президент", None)),  # Russian
        ("press-sekretar Dmitry Peskov", Titled("Dmitry Peskov", "press-sekretar", None)),  # transliterated
        ("Речник Сергій Никифоров", Titled("Сергій Никифоров", "речник", None)),  # Ukrainian
        ("Prezydent Volodymyr Zelensky", Titled("Volodymyr Zelensky", "prezydent", None)),
        ("le président Emmanuel Macron", Titled("Emmanuel Macron", "président", None)),  # French
        ("Bundeskanzler Olaf Scholz", Titled("Olaf Scholz", "bundeskanzler", None)),  # German
        ("el presidente Pedro Sánchez", Titled("Pedro Sánchez", "presidente", None)),  # Spanish
        # Only titles: the name is empty, and the rules keep the name whole.
        ("the spokesman", Titled("", "spokesman", None)),
        # No title: left as written.
        ("Muhammadu Buhari", Titled("Muhammadu Buhari", None, None)),
        ("Foreign Ministry", Titled("Foreign Ministry", None, None)),  # "foreign" alone is no title
        ("State Department", Titled("State Department", None, None)),
    ],
)
def test_a_written_name_splits_into_name_role_and_organization(written: str, expected: Titled) -> None:
    assert split(written) == expected


def test_organizations_keep_names_that_begin_like_a_title() -> None:
    general_motors = msgspec.convert({"name": "General Motors", "kind": "organization"}, SourceIn)
    assert rules.untitled(general_motors) is None
    the_spokesman = msgspec.convert({"name": "the spokesman", "kind": "person"}, SourceIn)
    assert rules.untitled(the_spokesman) is None


def test_the_import_resolves_a_titled_name_as_posting_does() -> None:
    buhari = SourceRef(uuid.uuid4(), "Muhammadu Buhari", "person")
    facts = StoredFacts(set(), {"muhammadu buhari": [buhari]}, {buhari.id: buhari}, {}, set())
    body = msgspec.convert(
        {"text": "Nigeria will hold.", "kind": "quote", "chain": [hop(inline("President Muhammadu Buhari"))]}, ClaimIn
    )
    chain = at_once(rules.resolve_chain(Batch(facts), body))
    assert (chain.hops[0].source, chain.hops[0].role) == (buhari, "president")


@pytest.fixture
async def seeded(conn: asyncpg.Connection) -> None:
    await seeds.load(conn)


@pytest.mark.usefixtures("seeded")
class TestInlineTitles:
    async def test_a_title_resolves_to_the_stored_speaker_with_its_role_and_organization(
        self, client: httpx.AsyncClient
    ) -> None:
        created = await create_claim(
            client,
            claim_body("The call lasted an hour.", hop(inline("Pentagon spokesman Patrick Ryder"), "told reporters")),
        )
        assert created["chain"][0]["source"]["id"] == RYDER and created["chain"][0]["role"] == "spokesman"
        trace = (await client.get(f"/claims/{created['id']}/trace")).json()
        assert trace["origin"]["role"] == "spokesman" and trace["origin"]["on_behalf_of"]["id"] == PENTAGON

    async def test_a_new_speaker_belongs_to_the_stored_organization_its_title_names(
        self, client: httpx.AsyncClient
    ) -> None:
        created = await create_claim(
            client, claim_body("No comment.", hop(inline("Pentagon spokeswoman Sabrina Singh")))
        )
        source = (await client.get(f"/sources/{created['origin']['id']}")).json()
        assert source["name"] == "Sabrina Singh"
        assert [(a["organization"]["id"], a["role"]) for a in source["affiliations"]] == [(PENTAGON, "spokeswoman")]
        trace = (await client.get(f"/claims/{created['id']}/trace")).json()
        assert trace["origin"]["on_behalf_of"]["id"] == PENTAGON

    async def test_the_same_person_with_and_without_a_title_is_one_source(self, client: httpx.AsyncClient) -> None:
        titled = await create_claim(
            client, claim_body("Elections will hold.", hop(inline("President Muhammadu Buhari")))
        )
        plain = await create_claim(client, claim_body("Security is improving.", hop(inline("Muhammadu Buhari"))))
        assert titled["origin"]["id"] == plain["origin"]["id"]
        assert titled["origin"]["name"] == "Muhammadu Buhari" and titled["chain"][0]["role"] == "president"
        found = (await client.get("/sources", params={"q": "President Buhari"})).json()["items"]
        assert found[0]["id"] == titled["origin"]["id"]

    async def test_a_role_the_hop_gives_wins_over_the_title(self, client: httpx.AsyncClient) -> None:
        created = await create_claim(
            client, claim_body("Talks resume.", hop(inline("Foreign Minister Sergei Lavrov"), role="negotiator"))
        )
        assert created["chain"][0]["role"] == "negotiator" and created["origin"]["name"] == "Sergei Lavrov"

    async def test_a_name_that_is_only_a_title_stays_as_it_was(self, client: httpx.AsyncClient) -> None:
        created = await create_claim(client, claim_body("Nothing to add.", hop(inline("the spokesman", "anonymous"))))
        assert created["origin"]["name"] == "the spokesman" and created["chain"][0]["role"] is None
