"""Properties of chain resolution for every chain, through the real app: random valid chains of 1 to
16 hops (inline sources under names in many scripts, stored source ids, an upstream claim) trace
back in order; names that fold alike resolve to one source; resolving again changes nothing; and
invalid chains are a 422 that stores nothing."""

from __future__ import annotations

import unicodedata
import uuid
from typing import Any

import asyncpg
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from service.domain.names import fold
from tests.helpers import assert_problem

# The app and its database are set up once per test, not per example: examples share what earlier
# ones stored, which the properties allow for (a name stored before resolves to that source).
PROPERTY_SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

KINDS = ["person", "organization", "outlet", "anonymous"]

# Letters and digits of several scripts, with the spaces and punctuation names carry.
name_characters = st.characters(categories=["L", "Nd"], exclude_characters="ǅǈǋǲ") | st.sampled_from(" .-'")
base_names = st.text(name_characters, min_size=1, max_size=24).filter(lambda name: bool(fold(name)))


@st.composite
def spellings(draw: st.DrawFn, name: str) -> str:
    """``name`` as another writer might spell it: case, accents on top, punctuation around."""
    accented = unicodedata.normalize("NFC", name[0] + "\u0301" + name[1:])
    spelled = draw(st.sampled_from([name, name.upper(), name.lower(), name.title(), accented]))
    return draw(st.sampled_from(["{}", " {} ", "{}.", "({})", "«{}»"])).format(spelled)


