"""Recording an article in the workspace: the key kept in a sealed session cookie, CSRF on every form,
the extraction's proposals as editable rows, and rows stored all or nothing through POST /claims' rules."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar

from service import seeds
from service.domain.extraction import model_name
from tests.helpers import issue_key

RYDER = str(seeds.seed_id("source", "ryder"))
SENTENCE = (
    "Austin initiated the conversation and it was the first such call since March 2023, Pentagon "
    "spokesman Patrick Ryder told reporters, Hina reports, citing Reuters."
)


def csrf(html: str) -> str:
    found = re.search(r'name="_csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found[1]


def form_fields(html: str) -> dict[str, Any]:
    """What the form would post as it stands: inputs, checked boxes and radios, selected options, textareas."""
    fields: dict[str, Any] = {}

    def put(name: str, value: str) -> None:
        if name in fields:
            fields[name] = [*(fields[name] if isinstance(fields[name], list) else [fields[name]]), value]
        else:
            fields[name] = value

    for tag in re.findall(r"<input [^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = (re.search(r'type="([^"]+)"', tag) or ["", "text"])[1]
        value = re.search(r'value="([^"]*)"', tag)
        if kind in ("checkbox", "radio") and " checked" not in tag:
            continue
        put(name[1], unescape(value[1]) if value else "")
    for name, body in re.findall(r'<textarea [^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        put(name, unescape(body))
    for name, options in re.findall(r'<select [^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected>', options) or re.search(
            r'<option value="([^"]*)"', options
        )
        put(name, chosen[1] if chosen else "")
    return fields


def unescape(text: str) -> str:
    import html

    return html.unescape(text)


async def counts(conn: asyncpg.Connection) -> tuple[int, int]:
    return await conn.fetchval("SELECT count(*) FROM claims"), await conn.fetchval("SELECT count(*) FROM sources")


@pytest.fixture
async def seeded(conn: asyncpg.Connection) -> None:
    await seeds.load(conn)


@pytest.fixture
async def desk(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """A browser-like client that entered a write key named ``desk`` on /ui/key."""
    secret = await issue_key(app.state.pool, "desk", "write")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        token = csrf((await http.get("/ui/key")).text)
        response = await http.post("/ui/key", data={"_csrf_token": token, "key": secret, "next": "/ui/record"})
        assert (response.status_code, response.headers["location"]) == (303, "/ui/record")
        yield http


async def record_form(http: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    page = await http.get("/ui/record")
    assert page.status_code == 200, page.text
    return await http.post("/ui/record", data={**form_fields(page.text), **fields})


class TestKey:
    async def test_recording_asks_for_a_key_first(self, anonymous_client: httpx.AsyncClient) -> None:
        response = await anonymous_client.get("/ui/record")
        assert response.status_code == 401
        assert "needs an API key" in response.text and 'name="key" type="password"' in response.text
        assert 'name="next" value="/ui/record"' in response.text

    async def test_a_wrong_key_is_refused_beside_the_field(self, anonymous_client: httpx.AsyncClient) -> None:
        token = csrf((await anonymous_client.get("/ui/key")).text)
        response = await anonymous_client.post("/ui/key", data={"_csrf_token": token, "key": "pv_" + "x" * 40})
        assert response.status_code == 422
        assert 'id="key-error"' in response.text and "unknown or revoked" in response.text
        assert "provenance-session" not in response.headers.get("set-cookie", "")

    async def test_the_key_lives_in_a_sealed_strict_httponly_cookie_never_in_a_page(self, app: Litestar) -> None:
        secret = await issue_key(app.state.pool, "desk", "write")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            token = csrf((await http.get("/ui/key")).text)
            response = await http.post("/ui/key", data={"_csrf_token": token, "key": secret, "next": "/ui/record"})
            [cookie] = [c for c in response.headers.get_list("set-cookie") if c.startswith("provenance-session=")]
            attributes = [part.strip().lower() for part in cookie.split(";")]
            assert "httponly" in attributes and "samesite=strict" in attributes and "path=/ui" in attributes
            assert "secure" not in attributes  # served over plain HTTP here
            assert secret not in cookie
            page = await http.get("/ui/key")
            assert "desk" in page.text and secret not in page.text and secret not in str(page.url)
            # Tampered with anywhere (its cipher text, its sealed expiry) or cut short, the cookie is worth nothing.
            sealed = http.cookies["provenance-session"].strip('"')
            middle = len(sealed) // 2
            forgeries = (
                sealed[:middle] + ("B" if sealed[middle] != "B" else "C") + sealed[middle + 1 :],
                sealed[:-6] + ("AAAAAA" if not sealed.endswith("AAAAAA") else "BBBBBB"),
                sealed[:-1],
                sealed[:20],
            )
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as other:
            for forged in forgeries:
                response = await other.get("/ui/record", headers={"Cookie": f'provenance-session="{forged}"'})
                assert response.status_code == 401
            response = await other.get("/ui/record", headers={"Cookie": f'provenance-session="{sealed}"'})
            assert response.status_code == 200

    async def test_over_tls_the_cookies_are_secure(self, app: Litestar) -> None:
        secret = await issue_key(app.state.pool, "desk", "write")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://test") as http:
            page = await http.get("/ui/key")
            assert all("; Secure" in c for c in page.headers.get_list("set-cookie"))
            response = await http.post("/ui/key", data={"_csrf_token": csrf(page.text), "key": secret})
            assert [c for c in response.headers.get_list("set-cookie") if "; Secure" in c]
            assert response.status_code == 303

    async def test_a_read_key_may_look_but_not_record(self, app: Litestar) -> None:
        secret = await issue_key(app.state.pool, "reader", "read")
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            token = csrf((await http.get("/ui/key")).text)
            await http.post("/ui/key", data={"_csrf_token": token, "key": secret})
            response = await http.get("/ui/record")
            assert response.status_code == 403 and "write scope" in response.text

    async def test_signing_out_forgets_the_key(self, desk: httpx.AsyncClient) -> None:
        token = csrf((await desk.get("/ui/key")).text)
        response = await desk.post("/ui/key/forget", data={"_csrf_token": token})
        assert response.status_code == 303
        assert (await desk.get("/ui/record")).status_code == 401

    async def test_a_revoked_key_in_a_session_stops_working(
        self, desk: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        await conn.execute("UPDATE api_keys SET revoked_at = now() WHERE name = 'desk'")
        response = await desk.get("/ui/record")
        assert response.status_code == 401 and "unknown or revoked" in response.text


@pytest.mark.usefixtures("seeded")
class TestRecord:
    async def test_a_form_without_its_csrf_token_changes_nothing(
        self, desk: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        before = await counts(conn)
        page = await desk.get("/ui/record")
        fields = {**form_fields(page.text), "action": "add-row"}
        added = await desk.post("/ui/record", data=fields)
        fields = {**form_fields(added.text), "r0-text": "A claim", "r0-h0-name": "Someone New", "r0-h0-cue": "said"}
        del fields["_csrf_token"]
        response = await desk.post("/ui/record", data={**fields, "action": "record"})
        assert response.status_code == 403 and "CSRF" in response.text
        forged = await desk.post("/ui/record", data={**fields, "action": "record", "_csrf_token": "x" * 80})
        assert forged.status_code == 403
        assert await counts(conn) == before

    async def test_reading_the_article_proposes_the_nested_chain_as_rows(self, desk: httpx.AsyncClient) -> None:
        response = await record_form(desk, action="read", text=SENTENCE, title="Austin calls Dong")
        assert response.status_code == 200, response.text
        fields = form_fields(response.text)
        assert fields["rows"] == "1"
        assert fields["r0-text"].startswith("Austin initiated the conversation")
        assert [fields[f"r0-h{j}-name"] for j in range(3)] == ["Hina", "Reuters", "Patrick Ryder"]
        assert fields["r0-h2-source"] == RYDER  # the stored Ryder, picked
        assert fields["r0-h2-role"] == "spokesman" and fields["r0-h2-cue"] == "told reporters"
        assert fields["r0-extracted"] == model_name() and fields["r0-accept"] == "yes"
        assert fields["title"] == "Austin calls Dong"

    async def test_two_claims_one_nested_are_recorded_and_traced(
        self, desk: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        read = await record_form(
            desk,
            action="read",
            text=SENTENCE,
            title="Austin calls Dong",
            url="https://example.org/a",
            published="2024-05-31",
        )
        added = await desk.post("/ui/record", data={**form_fields(read.text), "action": "add-row"})
        fields = {
            **form_fields(added.text),
            "r1-text": "The talks will go on.",
            "r1-kind": "paraphrase",
            "r1-h0-name": "Wang Wenbin",
            "r1-h0-cue": "said",
            "r1-h0-role": "spokesperson",
            "r1-h0-organization": "Chinese Foreign Ministry",
        }
        response = await desk.post("/ui/record", data={**fields, "action": "record"})
        assert response.status_code == 303, response.text
        ids = re.findall(r"claim=([0-9a-f-]{36})", response.headers["location"])
        assert len(ids) == 2
        shown = await desk.get(response.headers["location"])
        assert "Recorded 2 claims" in shown.text and shown.text.count("<svg") == 2
        traced = await conn.fetch(
            "SELECT c.text, c.extracted_by, s.name, h.cue, h.position FROM claims c JOIN hops h ON h.claim_id = c.id "
            "JOIN sources s ON s.id = h.source_id WHERE c.id = ANY($1::uuid[]) ORDER BY c.text, h.position",
            ids,
        )
        chains = {}
        for row in traced:
            chains.setdefault(row["text"][:10], []).append((row["name"], row["cue"]))
        assert chains["Austin ini"] == [("Hina", "reports"), ("Reuters", "citing"), ("Patrick Ryder", "told reporters")]
        assert chains["The talks "] == [("Wang Wenbin", "said")]
        made = await conn.fetch("SELECT extracted_by FROM claims WHERE id = ANY($1::uuid[]) ORDER BY text", ids)
        assert [m["extracted_by"] for m in made] == [model_name(), None]
        actors = await conn.fetch("SELECT DISTINCT actor FROM claim_revisions WHERE claim_id = ANY($1::uuid[])", ids)
        assert [a["actor"] for a in actors] == ["desk"]
        claim_page = await desk.get(f"/ui/claims/{ids[0]}")
        assert "Patrick Ryder" in claim_page.text and "stored by desk" in claim_page.text
        # Sent again (a double click, a reload), the form stores nothing twice.
        again = await desk.post("/ui/record", data={**fields, "action": "record"})
        assert again.status_code == 303 and sorted(
            re.findall(r"claim=([0-9a-f-]{36})", again.headers["location"])
        ) == sorted(ids)
        assert await conn.fetchval("SELECT count(*) FROM claims WHERE text = 'The talks will go on.'") == 1

    async def test_one_bad_row_stores_nothing_and_is_shown_beside_its_field(
        self, desk: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        before = await counts(conn)
        page = await record_form(desk, action="add-row")
        page = await desk.post("/ui/record", data={**form_fields(page.text), "action": "add-row"})
        fields = {
            **form_fields(page.text),
            "r0-text": "A good claim by a new speaker.",
            "r0-h0-name": "Brand New Speaker",
            "r0-h0-cue": "said",
            "r1-text": "A claim without a cue.",
            "r1-h0-name": "Another New Speaker",
            "r1-h0-cue": "",
        }
        response = await desk.post("/ui/record", data={**fields, "action": "record"})
        assert response.status_code == 422
        html = response.text
        assert 'id="r1-h0-cue-error"' in html and 'id="r0-problem"' not in html
        assert "This cannot be left empty." in html and "Expected" not in html
        assert html.index('id="r1-h0-cue-error"') > html.index('id="r1"')
        assert 'aria-invalid="true"' in html
        assert await counts(conn) == before  # the good row and its new speaker were not stored either
        # What was typed comes back as it was.
        again = form_fields(html)
        assert again["r0-text"] == "A good claim by a new speaker." and again["r1-h0-name"] == "Another New Speaker"

    async def test_a_row_failing_in_the_database_rolls_back_the_rows_before_it(
        self, desk: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        before = await counts(conn)
        page = await record_form(desk, action="add-row")
        page = await desk.post("/ui/record", data={**form_fields(page.text), "action": "add-row"})
        fields = {
            **form_fields(page.text),
            "r0-text": "Stored first, then rolled back.",
            "r0-h0-name": "First New Speaker",
            "r0-h0-cue": "said",
            "r1-text": "Names a source that is not there.",
            "r1-h0-name": "x",
            "r1-h0-source": "00000000-0000-4000-8000-000000000000",
            "r1-h0-offered": "00000000-0000-4000-8000-000000000000",
            "r1-h0-cue": "said",
        }
        response = await desk.post("/ui/record", data={**fields, "action": "record"})
        assert response.status_code == 422
        assert 'id="r1-problem"' in response.text and 'id="r1-h0-name-error"' in response.text
        assert await counts(conn) == before

    async def test_an_ambiguous_name_offers_the_stored_sources_to_pick(
        self, desk: httpx.AsyncClient, conn: asyncpg.Connection, client: httpx.AsyncClient
    ) -> None:
        for description in ("the first", "the second"):
            created = await client.post(
                "/sources", json={"name": "Alex Morgan", "kind": "person", "description": description}
            )
            assert created.status_code == 201
        page = await record_form(desk, action="add-row")
        fields = {
            **form_fields(page.text),
            "r0-text": "It will rain.",
            "r0-h0-name": "Alex Morgan",
            "r0-h0-cue": "said",
        }
        response = await desk.post("/ui/record", data={**fields, "action": "record"})
        assert response.status_code == 422
        assert "Several stored sources have this name: pick one below." in response.text
        picked = form_fields(response.text)
        offered = picked["r0-h0-offered"]
        assert isinstance(offered, list) and len(offered) == 2
        assert response.text.count('name="r0-h0-source"') == 3  # as typed, or one of the two
        stored = await desk.post("/ui/record", data={**picked, "r0-h0-source": offered[1], "action": "record"})
        assert stored.status_code == 303
        assert (
            await conn.fetchval(
                "SELECT h.source_id::text FROM claims c JOIN hops h ON h.claim_id = c.id WHERE c.text = 'It will rain.'"
            )
            == offered[1]
        )

    async def test_the_picker_finds_stored_sources_by_a_near_name(self, desk: httpx.AsyncClient) -> None:
        page = await record_form(desk, action="add-row")
        response = await desk.post(
            "/ui/record", data={**form_fields(page.text), "r0-h0-name": "Ryder", "action": "find-0-0"}
        )
        assert response.status_code == 200
        fields = form_fields(response.text)
        assert RYDER in (
            fields["r0-h0-offered"] if isinstance(fields["r0-h0-offered"], list) else [fields["r0-h0-offered"]]
        )
        assert "Patrick Ryder" in response.text and fields["r0-h0-source"] == ""

    async def test_hops_are_added_and_removed(self, desk: httpx.AsyncClient) -> None:
        page = await record_form(desk, action="add-row")
        two = await desk.post(
            "/ui/record", data={**form_fields(page.text), "r0-h0-name": "Hina", "action": "add-hop-0"}
        )
        fields = form_fields(two.text)
        assert fields["r0-hops"] == "2" and fields["r0-h0-name"] == "Hina" and "Hop 2: origin" in two.text
        one = await desk.post("/ui/record", data={**fields, "action": "remove-hop-0-0"})
        assert form_fields(one.text)["r0-hops"] == "1" and form_fields(one.text)["r0-h0-name"] == ""

    async def test_a_claim_text_of_markup_is_shown_as_text_in_the_form(self, desk: httpx.AsyncClient) -> None:
        page = await record_form(desk, action="add-row")
        response = await desk.post(
            "/ui/record", data={**form_fields(page.text), "r0-text": "<script>alert(1)</script>", "action": "refresh"}
        )
        assert (
            "<script>alert(1)</script>" not in response.text
            and "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text
        )

    async def test_recording_nothing_ticked_says_so(self, desk: httpx.AsyncClient, conn: asyncpg.Connection) -> None:
        before = await counts(conn)
        page = await record_form(desk, action="add-row")
        fields = {k: v for k, v in form_fields(page.text).items() if k != "r0-accept"}
        response = await desk.post("/ui/record", data={**fields, "action": "record"})
        assert response.status_code == 422 and "Tick at least one claim" in response.text
        assert await counts(conn) == before
