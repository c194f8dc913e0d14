"""Tracing asks PostgreSQL for its generic plan, and only for itself: other queries keep theirs. A
bounded time range is listed month by month through its index, not by walking every claim newest
first nor by sorting the whole range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from uuid import UUID

import asyncpg
import httpx

from service.repositories import claims as claims_repo
from service.repositories import traces
from tests.helpers import assert_problem, claim_body, create_claim, hop, inline


async def test_a_trace_leaves_the_plan_setting_as_it_found_it(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    # More claims than TRACE_FEW takes: TRACE with SET LOCAL in a transaction of its own.
    claims = [
        await create_claim(client, claim_body(f"Austin initiated call {n}", hop(inline("Patrick Ryder"), "said")))
        for n in range(traces.FEW + 1)
    ]
    rows = await traces.traces(conn, [UUID(c["id"]) for c in claims], 32)
    assert [str(r["id"]) for r in rows] == [c["id"] for c in claims]
    assert not conn.is_in_transaction()
    assert await conn.fetchval("SHOW plan_cache_mode") == "auto"


async def test_inside_a_callers_transaction_the_setting_is_not_touched(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    claim = await create_claim(client, claim_body("Austin initiated the call", hop(inline("Patrick Ryder"), "said")))
    async with conn.transaction():
        rows = await traces.traces(conn, [UUID(claim["id"])], 32)
        assert len(rows) == 1
        assert await conn.fetchval("SHOW plan_cache_mode") == "auto"


def _plan_nodes(plan: dict[str, object]) -> list[dict[str, object]]:
    children = plan.get("Plans", [])
    assert isinstance(children, list)
    return [plan, *(node for child in children for node in _plan_nodes(child))]


def test_a_range_touches_the_months_of_its_instants_in_utc() -> None:
    months = claims_repo.months_of
    assert months(datetime(2021, 2, 3, tzinfo=UTC), datetime(2021, 2, 4, tzinfo=UTC)) == [datetime(2021, 2, 1)]
    # until is exclusive: a range ending as March begins touches no March
    assert months(datetime(2020, 11, 1, tzinfo=UTC), datetime(2021, 3, 1, tzinfo=UTC)) == [
        datetime(2020, 11, 1), datetime(2020, 12, 1), datetime(2021, 1, 1), datetime(2021, 2, 1),
    ]  # fmt: skip
    # 01:00 on 1 March at +02:00 is 23:00 on 28 February in UTC
    plus_two = timezone(timedelta(hours=2))
    assert months(datetime(2021, 3, 1, 1, tzinfo=plus_two), datetime(2021, 3, 2, tzinfo=plus_two)) == [
        datetime(2021, 2, 1), datetime(2021, 3, 1),
    ]  # fmt: skip
    assert months(datetime(2021, 3, 1, tzinfo=UTC), datetime(2021, 3, 1, tzinfo=UTC)) == []  # an empty range
    # the ends of Python's datetimes, where UTC is out of its range (a fuzzed GET /claims was a 500)
    first = datetime.min.replace(tzinfo=UTC)
    assert months(first, first) == []
    assert months(datetime.min.replace(tzinfo=plus_two), datetime(1, 2, 1, tzinfo=UTC)) == [datetime(1, 1, 1)]
    minus_two = timezone(timedelta(hours=-2))
    assert months(datetime(9999, 12, 1, tzinfo=UTC), datetime.max.replace(tzinfo=minus_two)) == [datetime(9999, 12, 1)]


async def test_a_range_at_the_ends_of_time_is_listed(client: httpx.AsyncClient) -> None:
    body = claim_body("Dated", hop(inline("Someone")), appeared_in={"published_at": "2021-01-01T00:00:00Z"})
    await create_claim(client, body)
    for since, until, found in (
        ("0001-01-01T00:00:00.0Z", "0001-01-01T00:00:00.0Z", 0),  # was a 500
        ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999Z", 1),
    ):
        response = await client.get("/claims", params={"since": since, "until": until})
        assert response.status_code == 200, response.text
        assert len(response.json()["items"]) == found
    # An instant before year 1 in UTC: PostgreSQL's driver cannot send it, and says so, as a 422.
    response = await client.get("/claims", params={"since": "0001-01-01T00:00:00+05:00"})
    assert_problem(response, 422)


async def test_a_bounded_time_range_is_read_month_by_month_in_order(
    client: httpx.AsyncClient, conn: asyncpg.Connection
) -> None:
    # Stored in no order of publication: months interleaved along seq.
    published = [
        *("2021-03-31T23:30:00Z", "2021-01-15T00:00:00Z", "2021-02-01T00:00:00Z", "2021-03-01T00:00:00Z"),
        *("2021-02-28T23:59:59Z", "2021-01-31T23:59:59Z", "2021-04-01T00:00:00Z", "2021-02-14T12:00:00+05:00"),
    ]
    for n, moment in enumerate(published):
        await create_claim(
            client, claim_body(f"Claim {n}", hop(inline("Someone")), appeared_in={"published_at": moment})
        )
    since, until = datetime(2021, 1, 31, 23, tzinfo=UTC), datetime(2021, 3, 31, 23, 30, tzinfo=UTC)
    wanted = ["Claim 5", "Claim 2", "Claim 3", "Claim 4", "Claim 7"]  # in range, newest stored first
    wanted.sort(key=lambda text: -int(text.split()[1]))
    filters = claims_repo.ClaimFilters(since=since, until=until)
    pages, before = [], None
    while True:  # pages of two, each from the last page's seq
        rows = await claims_repo.page(conn, filters, before_seq=before, limit=2)
        pages.append([r["text"] for r in rows])
        if len(rows) < 2:
            break
        before = rows[-1]["seq"]
    assert [text for page in pages for text in page] == wanted
    # with another filter, per month too
    for kind, found in (("paraphrase", wanted), ("quote", [])):
        kinds = claims_repo.ClaimFilters(since=since, until=until, kind=kind)
        assert [r["text"] for r in await claims_repo.page(conn, kinds, before_seq=None, limit=10)] == found
    # a range over a century is walked along seq with the range as a filter: the same claims
    wide = claims_repo.ClaimFilters(since=datetime(1900, 1, 1, tzinfo=UTC), until=datetime(2021, 3, 1, tzinfo=UTC))
    assert len(claims_repo.months_of(wide.since, wide.until)) > claims_repo.MONTHS_BY_MONTH  # type: ignore[arg-type]
    rows = await claims_repo.page(conn, wide, before_seq=None, limit=10)
    assert [r["text"] for r in rows] == ["Claim 7", "Claim 5", "Claim 4", "Claim 2", "Claim 1"]
    args = [None, None, None, since, until, None, None, None, None, None, None, 10, claims_repo.months_of(since, until)]
    async with conn.transaction():
        # Statistics of this table's rows, not of whatever earlier tests left. A table this small is
        # cheapest read whole, or through a bitmap and sorted (as CI's planner once chose); at scale the
        # LIMIT makes an ordered index scan the cheapest, the plan asserted here.
        await conn.execute("ANALYZE claims")
        for method in ("seqscan", "bitmapscan"):
            await conn.execute(f"SET LOCAL enable_{method} = off")
        [explained] = await conn.fetchval("EXPLAIN (FORMAT JSON) " + claims_repo.LIST_CLAIMS_BY_MONTH, *args)
        nodes = _plan_nodes(explained["Plan"])
    # At 1,000,000 claims the catch-all list walked the seq key newest first, filtering on the range
    # (3.7 s for a month of 2021), and reading the range to sort it took 13 ms (bench/README.md); each
    # month is read newest first from its own index.
    assert not any(n.get("Index Name") == "claims_seq_key" for n in nodes), nodes
    assert any(
        n.get("Index Name") == "claims_published_month_idx" and n.get("Scan Direction") == "Backward" for n in nodes
    ), nodes
