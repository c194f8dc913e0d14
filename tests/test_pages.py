"""The workspace under ``/ui/``: pages rendered by the app from the domain's answers, and read in a real browser."""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from service import seeds
from tests.helpers import assert_problem, claim_body, create_claim, hop, inline, issue_key, serving

CHROMIUM = "/usr/bin/chromium"
AXE = Path(__file__).resolve().parent.parent / "node_modules" / "axe-core" / "axe.min.js"
WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# 1280 px, the same at 200% zoom (640 CSS px), and a small phone.
WIDTHS = (1280, 640, 320)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
RYDER = str(seeds.seed_id("source", "ryder"))
SEEDED_CLAIM = "628da9bb-78db-5b7e-81c0-506713da09c8"


async def page(client: httpx.AsyncClient, path: str, status: int = 200) -> str:
    response = await client.get(path, headers={"Accept": "text/html"})
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("text/html")
    return response.text


@pytest.fixture
async def seeded(conn: asyncpg.Connection) -> None:
    await seeds.load(conn)


class TestStack:
    async def test_a_browser_asking_for_the_root_is_sent_to_the_workspace(
        self, anonymous_client: httpx.AsyncClient
    ) -> None:
        response = await anonymous_client.get("/", headers={"Accept": "text/html,application/xhtml+xml"})
        assert (response.status_code, response.headers["location"]) == (303, "/ui/")

    async def test_a_client_asking_for_json_at_the_root_gets_a_problem(
        self, anonymous_client: httpx.AsyncClient
    ) -> None:
        response = await anonymous_client.get("/", headers={"Accept": "application/json"})
        assert_problem(response, 404, detail="/schema")

    async def test_pages_forbid_inline_scripts_and_share_one_layout(self, anonymous_client: httpx.AsyncClient) -> None:
        response = await anonymous_client.get("/ui/")
        policy = response.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert '<link rel="stylesheet" href="/ui/static/style.css">' in response.text
        assert "<script" not in response.text
        css = await anonymous_client.get("/ui/static/style.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")

    async def test_pages_are_not_part_of_the_api_document(self, anonymous_client: httpx.AsyncClient) -> None:
        document = (await anonymous_client.get("/schema/openapi.json")).json()
        assert not [path for path in document["paths"] if path == "/" or path.startswith("/ui")]


@pytest.mark.usefixtures("seeded")
class TestFind:
    async def test_matches_come_ranked_with_score_origin_and_chain(self, anonymous_client: httpx.AsyncClient) -> None:
        html = await page(anonymous_client, "/ui/?statement=Austin+initiated+the+call")
        first = html.index("Austin initiated the conversation")
        assert html.index("score 0.84") < first
        assert f'href="/ui/sources/{RYDER}">Patrick Ryder</a>' in html
        assert "as spokesman" in html and ">Pentagon</a>" in html
        assert html.count("<svg") >= 1
        assert 'value="Austin initiated the call"' in html

    async def test_an_anonymous_origin_is_marked(self, anonymous_client: httpx.AsyncClient) -> None:
        html = await page(anonymous_client, "/ui/?statement=Pentagon+sources+Ukraine+targets")
        assert "anonymous source" in html

    async def test_a_statement_without_letters_is_explained_beside_the_field(
        self, anonymous_client: httpx.AsyncClient
    ) -> None:
        html = await page(anonymous_client, "/ui/?statement=%21%21%21")
        assert 'class="field-error" id="statement-error"' in html
        assert 'aria-invalid="true"' in html

    async def test_retracted_claims_are_hidden_unless_asked(
        self, client: httpx.AsyncClient, anonymous_client: httpx.AsyncClient
    ) -> None:
        created = await create_claim(client, claim_body("Zebras voted in Sevastopol", hop(inline("Hina", "outlet"))))
        state = await client.get(f"/claims/{created['id']}/status")
        retracted = await client.post(
            f"/claims/{created['id']}/retract",
            json={"reason": "never happened"},
            headers={"If-Match": state.headers["etag"]},
        )
        assert retracted.status_code == 200, retracted.text
        assert "Zebras voted" not in await page(anonymous_client, "/ui/?statement=zebras+voted")
        shown = await page(anonymous_client, "/ui/?statement=zebras+voted&include_retracted=true")
        assert "Zebras voted" in shown and "retracted" in shown

    async def test_pages_of_matches_follow_each_other(
        self, client: httpx.AsyncClient, anonymous_client: httpx.AsyncClient
    ) -> None:
        for n in range(12):
            await create_claim(client, claim_body(f"Walruses counted {n} times", hop(inline("Hina", "outlet"))))
        first = await page(anonymous_client, "/ui/?statement=walruses+counted")
        assert first.count('class="match"') == 10
        assert 'rel="next" href="/ui/?statement=walruses%20counted&amp;page=2"' in first
        second = await page(anonymous_client, "/ui/?statement=walruses+counted&page=2")
        assert second.count('class="match"') == 2
        assert '<ol class="matches" start="11">' in second