@st.composite
def inline_hop(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    """A hop naming its source inline, under one of ``names`` as spelled by someone."""
    name = draw(spellings(draw(st.sampled_from(names))))
    kind = draw(st.sampled_from(KINDS))
    return {
        "cue": draw(st.sampled_from(["said", "reports", "citing", "told reporters"])),
        "source": {"name": name, "kind": kind},
    }


@st.composite
def chains(draw: st.DrawFn) -> list[dict[str, Any]]:
    """A valid chain of 1 to 16 inline hops whose names overlap (so keys repeat within and across chains)."""
    names = draw(st.lists(base_names, min_size=1, max_size=6, unique_by=fold))
    return draw(st.lists(inline_hop(names), min_size=1, max_size=16))


def body(chain: list[dict[str, Any]], text: str = "Austin initiated the call") -> dict[str, Any]:
    return {"text": text, "kind": "paraphrase", "chain": chain}


async def post(client: httpx.AsyncClient, chain: list[dict[str, Any]]) -> dict[str, Any]:
    response = await client.post("/claims", json=body(chain))
    assert response.status_code == 201, response.text
    claim: dict[str, Any] = response.json()
    return claim


async def trace(client: httpx.AsyncClient, claim_id: str) -> dict[str, Any]:
    response = await client.get(f"/claims/{claim_id}/trace")
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def hop_sources(claim: dict[str, Any]) -> list[str]:
    return [hop["source"]["id"] for hop in claim["chain"]]


async def stored_rows(conn: asyncpg.Connection) -> tuple[int, int, int]:
    row = await conn.fetchrow(
        "SELECT (SELECT count(*) FROM claims), (SELECT count(*) FROM hops), (SELECT count(*) FROM sources)"
    )
    assert row is not None
    return row[0], row[1], row[2]


class TestValidChains:
    @PROPERTY_SETTINGS
    @given(chain=chains())
    async def test_the_trace_is_the_chain_in_order_ending_at_its_origin(
        self, client: httpx.AsyncClient, chain: list[dict[str, Any]]
    ) -> None:
        claim = await post(client, chain)
        sources = hop_sources(claim)
        traced = await trace(client, claim["id"])
        assert [hop["position"] for hop in traced["path"]] == list(range(len(chain)))
        assert [hop["source"]["id"] for hop in traced["path"]] == sources
        assert [hop["claim_id"] for hop in traced["path"]] == [claim["id"]] * len(chain)
        assert traced["origin"]["source"]["id"] == sources[-1] == claim["origin"]["id"]
        assert traced["hops"] == len(chain)
        for relay in dict.fromkeys(sources[:-1]):
            listed = await client.get("/claims", params={"via": relay, "limit": 200})
            assert claim["id"] in [c["id"] for c in listed.json()["items"]]

    @PROPERTY_SETTINGS
    @given(first=chains(), second=chains())
    async def test_names_folding_to_one_key_resolve_to_one_source_across_claims(
        self, client: httpx.AsyncClient, first: list[dict[str, Any]], second: list[dict[str, Any]]
    ) -> None:
        by_key: dict[str, set[str]] = {}
        for chain in (first, second):
            claim = await post(client, chain)
            for hop, source_id in zip(chain, hop_sources(claim), strict=True):
                by_key.setdefault(fold(hop["source"]["name"]), set()).add(source_id)
        assert all(len(ids) == 1 for ids in by_key.values()), by_key
        # and names that fold apart never share a source
        assert len({next(iter(ids)) for ids in by_key.values()}) == len(by_key)

    @PROPERTY_SETTINGS
    @given(chain=chains())
    async def test_resolving_a_chain_again_gives_the_same_sources_and_creates_none(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection, chain: list[dict[str, Any]]
    ) -> None:
        first = await post(client, chain)
        _, _, sources_before = await stored_rows(conn)
        again = await post(client, chain)
        assert hop_sources(again) == hop_sources(first)
        assert (await stored_rows(conn))[2] == sources_before

    @PROPERTY_SETTINGS
    @given(chain=chains(), data=st.data())
    async def test_hops_by_stored_source_id_and_an_upstream_claim_trace_through_it(
        self, client: httpx.AsyncClient, chain: list[dict[str, Any]], data: st.DataObject
    ) -> None:
        upstream = await post(client, chain)
        upstream_trace = await trace(client, upstream["id"])
        # A new chain naming stored sources by id, whose last hop stands for the upstream claim.
        stored_ids = hop_sources(upstream)
        by_id = data.draw(st.lists(st.sampled_from(stored_ids), max_size=15))
        linking: dict[str, Any] = {"cue": "citing", "upstream_claim_id": upstream["id"]}
        if data.draw(st.booleans()):
            linking["source_id"] = stored_ids[0]  # the upstream claim's first source, named
        claim = await post(client, [*({"cue": "reports", "source_id": s} for s in by_id), linking])
        assert hop_sources(claim) == [*by_id, stored_ids[0]]
        traced = await trace(client, claim["id"])
        assert [h["source"]["id"] for h in traced["path"]] == by_id + [
            h["source"]["id"] for h in upstream_trace["path"]
        ]
        # The linking hop stands in for the upstream claim's first hop: the rest of that path follows it.
        own, upstream_rest = len(by_id) + 1, len(upstream_trace["path"]) - 1
        assert [h["claim_id"] for h in traced["path"]] == [claim["id"]] * own + [upstream["id"]] * upstream_rest
        assert traced["origin"]["source"]["id"] == upstream_trace["origin"]["source"]["id"]


def broken(chain: list[dict[str, Any]], data: st.DataObject) -> list[dict[str, Any]]:
    """``chain`` broken one way: too long, emptied, or a hop naming no stored source, both sources,
    no source at all, or an upstream claim before the last hop."""
    how = data.draw(
        st.sampled_from(["too-long", "empty", "unknown-id", "malformed-id", "both", "none", "early-upstream"])
    )
    if how == "too-long":
        return chain + data.draw(st.lists(st.just(chain[0]), min_size=17 - len(chain), max_size=20 - len(chain)))
    if how == "empty":
        return []
    at = data.draw(st.integers(min_value=0, max_value=len(chain) - 1))
    hop = dict(chain[at])
    if how == "unknown-id":
        hop = {"cue": hop["cue"], "source_id": str(uuid.uuid4())}
    elif how == "malformed-id":
        hop = {"cue": hop["cue"], "source_id": data.draw(st.text(max_size=40).filter(lambda s: not _is_uuid(s)))}
    elif how == "both":
        hop["source_id"] = str(uuid.uuid4())
    elif how == "none":
        del hop["source"]
    else:
        hop["upstream_claim_id"] = str(uuid.uuid4())
        if at == len(chain) - 1:  # an upstream link is refused anywhere but on the last hop
            return [*chain[:at], hop, {"cue": "said", "source": {"name": "Origin", "kind": "person"}}]
    return [*chain[:at], hop, *chain[at + 1 :]]


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    return True


class TestInvalidChains:
    @PROPERTY_SETTINGS
    @given(chain=chains(), data=st.data())
    async def test_an_invalid_chain_is_a_422_problem_and_stores_nothing(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection, chain: list[dict[str, Any]], data: st.DataObject
    ) -> None:
        invalid = broken(chain, data)
        before = await stored_rows(conn)
        response = await client.post("/claims", json=body(invalid))
        problem = assert_problem(response, 422)
        assert problem["errors"][0]["field"].startswith("chain")
        assert await stored_rows(conn) == before
