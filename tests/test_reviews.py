"""Reviews: fact-checkers' verdicts on claims, stored and listed, refused when malformed, and served as
schema.org ClaimReview JSON-LD that expands against a bundled schema.org context."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyld import jsonld

from tests.helpers import assert_problem, claim_body, create_claim, create_source, hop, inline, ryder_story

SCHEMA = "https://schema.org/"
SCHEMA_ORG_CONTEXT = json.loads((Path(__file__).parent / "fixtures" / "schemaorg-context.jsonld").read_text())

WIRE_PIECE = {
    "url": "https://wire.example/pentagon-call",
    "title": "Austin and Belousov speak by phone",
    "outlet": "Reuters",
    "published_at": "2024-06-25T15:00:00Z",
}
HINA_PIECE = {
    "url": "https://hina.example/austin-belousov",
    "title": "Austin initiated the conversation",
    "author": "Hina staff",
    "published_at": "2024-06-25T18:30:00Z",
}


def review_body(reviewer: dict[str, Any] | str | None, **fields: Any) -> dict[str, Any]:
    """A ``POST /claims/{id}/reviews`` body naming its reviewer inline (a dict) or by id (a string)."""
    body: dict[str, Any] = {"rating": {"label": "False"}, "reviewed_at": "2024-06-26T09:00:00+02:00", **fields}
    if isinstance(reviewer, dict):
        body["reviewer"] = reviewer
    elif isinstance(reviewer, str):
        body["reviewer_id"] = reviewer
    return body


async def post_review(client: httpx.AsyncClient, claim_id: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post(f"/claims/{claim_id}/reviews", json=body)


async def create_review(client: httpx.AsyncClient, claim_id: str, body: dict[str, Any]) -> dict[str, Any]:
    """Create a review through the API and return it; fails the test on anything but 201."""
    response = await post_review(client, claim_id, body)
    assert response.status_code == 201, response.text
    review: dict[str, Any] = response.json()
    return review


def names(response: httpx.Response, parent: str, field: str) -> bool:
    """The 422 names ``field`` of ``parent`` (``body`` at the top), as decoding errors do: missing or unknown."""
    return any(e["field"] == parent and f"`{field}`" in e["message"] for e in response.json()["errors"])


@pytest.fixture
async def claim(client: httpx.AsyncClient) -> dict[str, Any]:
    return await create_claim(
        client, claim_body("killed four and injured 151 people", hop(inline("Kremlin", "organization"), "says"))
    )


@pytest.fixture
async def fact_checker(client: httpx.AsyncClient) -> dict[str, Any]:
    return await create_source(client, {"name": "Full Fact", "kind": "organization", "aliases": ["FullFact.org"]})


@pytest.fixture
async def relayed(client: httpx.AsyncClient) -> dict[str, Any]:
    """Hina reports, citing the Reuters wire story (a claim of its own), what Patrick Ryder told reporters."""
    wire = await create_claim(client, ryder_story(outlet=None, appeared_in=WIRE_PIECE))
    reuters_id = wire["chain"][0]["source"]["id"]
    return await create_claim(
        client,
        ryder_story(
            "Austin initiated the conversation with Belousov",
            upstream=wire["id"],
            wire_source=reuters_id,
            appeared_in=HINA_PIECE,
        ),
    )


class TestCreate:
    async def test_a_review_by_reviewer_id_is_stored_with_its_location(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        body = review_body(
            fact_checker["id"],
            rating={"label": "Misleading", "value": 2, "best": 5, "worst": 1},
            url="https://fullfact.example/crimea",
            summary="The count comes from one side only.",
        )
        response = await post_review(client, claim["id"], body)
        assert response.status_code == 201, response.text
        review = response.json()
        assert response.headers["location"] == f"/claims/{claim['id']}/reviews/{review['id']}"
        assert review["claim_id"] == claim["id"]
        assert review["reviewer"] == {"id": fact_checker["id"], "name": "Full Fact", "kind": "organization"}
        assert review["rating"] == {"label": "Misleading", "value": 2.0, "best": 5.0, "worst": 1.0}
        assert (review["url"], review["summary"]) == (body["url"], body["summary"])
        assert review["reviewed_at"] == "2024-06-26T07:00:00Z"
        assert review["created_at"]
        assert (await client.get(response.headers["location"])).json() == review

    async def test_rating_numbers_are_floats(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        body = review_body(fact_checker["id"], rating={"label": "Mostly true", "value": 0.1, "best": 1, "worst": 0})
        rating = (await create_review(client, claim["id"], body))["rating"]
        assert rating == {"label": "Mostly true", "value": 0.1, "best": 1.0, "worst": 0.0}
        assert all(isinstance(rating[k], float) for k in ("value", "best", "worst"))

    async def test_a_label_alone_leaves_the_numbers_null(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        review = await create_review(client, claim["id"], review_body(fact_checker["id"]))
        assert review["rating"] == {"label": "False", "value": None, "best": None, "worst": None}
        assert (review["url"], review["summary"]) == (None, None)

    async def test_a_scale_without_a_value_is_kept(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        body = review_body(fact_checker["id"], rating={"label": "Unproven", "best": 5, "worst": 1})
        rating = (await create_review(client, claim["id"], body))["rating"]
        assert (rating["value"], rating["best"], rating["worst"]) == (None, 5.0, 1.0)

    async def test_an_inline_reviewer_reuses_a_stored_source_by_name_or_alias(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        by_name = await create_review(client, claim["id"], review_body(inline("full fact", "organization")))
        by_alias = await create_review(client, claim["id"], review_body(inline("FullFact.org", "organization")))
        assert by_name["reviewer"]["id"] == by_alias["reviewer"]["id"] == fact_checker["id"]
        found = (await client.get("/sources", params={"q": "Full Fact"})).json()["items"]
        assert [s["id"] for s in found if s["score"] == 1.0] == [fact_checker["id"]]

    async def test_an_inline_reviewer_matching_nothing_is_created(
        self, client: httpx.AsyncClient, claim: dict[str, Any]
    ) -> None:
        review = await create_review(client, claim["id"], review_body(inline("Lead Stories", "outlet")))
        assert (review["reviewer"]["name"], review["reviewer"]["kind"]) == ("Lead Stories", "outlet")
        stored = (await client.get(f"/sources/{review['reviewer']['id']}")).json()
        assert stored["name"] == "Lead Stories"

    async def test_a_merged_reviewer_id_goes_to_the_survivor(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        duplicate = await create_source(client, {"name": "Full Fact Ltd", "kind": "organization"})
        merged = await client.post(f"/sources/{duplicate['id']}/merge", json={"into": fact_checker["id"]})
        assert merged.status_code == 200, merged.text
        review = await create_review(client, claim["id"], review_body(duplicate["id"]))
        assert review["reviewer"]["id"] == fact_checker["id"]

    async def test_reviews_of_a_reviewer_merged_later_show_the_survivor(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        duplicate = await create_source(client, {"name": "Full Fact Ltd", "kind": "organization"})
        await create_review(client, claim["id"], review_body(duplicate["id"]))
        merged = await client.post(f"/sources/{duplicate['id']}/merge", json={"into": fact_checker["id"]})
        assert merged.status_code == 200, merged.text
        [review] = (await client.get(f"/claims/{claim['id']}/reviews")).json()["items"]
        assert review["reviewer"] == {"id": fact_checker["id"], "name": "Full Fact", "kind": "organization"}


class TestList:
    async def test_lists_the_claims_reviews_oldest_first(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        other = await create_claim(client, claim_body("three people were killed", hop(inline("Governor"))))
        first = await create_review(client, claim["id"], review_body(fact_checker["id"]))
        await create_review(client, other["id"], review_body(fact_checker["id"]))
        second = await create_review(client, claim["id"], review_body(inline("Lead Stories", "outlet")))
        response = await client.get(f"/claims/{claim['id']}/reviews")
        assert response.status_code == 200
        assert response.json() == {"items": [first, second]}

    async def test_a_claim_without_reviews_lists_none(self, client: httpx.AsyncClient, claim: dict[str, Any]) -> None:
        assert (await client.get(f"/claims/{claim['id']}/reviews")).json() == {"items": []}


class TestRefused:
    @pytest.mark.parametrize("which", ["both", "neither"])
    async def test_a_reviewer_needs_exactly_one_of_id_and_inline(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any], which: str
    ) -> None:
        body = review_body(inline("Full Fact", "organization"), reviewer_id=fact_checker["id"])
        if which == "neither":
            body = review_body(None)
        assert_problem(await post_review(client, claim["id"], body), 422, field="reviewer")

    @pytest.mark.parametrize("reviewer_id", ["00000000-0000-0000-0000-000000000000", "nope"])
    async def test_an_unknown_or_malformed_reviewer_id_is_422(
        self, client: httpx.AsyncClient, claim: dict[str, Any], reviewer_id: str
    ) -> None:
        assert_problem(await post_review(client, claim["id"], review_body(reviewer_id)), 422, field="reviewer_id")

    async def test_a_blank_inline_reviewer_name_is_422_naming_it(
        self, client: httpx.AsyncClient, claim: dict[str, Any]
    ) -> None:
        response = await post_review(client, claim["id"], review_body(inline("...", "organization")))
        assert_problem(response, 422, field="reviewer.name")

    @pytest.mark.parametrize(
        ("rating", "field"),
        [
            ({"label": ""}, "rating.label"),
            ({"label": "   "}, "rating.label"),
            ({"label": "x" * 101}, "rating.label"),
            ({}, "rating"),
            ({"label": "False", "value": 1}, "rating.value"),
            ({"label": "False", "value": 1, "best": 5}, "rating.worst"),
            ({"label": "False", "best": 5}, "rating.worst"),
            ({"label": "False", "worst": 1}, "rating.best"),
            ({"label": "False", "best": 1, "worst": 1}, "rating.worst"),
            ({"label": "False", "best": 1, "worst": 5}, "rating.worst"),
            ({"label": "False", "value": 6, "best": 5, "worst": 1}, "rating.value"),
            ({"label": "False", "value": 0.5, "best": 5, "worst": 1}, "rating.value"),
            ({"label": "False", "value": "high", "best": 5, "worst": 1}, "rating.value"),
        ],
        ids=[
            "empty-label",
            "blank-label",
            "long-label",
            "no-label",
            "value-without-scale",
            "value-without-worst",
            "best-without-worst",
            "worst-without-best",
            "worst-equal-to-best",
            "worst-above-best",
            "value-above-best",
            "value-below-worst",
            "value-not-a-number",
        ],
    )
    async def test_a_bad_rating_is_422_naming_the_field(
        self,
        client: httpx.AsyncClient,
        claim: dict[str, Any],
        fact_checker: dict[str, Any],
        rating: dict[str, Any],
        field: str,
    ) -> None:
        response = await post_review(client, claim["id"], review_body(fact_checker["id"], rating=rating))
        assert_problem(response, 422, field=field)

    @pytest.mark.parametrize("reviewed_at", ["2024-06-26T09:00:00", "2024-06-26", "yesterday", None])
    async def test_reviewed_at_needs_a_time_with_an_offset(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any], reviewed_at: str | None
    ) -> None:
        body = review_body(fact_checker["id"], reviewed_at=reviewed_at)
        assert_problem(await post_review(client, claim["id"], body), 422, field="reviewed_at")

    async def test_reviewed_at_is_required(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        body = review_body(fact_checker["id"])
        del body["reviewed_at"]
        response = await post_review(client, claim["id"], body)
        assert_problem(response, 422)
        assert names(response, "body", "reviewed_at")

    @pytest.mark.parametrize(
        "url",
        [
            "fullfact.example/x",
            "ftp://fullfact.example/x",
            "https://",
            "https://full fact.example",
            "javascript:alert(1)",
            "https://fullfact.example/" + "x" * 2_000,
        ],
        ids=["no-scheme", "ftp", "no-host", "space", "javascript", "over-2000"],
    )
    async def test_url_must_be_an_http_or_https_url_up_to_2000_characters(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any], url: str
    ) -> None:
        response = await post_review(client, claim["id"], review_body(fact_checker["id"], url=url))
        assert_problem(response, 422, field="url")

    async def test_a_summary_over_5000_characters_is_422(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        response = await post_review(client, claim["id"], review_body(fact_checker["id"], summary="s" * 5_001))
        assert_problem(response, 422, field="summary")

    @pytest.mark.parametrize(
        ("extra", "parent", "field"),
        [({"verdict": "False"}, "body", "verdict"), ({"rating": {"label": "x", "scale": 5}}, "rating", "scale")],
    )
    async def test_an_unknown_field_is_422_naming_it(
        self,
        client: httpx.AsyncClient,
        claim: dict[str, Any],
        fact_checker: dict[str, Any],
        extra: dict[str, Any],
        parent: str,
        field: str,
    ) -> None:
        response = await post_review(client, claim["id"], review_body(fact_checker["id"], **extra))
        assert_problem(response, 422)
        assert names(response, parent, field)

    async def test_a_refused_review_stores_nothing(self, client: httpx.AsyncClient, claim: dict[str, Any]) -> None:
        body = review_body(
            inline("Lead Stories", "outlet"), rating={"label": "False", "value": 9, "best": 5, "worst": 1}
        )
        assert (await post_review(client, claim["id"], body)).status_code == 422
        assert (await client.get(f"/claims/{claim['id']}/reviews")).json() == {"items": []}
        assert (await client.get("/sources", params={"q": "Lead Stories"})).json()["items"] == []


class TestNotFound:
    @pytest.mark.parametrize("claim_id", [str(uuid.uuid4()), "not-a-claim"])
    @pytest.mark.parametrize(("method", "suffix"), [("POST", "reviews"), ("GET", "reviews"), ("GET", "claimreview")])
    async def test_an_unknown_or_malformed_claim_is_404(
        self, client: httpx.AsyncClient, fact_checker: dict[str, Any], claim_id: str, method: str, suffix: str
    ) -> None:
        json_body = review_body(fact_checker["id"]) if method == "POST" else None
        response = await client.request(method, f"/claims/{claim_id}/{suffix}", json=json_body)
        assert_problem(response, 404)

    @pytest.mark.parametrize("review_id", [str(uuid.uuid4()), "not-a-review"])
    async def test_an_unknown_or_malformed_review_is_404(
        self, client: httpx.AsyncClient, claim: dict[str, Any], review_id: str
    ) -> None:
        assert (await client.get(f"/claims/{claim['id']}/reviews/{review_id}")).status_code == 404

    async def test_a_review_is_not_found_under_another_claim(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        other = await create_claim(client, claim_body("three people were killed", hop(inline("Governor"))))
        review = await create_review(client, claim["id"], review_body(fact_checker["id"]))
        assert (await client.get(f"/claims/{other['id']}/reviews/{review['id']}")).status_code == 404


async def claim_review(client: httpx.AsyncClient, claim_id: str) -> dict[str, Any]:
    response = await client.get(f"/claims/{claim_id}/claimreview")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


class TestClaimReview:
    async def test_answers_json_ld_with_the_schema_org_context(
        self, client: httpx.AsyncClient, relayed: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        await create_review(client, relayed["id"], review_body(fact_checker["id"]))
        response = await client.get(f"/claims/{relayed['id']}/claimreview")
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/ld+json")
        document = response.json()
        assert document["@context"] == "https://schema.org"
        assert [node["@type"] for node in document["@graph"]] == ["ClaimReview"]

    async def test_a_claim_without_reviews_has_an_empty_graph(
        self, client: httpx.AsyncClient, relayed: dict[str, Any]
    ) -> None:
        assert await claim_review(client, relayed["id"]) == {"@context": "https://schema.org", "@graph": []}

    async def test_one_claim_review_per_review_oldest_first(
        self, client: httpx.AsyncClient, relayed: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        await create_review(client, relayed["id"], review_body(fact_checker["id"], rating={"label": "False"}))
        await create_review(client, relayed["id"], review_body(inline("Jane Doe"), rating={"label": "True"}))
        graph = (await claim_review(client, relayed["id"]))["@graph"]
        assert [(n["author"], n["reviewRating"]["alternateName"]) for n in graph] == [
            ({"@type": "Organization", "name": "Full Fact"}, "False"),
            ({"@type": "Person", "name": "Jane Doe"}, "True"),
        ]

    async def test_a_review_becomes_a_claim_review(
        self, client: httpx.AsyncClient, relayed: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        body = review_body(
            fact_checker["id"],
            rating={"label": "Mostly true", "value": 4, "best": 5, "worst": 1},
            url="https://fullfact.example/austin-call",
            summary="The Pentagon did say so.",
        )
        await create_review(client, relayed["id"], body)
        [node] = (await claim_review(client, relayed["id"]))["@graph"]
        assert node["claimReviewed"] == "Austin initiated the conversation with Belousov"
        assert node["url"] == "https://fullfact.example/austin-call"
        assert node["description"] == "The Pentagon did say so."
        assert node["datePublished"] == "2024-06-26T07:00:00Z"
        assert node["author"] == {"@type": "Organization", "name": "Full Fact"}
        assert node["reviewRating"] == {
            "@type": "Rating",
            "alternateName": "Mostly true",
            "ratingValue": 4.0,
            "bestRating": 5.0,
            "worstRating": 1.0,
        }

    async def test_a_label_alone_is_a_rating_without_numbers(
        self, client: httpx.AsyncClient, relayed: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        await create_review(client, relayed["id"], review_body(fact_checker["id"]))
        [node] = (await claim_review(client, relayed["id"]))["@graph"]
        assert node["reviewRating"] == {"@type": "Rating", "alternateName": "False"}
        assert "url" not in node and "description" not in node

    async def test_the_claim_reviewed_is_authored_by_the_traced_origin(
        self, client: httpx.AsyncClient, relayed: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        await create_review(client, relayed["id"], review_body(fact_checker["id"]))
        [node] = (await claim_review(client, relayed["id"]))["@graph"]
        assert node["itemReviewed"]["@type"] == "Claim"
        assert node["itemReviewed"]["author"] == {"@type": "Person", "name": "Patrick Ryder"}

    async def test_an_organization_origin_is_an_organization(
        self, client: httpx.AsyncClient, claim: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        await create_review(client, claim["id"], review_body(fact_checker["id"]))
        [node] = (await claim_review(client, claim["id"]))["@graph"]
        assert node["itemReviewed"]["author"] == {"@type": "Organization", "name": "Kremlin"}
        assert "appearance" not in node["itemReviewed"] and "firstAppearance" not in node["itemReviewed"]

    async def test_appearance_lists_the_claims_piece_and_the_upstream_claims_piece(
        self, client: httpx.AsyncClient, relayed: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        await create_review(client, relayed["id"], review_body(fact_checker["id"]))
        [node] = (await claim_review(client, relayed["id"]))["@graph"]
        assert node["itemReviewed"]["appearance"] == [
            {
                "@type": "CreativeWork",
                "url": HINA_PIECE["url"],
                "headline": HINA_PIECE["title"],
                "author": {"@type": "Person", "name": "Hina staff"},
                "datePublished": HINA_PIECE["published_at"],
            },
            {
                "@type": "CreativeWork",
                "url": WIRE_PIECE["url"],
                "headline": WIRE_PIECE["title"],
                "publisher": {"@type": "Organization", "name": "Reuters"},
                "datePublished": WIRE_PIECE["published_at"],
            },
        ]

    async def test_a_piece_shared_with_the_upstream_claim_appears_once(
        self, client: httpx.AsyncClient, fact_checker: dict[str, Any]
    ) -> None:
        article = {"title": "US and Russian defense ministers speak", "published_at": "2024-06-25T00:00:00Z"}
        wire = await create_claim(
            client,
            claim_body("a", hop(inline("Reuters", "outlet"), "reports"), hop(inline("Ryder")), appeared_in=article),
        )
        relay = await create_claim(
            client,
            claim_body(
                "a",
                hop(inline("Hina", "outlet"), "reports"),
                hop(wire["chain"][0]["source"]["id"], "citing", upstream_claim_id=wire["id"]),
                appeared_in=article,
            ),
        )
        await create_review(client, relay["id"], review_body(fact_checker["id"]))
        [node] = (await claim_review(client, relay["id"]))["@graph"]
        assert [work["headline"] for work in node["itemReviewed"]["appearance"]] == [article["title"]]

    async def test_without_a_dated_piece_there_is_no_first_appearance(
        self, client: httpx.AsyncClient, fact_checker: dict[str, Any]
    ) -> None:
        undated = await create_claim(
            client,
            claim_body("a", hop(inline("Ryder")), appeared_in={"outlet": "Hina", "author": "Staff"}),
        )
        await create_review(client, undated["id"], review_body(fact_checker["id"]))
        [node] = (await claim_review(client, undated["id"]))["@graph"]
        assert node["itemReviewed"]["appearance"] == [
            {
                "@type": "CreativeWork",
                "author": {"@type": "Person", "name": "Staff"},
                "publisher": {"@type": "Organization", "name": "Hina"},
            }
        ]
        assert "firstAppearance" not in node["itemReviewed"]

    async def test_a_piece_with_only_a_byline_and_a_date_is_left_out(
        self, client: httpx.AsyncClient, fact_checker: dict[str, Any]
    ) -> None:
        piece = {"author": "Staff", "published_at": "2024-06-25T00:00:00Z"}
        bare = await create_claim(client, claim_body("a", hop(inline("Ryder")), appeared_in=piece))
        await create_review(client, bare["id"], review_body(fact_checker["id"]))
        [node] = (await claim_review(client, bare["id"]))["@graph"]
        assert "appearance" not in node["itemReviewed"] and "firstAppearance" not in node["itemReviewed"]

    async def test_first_appearance_is_the_earliest_piece(
        self, client: httpx.AsyncClient, relayed: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        await create_review(client, relayed["id"], review_body(fact_checker["id"]))
        [node] = (await claim_review(client, relayed["id"]))["@graph"]
        assert node["itemReviewed"]["firstAppearance"]["url"] == WIRE_PIECE["url"]
        assert node["itemReviewed"]["firstAppearance"] in node["itemReviewed"]["appearance"]


def schema_org_only(url: str, options: dict[str, Any] | None = None) -> dict[str, Any]:
    """A pyld document loader serving the bundled schema.org context and refusing every other URL."""
    if url.rstrip("/") != "https://schema.org":
        raise jsonld.JsonLdError(f"refusing to load {url}", "jsonld.LoadDocumentError", code="loading document failed")
    return {
        "contentType": "application/ld+json",
        "contextUrl": None,
        "documentUrl": url,
        "document": SCHEMA_ORG_CONTEXT,
    }


def the(node: dict[str, Any], term: str) -> Any:
    """The one value of an expanded property."""
    [value] = node[SCHEMA + term]
    return value


class TestJsonLdExpansion:
    async def test_expands_to_schema_org_terms(
        self, client: httpx.AsyncClient, relayed: dict[str, Any], fact_checker: dict[str, Any]
    ) -> None:
        body = review_body(fact_checker["id"], rating={"label": "False", "value": 1, "best": 5, "worst": 1})
        await create_review(client, relayed["id"], body)
        document = await claim_review(client, relayed["id"])

        [node] = jsonld.expand(document, {"documentLoader": schema_org_only})

        assert SCHEMA + "ClaimReview" in node["@type"]
        assert the(node, "claimReviewed") == {"@value": "Austin initiated the conversation with Belousov"}
        rating = the(node, "reviewRating")
        assert rating["@type"] == [SCHEMA + "Rating"]
        assert the(rating, "alternateName") == {"@value": "False"}
        assert the(rating, "ratingValue") == {"@value": 1.0}
        item = the(node, "itemReviewed")
        assert item["@type"] == [SCHEMA + "Claim"]
        author = the(item, "author")
        assert author["@type"] == [SCHEMA + "Person"]
        assert the(author, "name") == {"@value": "Patrick Ryder"}
        appearances = item[SCHEMA + "appearance"]
        assert [the(a, "url") for a in appearances] == [{"@id": HINA_PIECE["url"]}, {"@id": WIRE_PIECE["url"]}]
        earliest = min(appearances, key=lambda a: the(a, "datePublished")["@value"])
        assert the(item, "firstAppearance") == earliest
        assert the(earliest, "url") == {"@id": WIRE_PIECE["url"]}

    def test_the_loader_fetches_nothing_but_the_bundled_context(self) -> None:
        document = {"@context": "https://example.org/context.jsonld", "name": "x"}
        with pytest.raises(jsonld.JsonLdError):
            jsonld.expand(document, {"documentLoader": schema_org_only})