@pytest.mark.usefixtures("seeded")
class TestClaimAndSource:
    async def test_a_claim_shows_its_chain_relations_revisions_and_exports(
        self, anonymous_client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        contradicted = await conn.fetchval(
            "SELECT subject_id FROM claim_links WHERE type = 'contradicts' ORDER BY subject_id LIMIT 1"
        )
        html = await page(anonymous_client, f"/ui/claims/{contradicted}")
        assert 'class="side-by-side relation-contradicts"' in html
        assert "<strong>create</strong>" in html
        assert f'href="/claims/{contradicted}/claimreview"' in html and f'href="/claims/{contradicted}/prov"' in html
        assert "<svg" in html

    async def test_a_retracted_claim_says_so_first(self, client: httpx.AsyncClient) -> None:
        created = await create_claim(client, claim_body("Bears spoke", hop(inline("Hina", "outlet"))))
        state = await client.get(f"/claims/{created['id']}/status")
        await client.post(
            f"/claims/{created['id']}/retract", json={"reason": "a joke"}, headers={"If-Match": state.headers["etag"]}
        )
        html = await page(client, f"/ui/claims/{created['id']}")
        assert html.index('role="alert"') < html.index("<h1")
        assert "a joke" in html

    async def test_text_is_escaped_everywhere(self, client: httpx.AsyncClient) -> None:
        body = claim_body('<script>alert("x")</script> said the parrot', hop(inline("<b>Polly</b>", "person")))
        created = await create_claim(client, body)
        for path in (f"/ui/claims/{created['id']}", "/ui/?statement=parrot", f"/ui/sources/{created['origin']['id']}"):
            html = await page(client, path)
            assert "<script>" not in html and "<b>Polly</b>" not in html
            assert "&lt;b&gt;Polly&lt;/b&gt;" in html

    async def test_a_source_shows_names_affiliations_and_its_claims(self, anonymous_client: httpx.AsyncClient) -> None:
        html = await page(anonymous_client, f"/ui/sources/{RYDER}")
        assert "<h1>Patrick Ryder</h1>" in html
        assert "Pat Ryder" in html and ">Pentagon</a>, spokesman" in html
        assert "Austin initiated the conversation" in html

    async def test_a_source_draws_whom_it_cites_and_who_cites_it(self, anonymous_client: httpx.AsyncClient) -> None:
        reuters = seeds.seed_id("source", "reuters")
        html = await page(anonymous_client, f"/ui/sources/{reuters}")
        drawing = html[html.index("<svg") : html.index("</svg>")]
        assert "Network of Reuters" in drawing
        assert ">Hina<" in drawing and ">Patrick Ryder<" in drawing
        assert "1 claim" in drawing
        assert "is cited by 1 source(s) and cites 2." in drawing

    async def test_an_unknown_claim_is_a_404_page(self, anonymous_client: httpx.AsyncClient) -> None:
        html = await page(anonymous_client, "/ui/claims/00000000-0000-4000-8000-000000000000", status=404)
        assert "<h1>Not found</h1>" in html

    async def test_a_malformed_id_is_a_page_too(self, anonymous_client: httpx.AsyncClient) -> None:
        html = await page(anonymous_client, "/ui/sources/not-an-id", status=404)
        assert 'class="field-error"' in html


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: run `make test-deps` (installs Debian's chromium)")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def served(database_url: str, tmp_path: Any) -> Iterator[str]:
    """The app served on the test database, freshly seeded."""
    env = {**os.environ, "DATABASE_URL": database_url}
    with serving("--migrate", "--seed", env=env) as base:
        yield base


def test_a_fact_checker_finds_a_claim_and_follows_it_to_its_speaker(browser: Browser, served: str) -> None:
    for width in (1280, 320):
        tab = browser.new_page(viewport={"width": width, "height": 900})
        tab.goto(f"{served}/")
        expect(tab).to_have_url(re.compile(r"/ui/$"))
        tab.get_by_label("A statement you read").fill("Austin initiated the call")
        tab.keyboard.press("Enter")
        expect(tab).to_have_url(re.compile(r"statement=Austin\+initiated\+the\+call"))
        tab.get_by_role("link", name=re.compile("^Austin initiated the conversation")).first.click()
        expect(tab.locator("h1")).to_contain_text("Austin initiated the conversation")
        expect(tab.locator(".drawing svg")).to_be_visible()
        tab.locator(".origin").get_by_role("link", name="Patrick Ryder").click()
        expect(tab.locator("h1")).to_have_text("Patrick Ryder")
        width_used = tab.evaluate("document.documentElement.scrollWidth")
        assert width_used <= width, f"the page scrolls sideways at {width} px"
        tab.close()


def audit(tab: Page, where: str, width: int) -> None:
    """axe-core's WCAG 2.1 A and AA rules on the page as it stands, and no sideways scrolling."""
    tab.add_script_tag(path=str(AXE))
    violations = tab.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}})).violations"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))",
        WCAG,
    )
    assert violations == [], f"{where} at {width} px: {violations}"
    assert tab.evaluate("document.documentElement.scrollWidth") <= width, f"{where} scrolls at {width} px"


