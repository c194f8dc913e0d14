"""Every error is an RFC 9457 ``application/problem+json`` with ``status``, ``title`` and ``detail``;
invalid input names the offending fields, and no input, however nasty, is answered with a 500."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx
import pytest

from tests.helpers import assert_problem, claim_body, hop, inline


def reuters() -> dict[str, Any]:
    return hop(inline("Reuters", "outlet"), "reports")


class TestProblemShape:
    async def test_unknown_route_is_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/no-such-thing"), 404)

    async def test_unknown_method_is_405(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.delete("/claims"), 405)

    async def test_unknown_method_on_a_source_list_is_405(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.put("/sources", json={}), 405)

    @pytest.mark.parametrize("body", [b"{bad", b'{"text": "x",', b"[1,", b"\xff\xfe"])
    async def test_malformed_json_body_is_400(self, client: httpx.AsyncClient, body: bytes) -> None:
        response = await client.post("/claims", content=body, headers={"content-type": "application/json"})
        assert_problem(response, 400)

    async def test_malformed_claim_id_is_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/claims/not-a-claim"), 404)

    async def test_malformed_claim_id_on_trace_is_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get("/claims/not-a-claim/trace"), 404)

    async def test_unknown_claim_id_is_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get(f"/claims/{uuid.uuid4()}"), 404)

    async def test_unknown_claim_id_on_trace_is_404(self, client: httpx.AsyncClient) -> None:
        assert_problem(await client.get(f"/claims/{uuid.uuid4()}/trace"), 404)


class TestInvalidInputNamesTheField:
    async def test_wrong_type_of_a_top_level_field_names_it(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/claims", json={"text": 42, "kind": "quote", "chain": [reuters()]})
        assert_problem(response, 422, field="text")

    async def test_wrong_type_of_a_nested_field_names_its_path(self, client: httpx.AsyncClient) -> None:
        body = claim_body("Austin initiated the conversation", {"cue": 7, "source": inline("Reuters", "outlet")})
        assert_problem(await client.post("/claims", json=body), 422, field="chain[0].cue")

    async def test_wrong_type_deep_inside_an_inline_source_names_its_path(self, client: httpx.AsyncClient) -> None:
        body = claim_body("x", reuters(), hop({"name": ["Ryder"], "kind": "person"}, "said"))
        assert_problem(await client.post("/claims", json=body), 422, field="chain[1].source.name")

    async def test_rule_broken_in_a_later_hop_names_that_hop(self, client: httpx.AsyncClient) -> None:
        body = claim_body("x", reuters(), hop(str(uuid.uuid4()), "said"))
        assert_problem(await client.post("/claims", json=body), 422, field="chain[1].source_id")

    @pytest.mark.parametrize("path", ["/claims", "/sources"])
    @pytest.mark.parametrize("limit", ["0", "201", "-1", "ten"])
    async def test_limit_out_of_range_is_422_naming_limit(
        self, client: httpx.AsyncClient, path: str, limit: str
    ) -> None:
        assert_problem(await client.get(path, params={"limit": limit}), 422, field="limit")

    async def test_limit_at_its_bounds_is_accepted(self, client: httpx.AsyncClient) -> None:
        assert (await client.get("/claims", params={"limit": "1"})).status_code == 200
        assert (await client.get("/claims", params={"limit": "200"})).status_code == 200


HUGE = "x" * 10_001
NUL = "\u0000"

# (id, method, path, JSON body or None): every one is refused with a 4xx problem, never a 500.
NASTY: list[tuple[str, str, str, Any]] = [
    # strings over their maximum lengths
    ("huge-claim-text", "POST", "/claims", claim_body(HUGE, reuters())),
    ("huge-cue", "POST", "/claims", claim_body("x", hop(inline("Reuters", "outlet"), "c" * 301))),
    ("huge-source-name", "POST", "/sources", {"name": "n" * 301, "kind": "person"}),
    ("huge-alias", "POST", "/sources", {"name": "n", "kind": "person", "aliases": ["a" * 301]}),
    ("too-many-aliases", "POST", "/sources", {"name": "n", "kind": "person", "aliases": ["a"] * 101}),
    ("huge-description", "POST", "/sources", {"name": "n", "kind": "person", "description": "d" * 2001}),
    ("huge-url", "POST", "/claims", claim_body("x", reuters(), appeared_in={"url": "u" * 2001})),
    ("huge-q-claims", "GET", "/claims?q=" + "a" * 1001, None),
    ("huge-q-sources", "GET", "/sources?q=" + "a" * 301, None),
    ("huge-statement", "GET", "/trace?statement=" + "a" * 2001, None),
    ("huge-cursor", "GET", "/claims?cursor=" + "A" * 201, None),
    ("oversized-body", "POST", "/claims", claim_body("x" * 11_000_000, reuters())),
    # nulls
    ("null-body", "POST", "/claims", None),
    ("null-text", "POST", "/claims", {"text": None, "kind": "quote", "chain": [reuters()]}),
    ("null-chain", "POST", "/claims", {"text": "x", "kind": "quote", "chain": None}),
    ("null-hop", "POST", "/claims", {"text": "x", "kind": "quote", "chain": [None]}),
    ("null-appeared-in", "POST", "/claims", claim_body("x", reuters(), appeared_in=None)),
    ("null-source-name", "POST", "/sources", {"name": None, "kind": "person"}),
    ("null-alias", "POST", "/sources", {"name": "n", "kind": "person", "aliases": [None]}),
    # arrays where objects go, and objects where arrays go
    ("array-body", "POST", "/claims", [claim_body("x", reuters())]),
    ("array-hop", "POST", "/claims", {"text": "x", "kind": "quote", "chain": [["Reuters"]]}),
    ("object-chain", "POST", "/claims", {"text": "x", "kind": "quote", "chain": reuters()}),
    ("array-appeared-in", "POST", "/claims", claim_body("x", reuters(), appeared_in=[])),
    ("array-inline-source", "POST", "/claims", claim_body("x", {"cue": "said", "source": ["Reuters"]})),
    ("array-identifiers", "POST", "/sources", {"name": "n", "kind": "person", "identifiers": ["Q1"]}),
    ("object-affiliations", "POST", "/sources", {"name": "n", "kind": "person", "affiliations": {}}),
    ("string-body", "POST", "/sources", "Reuters"),
    # unicode that names nothing, or ids and numbers that are not ones
    ("emoji-only-name", "POST", "/sources", {"name": "🙂🙂", "kind": "person"}),
    ("zero-width-name", "POST", "/sources", {"name": "\u200b\u200d", "kind": "person"}),
    (
        "combining-marks-only-alias",
        "POST",
        "/sources",
        {"name": "n", "kind": "person", "aliases": ["\u0301\u0308"]},
    ),
    ("punctuation-only-inline-source", "POST", "/claims", claim_body("x", hop(inline("«—»"), "said"))),
    ("upper-case-language", "POST", "/claims", claim_body("x", reuters(), language="ÉN")),
    ("naive-stated-at", "POST", "/claims", claim_body("x", reuters(), stated_at="2024-03-26T10:00:00")),
    ("unicode-claim-id", "GET", "/claims/ünïcödé", None),
    ("unicode-source-id-claims", "GET", "/sources/ünïcödé/claims", None),
    ("arabic-digits-limit", "GET", "/claims?limit=\u0661\u0660", None),
    ("unicode-origin", "GET", "/claims?origin=ünïcödé", None),
    ("blank-text", "POST", "/claims", claim_body(" \t\n", reuters())),
    ("blank-cue", "POST", "/claims", claim_body("x", hop(inline("Reuters", "outlet"), "   "))),
    # chains
    ("empty-chain", "POST", "/claims", claim_body("x")),
    (
        "17-hops",
        "POST",
        "/claims",
        claim_body("x", *[hop(inline(f"Relay {i}", "outlet")) for i in range(17)]),
    ),
    ("hop-without-source", "POST", "/claims", claim_body("x", hop(None))),
    (
        "hop-with-both-sources",
        "POST",
        "/claims",
        claim_body("x", {**reuters(), "source_id": str(uuid.uuid4())}),
    ),
    (
        "upstream-on-first-of-two-hops",
        "POST",
        "/claims",
        claim_body("x", hop(inline("Hina", "outlet"), upstream_claim_id=str(uuid.uuid4())), reuters()),
    ),
    (
        "unknown-upstream",
        "POST",
        "/claims",
        claim_body("x", hop(inline("R", "outlet"), upstream_claim_id=str(uuid.uuid4()))),
    ),
    (
        "malformed-upstream",
        "POST",
        "/claims",
        claim_body("x", hop(inline("R", "outlet"), upstream_claim_id="u-1")),
    ),
    # NUL characters, which PostgreSQL text cannot hold
    ("nul-in-text", "POST", "/claims", claim_body(f"Austin{NUL}initiated", reuters())),
    ("nul-in-cue", "POST", "/claims", claim_body("x", hop(inline("Reuters", "outlet"), f"said{NUL}"))),
    (
        "nul-in-hop-role",
        "POST",
        "/claims",
        claim_body("x", hop(inline("Ryder"), "said", role=f"spokes{NUL}man")),
    ),
    ("nul-in-inline-source-name", "POST", "/claims", claim_body("x", hop(inline(f"Rey{NUL}ters", "outlet")))),
    (
        "nul-in-appeared-in-title",
        "POST",
        "/claims",
        claim_body("x", reuters(), appeared_in={"title": f"t{NUL}"}),
    ),
    ("nul-in-source-name", "POST", "/sources", {"name": f"Patrick{NUL}Ryder", "kind": "person"}),
    (
        "nul-in-alias",
        "POST",
        "/sources",
        {"name": "Patrick Ryder", "kind": "person", "aliases": [f"Pat{NUL}"]},
    ),
    ("nul-in-description", "POST", "/sources", {"name": "n", "kind": "person", "description": f"d{NUL}"}),
    (
        "nul-in-identifier",
        "POST",
        "/sources",
        {"name": "n", "kind": "person", "identifiers": {"wikidata": f"Q{NUL}"}},
    ),
    (
        "nul-in-identifier-key",
        "POST",
        "/sources",
        {"name": "n", "kind": "person", "identifiers": {f"w{NUL}": "Q1"}},
    ),
    (
        "nul-in-affiliation-role",
        "POST",
        "/sources",
        {
            "name": "n",
            "kind": "person",
            "affiliations": [{"organization": {"name": "Pentagon"}, "role": f"r{NUL}"}],
        },
    ),
    (
        "nul-in-inline-organization",
        "POST",
        "/sources",
        {"name": "n", "kind": "person", "affiliations": [{"organization": {"name": f"Penta{NUL}gon"}}]},
    ),
    ("nul-only-q", "GET", "/sources?q=%00", None),
    ("nul-claim-id", "GET", "/claims/%00", None),
    ("nul-cursor", "GET", "/claims?cursor=%00", None),
    # negative and absurd numbers
    ("negative-limit-claims", "GET", "/claims?limit=-1", None),
    ("negative-limit-sources", "GET", "/sources?limit=-50", None),
    ("negative-limit-search", "GET", "/sources?q=reuters&limit=-1", None),
    ("negative-limit-trace", "GET", "/trace?statement=austin&limit=-1", None),
    ("negative-limit-source-claims", "GET", f"/sources/{uuid.uuid4()}/claims?limit=-1", None),
    ("huge-limit", "GET", "/claims?limit=99999999999999999999999", None),
    ("since-after-until", "GET", "/claims?since=2024-02-01T00:00:00Z&until=2024-01-01T00:00:00Z", None),
]


async def send(client: httpx.AsyncClient, method: str, path: str, body: Any) -> httpx.Response:
    if method == "GET":
        return await client.get(path)
    return await client.request(method, path, json=body)


@pytest.mark.parametrize(("method", "path", "body"), [case[1:] for case in NASTY], ids=[case[0] for case in NASTY])
async def test_nasty_input_is_a_4xx_problem_never_a_500(
    client: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    response = await send(client, method, path, body)
    assert 400 <= response.status_code < 500, f"{response.status_code}: {response.text}"
    assert_problem(response, response.status_code)


WRITES = [case for case in NASTY if case[1] == "POST" and case[0] != "oversized-body"]


@pytest.mark.parametrize(("method", "path", "body"), [case[1:] for case in WRITES], ids=[case[0] for case in WRITES])
async def test_refused_write_stores_nothing(
    client: httpx.AsyncClient, conn: asyncpg.Connection, method: str, path: str, body: Any
) -> None:
    await send(client, method, path, body)
    stored = await conn.fetchval(
        "SELECT (SELECT count(*) FROM sources) + (SELECT count(*) FROM claims) + (SELECT count(*) FROM hops)"
    )
    assert stored == 0