def test_every_page_passes_axe_at_every_width_without_scrolling_sideways(
    browser: Browser, served: str, database_url: str
) -> None:
    if not AXE.exists():
        pytest.fail(f"{AXE} is missing: run `make test-deps` (npm ci installs axe-core)")
    reuters = seeds.seed_id("source", "reuters")
    contradicted = "72f68e28-c917-57fd-9a45-db2dbbb02b77"
    pages = [
        "/ui/?statement=Austin+initiated+the+call",
        "/ui/?statement=%21",
        f"/ui/claims/{contradicted}",
        f"/ui/claims/{SEEDED_CLAIM}",
        f"/ui/sources/{reuters}",
        "/ui/claims/00000000-0000-4000-8000-000000000000",
        "/ui/record",
    ]
    secret = write_key(database_url, "auditor")
    # The pages allow no script; the audit is injected by the test, so its tab bypasses the policy.
    context = browser.new_context(bypass_csp=True)
    try:
        for width in WIDTHS:
            tab = context.new_page()
            tab.set_viewport_size({"width": width, "height": 900})
            for path in pages:
                tab.goto(f"{served}{path}")
                audit(tab, path, width)
            if width == WIDTHS[0]:  # the key form, then the form with its key kept for the other widths
                tab.get_by_label("API key").fill(secret)
                tab.get_by_role("button", name="Use this key").click()
            tab.goto(f"{served}/ui/key")
            audit(tab, "/ui/key with a key", width)
            tab.goto(f"{served}/ui/record")
            tab.get_by_label("The article's text").fill(ARTICLE)
            tab.get_by_role("button", name="Read the claims").click()
            audit(tab, "/ui/record with its rows", width)
            tab.locator("#r1-h0-cue").fill("")
            tab.get_by_role("button", name="Record the ticked claims").click()
            expect(tab.locator("#r1-h0-cue-error")).to_be_visible()
            audit(tab, "/ui/record with an error", width)
            tab.close()
    finally:
        context.close()


def test_every_action_works_from_the_keyboard(browser: Browser, served: str) -> None:
    tab = browser.new_page()
    tab.goto(f"{served}/ui/")
    tab.keyboard.press("Tab")
    assert tab.evaluate("document.activeElement.textContent") == "Skip to the content"
    tab.keyboard.press("Enter")
    expect(tab).to_have_url(re.compile(r"#main$"))
    tab.focus("#statement")
    tab.keyboard.type("Austin initiated the call")
    tab.keyboard.press("Enter")
    expect(tab.locator(".match").first).to_be_visible()
    link = tab.get_by_role("link", name=re.compile("^Austin initiated the conversation")).first
    link.focus()
    tab.keyboard.press("Enter")
    expect(tab.locator("h1")).to_contain_text("Austin initiated the conversation")
    tab.close()


ARTICLE = (
    "Austin initiated the conversation and it was the first such call since March 2023, Pentagon "
    "spokesman Patrick Ryder told reporters, Hina reports, citing Reuters.\n\n"
    '"The two ministers agreed to keep the lines open," said Wu Qian, a spokesman for China\'s defence ministry.'
)


def write_key(database_url: str, name: str) -> str:
    """A write key made straight through the domain, for a browser to enter."""

    async def make() -> str:
        conn = await asyncpg.connect(database_url)
        try:
            return await issue_key(conn, name, "write")
        finally:
            await conn.close()

    # Playwright's sync API keeps an event loop running in this thread: the key is made in another.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, make()).result()


def test_a_fact_checker_records_a_two_claim_article_and_sees_it_traced(
    browser: Browser, served: str, database_url: str
) -> None:
    secret = write_key(database_url, "desk")
    tab = browser.new_page(viewport={"width": 1280, "height": 900})
    tab.goto(f"{served}/ui/")
    tab.get_by_role("link", name="Record an article").click()
    # No key yet: the page asks for one, and comes back to the form once it is entered.
    expect(tab.locator("h1")).to_have_text("Your key")
    tab.get_by_label("API key").fill(secret)
    tab.get_by_role("button", name="Use this key").click()
    expect(tab.locator("h1")).to_have_text("Record an article")
    tab.get_by_label("Headline").fill("Austin and Dong speak again")
    tab.get_by_label("Published on").fill("2024-05-31")
    tab.get_by_label("The article's text").fill(ARTICLE)
    tab.get_by_role("button", name="Read the claims").click()
    expect(tab.locator("fieldset.claim-row")).to_have_count(2)
    expect(tab.locator("#r0-h0-name")).to_have_value("Hina")
    expect(tab.locator("#r0-h2-name")).to_have_value("Patrick Ryder")
    expect(tab.locator("#r1-h0-name")).to_have_value("Wu Qian")
    # A correction before recording: the second claim is a quote of the defence ministry's spokesman.
    tab.locator("#r1-h0-role").fill("defence ministry spokesman")
    tab.get_by_role("button", name="Record the ticked claims").click()
    expect(tab.locator("h1")).to_have_text("Recorded 2 claims")
    expect(tab.locator(".drawing svg")).to_have_count(2)
    tab.get_by_role("link", name=re.compile("^Austin initiated the conversation")).click()
    expect(tab.locator(".path li")).to_have_count(3)
    expect(tab.locator(".path li").nth(0)).to_contain_text("Hina")
    expect(tab.locator(".path li").nth(1)).to_contain_text("Reuters")
    expect(tab.locator(".origin")).to_contain_text("Patrick Ryder")
    expect(tab.locator(".kicker")).to_contain_text("stored by desk")
    # Found again by a reader, traced to its origin.
    tab.goto(f"{served}/ui/?statement=the+two+ministers+agreed+to+keep+the+lines+open")
    expect(tab.locator(".match").first.locator(".origin")).to_contain_text("Wu Qian")
    expect(tab.locator(".match").first.locator(".origin")).to_contain_text("defence ministry spokesman")
    tab.close()
