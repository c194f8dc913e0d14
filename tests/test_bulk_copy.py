"""The batch import: the database it leaves is the one POSTing each line would have left, line failures
are reported as POST /claims answers them and store nothing, and ``POST /claims/import`` serves it."""

from __future__ import annotations

import asyncio
import io
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from uuid import UUID

import asyncpg
import httpx
import msgspec
import pytest
from litestar import Litestar

from bench import corpus
from service import db, migrations, seeds
from service.domain import audit
from service.domain import claims as claims_domain
from service.domain import sources as sources_domain
from service.errors import ProvenanceError, problem_document
from service.imports import pipeline as imports
from service.imports.pipeline import ClaimLine, Importer, LineFailure
from service.model import MergeIn
from service.repositories import audit as audit_repo
from service.repositories import claims as claims_repo
from tests.helpers import ADMIN_KEY_NAME, Server, assert_problem, bearer, claim_body, fresh_app, hop, inline, issue_key

NDJSON = {"Content-Type": "application/x-ndjson"}
PENTAGON = str(seeds.seed_id("source", "pentagon"))
HINA = str(seeds.seed_id("source", "hina"))
REUTERS = str(seeds.seed_id("source", "reuters"))
DIETZ = str(seeds.seed_id("source", "dietz"))  # merged into Ryder in both databases
SEEDED_CLAIM = str(seeds.seed_id("claim", "austin-initiated-call"))


def ids(count: int) -> list[str]:
    return [str(uuid.UUID(int=0xB0C0 << 64 | n)) for n in range(count)]


CLAIM = ids(41)


def line(text: str, *hops: dict[str, Any], id: str | None = None, **fields: Any) -> dict[str, Any]:
    body = claim_body(text, *hops, **fields)
    return {"id": id, **body} if id else body


def encode(*lines: dict[str, Any] | str) -> bytes:
    return b"".join((x.encode() if isinstance(x, str) else msgspec.json.encode(x)) + b"\n" for x in lines)


def hops_of(count: int, prefix: str) -> list[dict[str, Any]]:
    return [hop(inline(f"{prefix} relay {n}", "outlet"), "citing") for n in range(count)]


# Every rule of POST /claims, met line after line, across batches of 4: what earlier lines made is
# what later lines find.
LINES = encode(
    line(
        "Smith spoke first.",
        hop(
            inline(
                "Alexandra Smith",
                aliases=["ALEXANDRA SMITH", "Sasha Smith", "sasha  smith", "А. Смит"],
                description="press officer",
                identifiers={"wikidata": "Q900001", "homepage": "https://smith.example"},
                affiliations=[
                    {"organization": {"name": "Smith Institute"}, "role": "director", "since": "2020-01-01"},
                    {"organization_id": PENTAGON, "role": "adviser", "until": "2024-12-31"},
                ],
            ),
            "told reporters",
            role=" press officer ",
        ),
        id=CLAIM[0],
        language="en-GB",
        appeared_in={"url": "https://a.example/1", "title": "T", "author": "Au", "outlet": "Hina"},
        stated_at="2024-06-25T12:00:00.123456+02:00",
    ),
    line("Found by an alias.", hop(inline("Sasha Smith")), id=CLAIM[1]),
    line("Found by a folded alias.", hop(inline("a smith")), id=CLAIM[2]),
    line(
        "The institute, now a hop.",
        hop(inline("Daily Bugle", "outlet", aliases=["The Bugle"]), "reports"),
        hop(inline("smith institute", "organization")),
        id=CLAIM[3],
        appeared_in={"published_at": "2024-06-26T08:00:00Z"},
    ),
    line("Alex spoke.", hop(inline("Alex Jones")), id=CLAIM[4]),
    line("Alexander spoke.", hop(inline("Alexander Jones", aliases=["Alex Jones"])), id=CLAIM[5]),
    line("Which Jones?", hop(inline("Alex Jones")), id=CLAIM[6]),
    line("Mercury the planet.", hop(inline("Mercury", "organization")), id=CLAIM[7]),
    line("Mercury the singer.", hop(inline("Freddie Mercury", aliases=["Mercury"])), id=CLAIM[8]),
    line("The singer again.", hop(inline("Mercury", "person")), id=CLAIM[9]),
    line("Mercury, of what kind?", hop(inline("Mercury", "anonymous")), id=CLAIM[10]),
    line(
        "Upstream in the batch before.",
        hop(inline("Weekly Echo", "outlet"), "reprints"),
        {"cue": "citing", "upstream_claim_id": CLAIM[3]},
        id=CLAIM[11],
    ),
    line(
        "Upstream in this batch.",
        hop(inline("Evening Star", "outlet")),
        {"cue": "citing", "upstream_claim_id": CLAIM[11]},
        id=CLAIM[12],
    ),
    line(
        "Upstream stored before.", {"cue": "citing", "upstream_claim_id": SEEDED_CLAIM, "source_id": HINA}, id=CLAIM[13]
    ),
    line("Relayed twice.", hop(REUTERS, "reports"), {"cue": "citing", "upstream_claim_id": SEEDED_CLAIM}, id=CLAIM[40]),
    line(
        "Upstream, wrong first source.",
        {"cue": "citing", "upstream_claim_id": SEEDED_CLAIM, "source_id": REUTERS},
        id=CLAIM[14],
    ),
    line("Upstream named by nobody.", hop(HINA), {"cue": "citing", "upstream_claim_id": CLAIM[39]}, id=CLAIM[15]),
    line("Upstream not last.", {"cue": "citing", "upstream_claim_id": CLAIM[0]}, hop(HINA), id=CLAIM[16]),
    line("Itself upstream.", hop(HINA), {"cue": "citing", "upstream_claim_id": CLAIM[17]}, id=CLAIM[17]),
    line("A merged source's id.", hop(DIETZ, "said"), id=CLAIM[18]),
    line("Unknown source id.", hop(str(uuid.UUID(int=7))), id=CLAIM[19]),
    line("Not an id.", hop("Reuters"), id=CLAIM[20]),
    line("Both.", {"cue": "said", "source_id": HINA, "source": inline("Hina", "outlet")}, id=CLAIM[21]),
    line("Neither.", {"cue": "said"}, id=CLAIM[22]),
    line("   ", hop(HINA), id=CLAIM[23]),
    line("Blank cue.", hop(HINA, "  "), id=CLAIM[24]),
    line("No letters.", hop(inline("!!!")), id=CLAIM[25]),
    line("An alias without letters.", hop(inline("Ghost Writer", aliases=["ok", "--"])), id=CLAIM[26]),
    line(
        "Made a source, then failed.",
        hop(inline("Phantom Outlet", "outlet", aliases=["Phantom"]), "reports"),
        {"cue": "said"},
        id=CLAIM[27],
    ),
    line("The phantom, now for real.", hop(inline("Phantom", "outlet")), id=CLAIM[28]),
    line(
        "Member of a person.",
        hop(inline("Jo Bloggs", affiliations=[{"organization": {"name": "Alexander Jones"}}])),
        id=CLAIM[29],
    ),
    line(
        "Its own member.",
        hop(inline("Loop Org", "organization", affiliations=[{"organization": {"name": "Loop Org"}}])),
        id=CLAIM[30],
    ),
    line(
        "Until before since.",
        hop(
            inline(
                "Time Traveller",
                affiliations=[{"organization_id": PENTAGON, "since": "2024-01-02", "until": "2024-01-01"}],
            )
        ),
        id=CLAIM[31],
    ),
    line(
        "Twice the member.",
        hop(
            inline(
                "Double Agent",
                affiliations=[
                    {"organization_id": PENTAGON, "role": "spy"},
                    {"organization": {"name": "Pentagon"}, "role": "spy"},
                ],
            )
        ),
        id=CLAIM[32],
    ),
    line("Wikidata taken.", hop(inline("Smith Twin", identifiers={"wikidata": "Q900001"})), id=CLAIM[33]),
    line("Already stored (seed).", hop(HINA), id=SEEDED_CLAIM),
    line("Already stored (this file).", hop(HINA), id=CLAIM[0]),
    line("No id at all.", hop(inline("Anonymous Tipster", "anonymous", affiliations=[{"organization_id": PENTAGON}]))),
    line("Sixteen hops.", *hops_of(15, "Long"), hop(inline("Long Origin")), id=CLAIM[34]),
    line("Seventeen hops.", *hops_of(16, "Longer"), hop(inline("Longer Origin")), id=CLAIM[35]),
    line("Bad id.", hop(HINA), id="not-an-id"),
    line("A NUL \u0000 inside.", hop(inline("Nul Outlet", "outlet")), id=CLAIM[36]),
    '{"text": "broken", "kind": ',
    "",
    line("Rumour.", hop(HINA), kind="rumour", id=CLAIM[37]),
    line(
        "The last one.", hop(inline("Alexandra Smith")), {"cue": "citing", "upstream_claim_id": CLAIM[12]}, id=CLAIM[38]
    ),
)


# --- what POSTing each line leaves, and what the batches leave -----------------------------------


def outcome(problem: dict[str, Any], names: dict[UUID, str]) -> dict[str, Any]:
    """A problem with candidate ids replaced by names (the two databases number new sources apart)."""
    candidates = [{**c, "id": names[UUID(c["id"])]} for c in problem.get("candidates") or []]
    return {**problem, "candidates": candidates} if candidates else problem


async def post_each(conn: asyncpg.Connection, body: bytes) -> list[tuple[int, Any]]:
    """Store each line as POST /claims stores a body (service.domain.claims.create), in its own transaction."""
    found: list[tuple[int, Any]] = []
    for number, raw in enumerate(body.split(b"\n"), start=1):
        if not raw.strip():
            continue
        try:
            parsed = msgspec.json.decode(raw, type=ClaimLine)
            claim_id = UUID(parsed.id) if parsed.id else None
        except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
            found.append((number, "unparsable"))
            continue
        if claim_id is not None and await claims_repo.exists(conn, claim_id):
            continue
        try:
            await claims_domain.create(conn, parsed, id=claim_id, actor="import")
        except (ProvenanceError, asyncpg.IntegrityConstraintViolationError, asyncpg.DataError) as exc:
            found.append((number, problem_document(exc)))
    return found


class Heard:
    """An import's progress as a test hears it: each failure, and the lines done in all."""

    def __init__(self) -> None:
        self.failures: list[LineFailure] = []
        self.lines = 0

    def failed(self, failure: LineFailure) -> None:
        self.failures.append(failure)

    def done(self, lines: int) -> None:
        self.lines += lines


async def import_batches(
    conn: asyncpg.Connection,
    body: bytes,
    batch_lines: int,
    reader: asyncpg.Connection | None = None,
    *,
    load: bool = False,
) -> list[tuple[int, Any]]:
    """Import in batches (as an initial load with ``load``, which must then have been one); every batch
    must have been stored whole (none fell back to line by line), and each prepared ahead must have
    been resolved against what its write found stored."""
    heard = Heard()
    importer = Importer(conn, heard, actor="import", batch_lines=batch_lines, reader=reader, load=load)
    await importer.run(body.split(b"\n"))
    assert heard.lines == sum(1 for line in body.split(b"\n") if line.strip())
    assert importer.refused_batches == 0
    assert importer.resolved_again == 0
    assert importer.loaded == load
    return [(f.number, f.problem) for f in heard.failures]


async def prepared(conn: asyncpg.Connection, *, claims: bool = True) -> None:
    """The seeds, and Dietz merged into Ryder, as in both databases compared; without ``claims``, the
    seeds' claims taken out again, and the audit log with them, whose claim entries hash their revisions
    (their sources and the merge stay)."""
    await seeds.load(conn)
    await sources_domain.merge(conn, UUID(DIETZ), MergeIn(into=str(seeds.seed_id("source", "ryder"))))
    if not claims:
        async with conn.transaction():
            await conn.execute("SET LOCAL session_replication_role = replica")  # the log refuses TRUNCATE
            await conn.execute(
                "TRUNCATE claims, hops, claim_revisions, claim_relations, claim_reviews, audit_log, audit_pending"
            )


async def keys_and_indexes(conn: asyncpg.Connection) -> set[tuple[str, str]]:
    """Every constraint and index of the schema, by name, with its definition."""
    constraints = await conn.fetch(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace"
    )
    indexes = await conn.fetch(
        """SELECT c.relname, pg_get_indexdef(c.oid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE c.relnamespace = 'public'::regnamespace"""
    )
    return {tuple(r) for r in [*constraints, *indexes]}


async def state(conn: asyncpg.Connection) -> dict[str, Any]:
    """Everything the import writes, with source ids replaced by names."""
    names = {r["id"]: r["name"] for r in await conn.fetch("SELECT id, name FROM sources")}

    def named(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: (names[UUID(v)] if k == "source_id" and v else named(v)) for k, v in value.items()}
        if isinstance(value, list):
            return [named(v) for v in value]
        return value

    claims = await conn.fetch(
        """SELECT c.*, c.search_vector::text AS vector, d.chain FROM claims c JOIN claim_documents d USING (id)
            ORDER BY c.seq"""
    )
    sources = await conn.fetch("SELECT * FROM source_documents ORDER BY seq")
    await audit.seal(conn)
    entries = await conn.fetch(audit_repo.EVERY_ENTRY)  # a claim's body is rebuilt from its revision
    return {
        "claims": [
            {
                **{
                    k: r[k]
                    for k in (
                        "id",
                        "text",
                        "kind",
                        "language",
                        "url",
                        "title",
                        "author",
                        "outlet",
                        "published_at",
                        "stated_at",
                        "search_text",
                        "vector",
                        "version",
                        "status",
                    )
                },
                "origin": names[r["origin_source_id"]],
                "relays": [names[s] for s in r["relay_source_ids"]],
                "chain": [
                    (h["position"], h["source"]["name"], h["cue"], h["role"], h["upstream_claim_id"])
                    for h in r["chain"]
                ],
            }
            for r in claims
        ],
        "sources": [
            {
                **{k: r[k] for k in ("name", "kind", "description", "identifiers", "aliases", "version", "name_key")},
                "merged_into": names.get(r["merged_into"]),
                "affiliations": [
                    (a["organization"]["name"], a["role"], a["since"], a["until"]) for a in r["affiliations"]
                ],
            }
            for r in sources
        ],
        "aliases": sorted(
            (names[r["source_id"]], r["alias"], r["alias_key"])
            for r in await conn.fetch("SELECT * FROM source_aliases")
        ),
        "tokens": sorted(
            (names[r["source_id"]], r["token"]) for r in await conn.fetch("SELECT * FROM source_name_tokens")
        ),
        "token_deletes": sorted(tuple(r) for r in await conn.fetch("SELECT delete_key, token FROM token_deletes")),
        "revisions": [
            (r["claim_id"], r["number"], r["action"], named(r["changes"]), r["actor"])
            for r in await conn.fetch(
                "SELECT * FROM claim_revisions r JOIN claims c ON c.id = r.claim_id ORDER BY c.seq"
            )
        ],
        "audit": [
            (
                r["seq"],
                r["actor"],
                r["action"],
                r["entity_type"],
                r["entity_id"] if r["entity_type"] == "claim" else names.get(r["entity_id"], "?"),
                named(msgspec.json.decode(audit.stored_body(r) or b"null")["change"]),
            )
            for r in entries
        ],
        "names": names,
    }


@pytest.fixture(scope="module")
def new_database(server: Server) -> Iterator[Callable[[], str]]:
    made: list[str] = []

    def make() -> str:
        url = server.create_database()
        made.append(url)
        migrations.upgrade(url)
        return url

    yield make
    for url in made:
        server.drop_database(url)


@pytest.fixture
async def fresh(new_database: Callable[[], str]) -> AsyncIterator[asyncpg.Connection]:
    """A connection to a new, migrated database of the test's own."""
    conn = await db.connect(await asyncio.to_thread(new_database))
    try:
        yield conn
    finally:
        await conn.close()


async def _both(
    posted_url: str, imported_url: str, body: bytes, batch_lines: int, *, load: bool = False
) -> tuple[Any, ...]:
    posted, imported = await db.connect(posted_url), await db.connect(imported_url)
    reader = await db.connect(imported_url)
    try:
        await prepared(posted, claims=not load)
        await prepared(imported, claims=not load)
        by_post = await post_each(posted, body)
        # Each batch resolved while the one before is written, against what that one stores.
        by_import = await import_batches(imported, body, batch_lines, reader=reader, load=load)
        return (
            by_post,
            by_import,
            await state(posted),
            await state(imported),
            await audit.verify(imported),
        )
    finally:
        await posted.close()
        await imported.close()
        await reader.close()


class Compared(msgspec.Struct):
    by_post: list[tuple[int, Any]]
    by_import: list[tuple[int, Any]]
    posted: dict[str, Any]
    imported: dict[str, Any]
    verification: Any


@pytest.fixture(scope="module")
def compared(new_database: Callable[[], str]) -> Compared:
    """The same lines POSTed one by one into one database, and imported in batches of 4 into another."""
    return Compared(*asyncio.run(_both(new_database(), new_database(), LINES, batch_lines=4)))


class TestSameAsPosting:
    def test_the_same_lines_fail_with_the_same_problems(self, compared: Compared) -> None:
        def normal(found: list[tuple[int, Any]], names: dict[UUID, str]) -> list[tuple[int, Any]]:
            return [(n, p if isinstance(p, str) else outcome(p, names)) for n, p in found]

        parse_failures = {n for n, p in compared.by_post if p == "unparsable"}
        assert normal([f for f in compared.by_import if f[0] not in parse_failures], compared.imported["names"]) == (
            normal([f for f in compared.by_post if f[0] not in parse_failures], compared.posted["names"])
        )
        assert {n for n, _ in compared.by_import} >= parse_failures

    @pytest.mark.parametrize("table", ["claims", "sources", "aliases", "tokens", "token_deletes", "revisions"])
    def test_the_stored_rows_are_the_same(self, compared: Compared, table: str) -> None:
        posted, imported = compared.posted[table], compared.imported[table]
        if table == "claims":  # the line without id gets an id of its own in each database
            posted = [{**c, "id": None} if c["text"] == "No id at all." else c for c in posted]
            imported = [{**c, "id": None} if c["text"] == "No id at all." else c for c in imported]
        if table == "revisions":
            posted = [r[1:] for r in posted]
            imported = [r[1:] for r in imported]
        assert imported == posted

    def test_the_audit_log_has_the_same_entries_in_the_same_order_and_verifies(self, compared: Compared) -> None:
        def without_new_ids(entries: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
            return [(*e[:4], e[4] if isinstance(e[4], str) or e[5]["text"] != "No id at all." else None, *e[5:])
                    for e in entries]  # fmt: skip

        assert without_new_ids(compared.imported["audit"]) == without_new_ids(compared.posted["audit"])
        assert compared.verification.ok
        assert compared.verification.entries == len(compared.imported["audit"])

    def test_the_cases_meant_are_there(self, compared: Compared) -> None:
        problems = {n: p for n, p in compared.by_import}
        details = [p["detail"] for p in problems.values()]
        assert any("matches 2 stored sources" in d for d in details)  # which Jones
        assert "chain[0].upstream_claim_id: no claim has this id" not in details
        assert "chain[1].upstream_claim_id: no claim has this id" in details
        assert any(p["status"] == 409 and p.get("constraint") == "sources_wikidata_key" for p in problems.values())
        assert any(p["status"] == 409 and p.get("constraint") == "affiliations_unique" for p in problems.values())
        assert any(p["detail"].startswith("a value cannot be stored") for p in problems.values())  # the NUL
        texts = [c["text"] for c in compared.imported["claims"]]
        assert "Sixteen hops." in texts and "Seventeen hops." not in texts
        assert "The phantom, now for real." in texts
        phantoms = [s for s in compared.imported["sources"] if s["name"].startswith("Phantom")]
        assert [s["name"] for s in phantoms] == ["Phantom"]


class TestSameAsPostingWhenLoaded(TestSameAsPosting):
    """The same lines imported as an initial load, into a database holding the seeds' sources but no
    claims (the lines linking the seeds' claims then fail alike in both databases)."""

    @pytest.fixture(scope="class")
    @classmethod
    def compared(cls, new_database: Callable[[], str]) -> Compared:
        return Compared(*asyncio.run(_both(new_database(), new_database(), LINES, batch_lines=4, load=True)))

    def test_the_cases_meant_are_there(self, compared: Compared) -> None:
        details = [p["detail"] for _, p in compared.by_import]
        assert any("matches 2 stored sources" in d for d in details)  # which Jones
        assert "chain[0].upstream_claim_id: no claim has this id" in details  # a seed claim linked
        assert len(compared.imported["claims"]) >= 15


async def load_refusing_forbidden(
    conn: asyncpg.Connection, body: bytes, *, batch_lines: int
) -> tuple[Importer, imports.ImportReport, list[tuple[int, str | None]]]:
    """``body`` loaded into a database whose claims refuse the text "Forbidden." (a rule the import
    does not know, so that a batch holding it is refused whole); each failed line's number and the
    constraint it broke."""
    await conn.execute("ALTER TABLE claims ADD CONSTRAINT test_no_forbidden CHECK (text <> 'Forbidden.')")
    heard = Heard()
    importer = Importer(conn, heard, actor="import", batch_lines=batch_lines, load=True)
    report = await importer.run(body.split(b"\n"))
    return importer, report, [(f.number, f.problem.get("constraint")) for f in heard.failures]


class TestInitialLoad:
    async def test_it_builds_again_every_key_and_index_it_dropped(self, fresh: asyncpg.Connection) -> None:
        before = await keys_and_indexes(fresh)
        body = encode(*(line(f"Claim {n}.", hop(inline(f"Outlet {n % 3}", "outlet"))) for n in range(10)))
        await import_batches(fresh, body, batch_lines=3, load=True)
        assert await keys_and_indexes(fresh) == before
        assert await fresh.fetchval("SELECT count(*) FROM claims") == 10
        assert await fresh.fetchval("SELECT count(*) FROM audit_pending") == 0
        assert (await audit.verify(fresh)).entries == 10

    async def test_a_load_that_fails_leaves_the_database_as_it_was(self, fresh: asyncpg.Connection) -> None:
        # A key the rules know nothing of, which the load drops, then cannot build over its rows.
        await fresh.execute("CREATE UNIQUE INDEX test_unique_text ON claims (text)")
        before = await keys_and_indexes(fresh)
        body = encode(*(line("Twice.", hop(inline("Hina", "outlet"))) for _ in range(2)))
        with pytest.raises(asyncpg.UniqueViolationError, match="test_unique_text"):
            await Importer(fresh, Heard(), actor="import", batch_lines=1, load=True).run(body.split(b"\n"))
        assert await keys_and_indexes(fresh) == before
        for table in ("claims", "hops", "sources", "claim_revisions", "audit_log", "audit_pending"):
            assert await fresh.fetchval(f"SELECT count(*) FROM {table}") == 0, table

    async def test_a_chain_the_database_refuses_fails_the_load_whole(self, fresh: asyncpg.Connection) -> None:
        # A trigger the rules know nothing of breaks one chain as it is written: its hop moves to 1.
        await fresh.execute(
            """CREATE FUNCTION test_shift() RETURNS trigger LANGUAGE plpgsql AS $$
               BEGIN IF NEW.cue = 'shifted' THEN NEW.position := NEW.position + 1; END IF; RETURN NEW; END $$"""
        )
        await fresh.execute(
            "CREATE TRIGGER test_shift BEFORE INSERT ON hops FOR EACH ROW EXECUTE FUNCTION test_shift()"
        )
        body = encode(
            *(line(f"Fine {n}.", hop(inline("Hina", "outlet"))) for n in range(5)),
            line("Shifted.", hop(inline("Hina", "outlet"), "shifted")),
        )
        importer = Importer(fresh, Heard(), actor="import", batch_lines=2, load=True)
        with pytest.raises(asyncpg.IntegrityConstraintViolationError) as raised:
            await importer.run(body.split(b"\n"))
        assert raised.value.constraint_name == "chain_positions"
        for table in ("claims", "hops", "sources", "claim_revisions", "audit_log", "audit_pending"):
            assert await fresh.fetchval(f"SELECT count(*) FROM {table}") == 0, table

    async def test_after_a_refused_batch_the_next_is_resolved_against_what_its_lines_stored(
        self, fresh: asyncpg.Connection
    ) -> None:
        body = encode(
            line("Allowed.", hop(inline("Hina", "outlet"))),
            # Refused whole, then line by line: its new source is not stored either.
            line("Forbidden.", hop(inline("Lost Outlet", "outlet"))),
            # Answer while the batch before was written, as if Lost Outlet were stored: again, then.
            line("Names the lost outlet.", hop(inline("Lost Outlet", "outlet"))),
            line("Allowed too.", hop(inline("Lost Outlet", "outlet")), hop(inline("Hina", "outlet"))),
        )
        importer, report, failures = await load_refusing_forbidden(fresh, body, batch_lines=1)
        assert (importer.loaded, importer.refused_batches, report.imported) == (True, 1, 3)
        assert failures == [(2, "test_no_forbidden")]
        assert await fresh.fetchval("SELECT array_agg(name ORDER BY seq) FROM sources") == ["Hina", "Lost Outlet"]
        assert await fresh.fetchval("SELECT count(*) FROM hops") == 4
        verified = await audit.verify(fresh)
        assert (verified.ok, verified.entries) == (True, 3)

    async def test_what_a_refused_batch_stored_line_by_line_is_found_by_the_batches_after_it(
        self, fresh: asyncpg.Connection
    ) -> None:
        body = encode(
            # Refused whole; then Kept is stored alone, with its new outlet, and Forbidden fails.
            line("Kept.", hop(inline("Kept Outlet", "outlet")), id=CLAIM[0]),
            line("Forbidden.", hop(inline("Lost Outlet", "outlet"))),
            # Answer ahead as if the batch before were stored whole; again against what is.
            line("Kept.", hop(inline("Kept Outlet", "outlet")), id=CLAIM[0]),
            line("Links kept.", hop(inline("Kept Outlet", "outlet"), upstream_claim_id=CLAIM[0])),
            line("Lost again.", hop(inline("Lost Outlet", "outlet"))),
            line("Links it too.", hop(inline("Kept Outlet", "outlet"), upstream_claim_id=CLAIM[0])),
        )
        importer, report, failures = await load_refusing_forbidden(fresh, body, batch_lines=2)
        assert (importer.loaded, importer.refused_batches) == (True, 1)
        assert (report.imported, report.already_stored) == (4, 1)
        assert failures == [(2, "test_no_forbidden")]
        names = await fresh.fetchval("SELECT array_agg(name ORDER BY seq) FROM sources")
        assert names == ["Kept Outlet", "Lost Outlet"]  # each made once
        assert await fresh.fetchval("SELECT count(*) FROM hops WHERE upstream_claim_id = $1", UUID(CLAIM[0])) == 2
        verified = await audit.verify(fresh)
        assert (verified.ok, verified.entries) == (True, 4)

    async def test_a_database_holding_claims_is_imported_in_batches(self, conn: asyncpg.Connection) -> None:
        body = encode(line("First.", hop(inline("Hina", "outlet"))))
        await import_batches(conn, body, batch_lines=10, load=True)
        more = encode(line("Second.", hop(inline("Hina", "outlet"))))
        importer = Importer(conn, Heard(), actor="import", batch_lines=10, load=True)
        await importer.run(more.split(b"\n"))
        assert not importer.loaded
        assert await conn.fetchval("SELECT count(*) FROM claims") == 2


class TestLines:
    async def test_a_refused_line_is_reported_by_number_and_stores_nothing(self, conn: asyncpg.Connection) -> None:
        body = encode(
            line("Fine.", hop(inline("Kept Outlet", "outlet"))),
            line("Refused.", hop(inline("Lost Outlet", "outlet")), {"cue": "said", "source_id": "nope"}),
            line("Seventeen.", *hops_of(17, "Too many")),
        )
        failures = await import_batches(conn, body, batch_lines=100)
        assert [(n, p["status"]) for n, p in failures] == [(2, 422), (3, 422)]
        assert failures[0][1]["errors"] == [{"field": "chain[1].source_id", "message": "'nope' is not an id"}]
        assert failures[1][1]["errors"] == [{"field": "chain", "message": "Expected `array` of length <= 16"}]
        assert await conn.fetchval("SELECT array_agg(name ORDER BY name) FROM sources") == ["Kept Outlet"]
        assert await conn.fetchval("SELECT count(*) FROM claims") == 1
        await audit.seal(conn)
        assert await conn.fetchval("SELECT count(*) FROM audit_log") == 1

    async def test_a_large_import_leaves_the_statistics_of_what_it_wrote_fresh(
        self, conn: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        def body(start: int) -> bytes:
            return encode(*(line(f"Claim {n}.", hop(inline("Hina", "outlet"))) for n in range(start, start + 3)))

        estimate = "SELECT reltuples FROM pg_class WHERE relname = 'claims'"
        monkeypatch.setattr(imports, "ANALYZE_AFTER", 4)
        await import_batches(conn, body(0), batch_lines=10)
        assert await conn.fetchval(estimate) != 3
        monkeypatch.setattr(imports, "ANALYZE_AFTER", 3)
        await import_batches(conn, body(3), batch_lines=10)
        assert await conn.fetchval(estimate) == 6

    async def test_ids_already_stored_are_counted_and_skipped(self, conn: asyncpg.Connection) -> None:
        body = encode(
            line("One.", hop(inline("Hina", "outlet")), id=CLAIM[0]),
            line("One again.", hop(inline("Hina", "outlet")), id=CLAIM[0]),
        )
        first = await Importer(conn, Heard(), actor="import", batch_lines=10).run(body.split(b"\n"))
        again = await Importer(conn, Heard(), actor="import", batch_lines=10).run(body.split(b"\n"))
        assert (first.imported, first.already_stored, again.imported, again.already_stored) == (1, 1, 0, 2)
        assert await conn.fetchval("SELECT text FROM claims") == "One."

    @pytest.mark.parametrize("load", [False, True], ids=["batched", "loaded"])
    async def test_a_batch_the_database_refuses_is_stored_line_by_line(
        self, fresh: asyncpg.Connection, load: bool
    ) -> None:
        await fresh.execute("ALTER TABLE claims ADD CONSTRAINT test_no_forbidden CHECK (text <> 'Forbidden.')")
        body = encode(
            line("Allowed.", hop(inline("Hina", "outlet"))),
            line("Forbidden.", hop(inline("Hina", "outlet"))),
            line("Allowed too.", hop(inline("Hina", "outlet"))),
        )
        heard = Heard()
        importer = Importer(fresh, heard, actor="import", batch_lines=10, load=load)
        await importer.run(body.split(b"\n"))
        assert (importer.refused_batches, importer.loaded) == (1, load)
        assert [(f.number, f.problem["status"], f.problem.get("constraint")) for f in heard.failures] == [
            (2, 422, "test_no_forbidden")
        ]
        assert await fresh.fetchval("SELECT array_agg(text ORDER BY seq) FROM claims") == [
            "Allowed.",
            "Allowed too.",
        ]
        assert await fresh.fetchval("SELECT count(*) FROM sources") == 1
        assert (await audit.verify(fresh)).ok

    async def test_the_database_refuses_a_broken_chain_written_in_bulk(self, conn: asyncpg.Connection) -> None:
        source = await conn.fetchval(
            "INSERT INTO sources (kind, name, name_key) VALUES ('outlet', 'X', 'x') RETURNING id"
        )
        with pytest.raises(asyncpg.IntegrityConstraintViolationError, match="positions"):
            async with conn.transaction():
                await conn.execute("SET LOCAL provenance.chain_check = 'batch'")
                claim = await conn.fetchval(
                    "INSERT INTO claims (text, kind, language, origin_source_id, search_text) "
                    "VALUES ('t', 'quote', 'en', $1, 't') RETURNING id",
                    source,
                )
                await conn.execute(
                    "INSERT INTO hops (claim_id, position, source_id, cue) VALUES ($1, 1, $2, 'c')", claim, source
                )
                await conn.execute("SELECT check_chains($1::uuid[])", [claim])

    async def test_concurrent_posts_and_a_batch_create_each_new_source_once(
        self, app: Litestar, client: httpx.AsyncClient
    ) -> None:
        names = [f"Contested Name {n}" for n in range(30)]
        body = encode(*(line(f"Imported {n}.", hop(inline(name))) for n, name in enumerate(names)))

        async def imported() -> None:
            async with app.state.pool.acquire() as conn, app.state.pool.acquire() as reader:
                importer = Importer(conn, Heard(), actor="import", batch_lines=5, reader=reader)
                report = await importer.run(body.split(b"\n"))
                assert report.imported == 30

        async def posted() -> None:
            for n, name in enumerate(names):
                response = await client.post("/claims", json=claim_body(f"Posted {n}.", hop(inline(name))))
                assert response.status_code == 201, response.text

        await asyncio.gather(imported(), posted())
        async with app.state.pool.acquire() as conn:
            counts = await conn.fetch("SELECT name_key, count(*) FROM sources GROUP BY 1 HAVING count(*) > 1")
            assert counts == []
            assert await conn.fetchval("SELECT count(*) FROM claims") == 60


class TestTheGeneratedCorpus:
    async def test_it_imports_whole_with_its_chains_and_links(self, conn: asyncpg.Connection) -> None:
        out = io.BytesIO()
        corpus.write(400, 11, out)
        failures = await import_batches(conn, out.getvalue(), batch_lines=150)
        assert failures == []
        assert await conn.fetchval("SELECT count(*) FROM claims") == 400
        linked = await conn.fetchval("SELECT count(*) FROM hops WHERE upstream_claim_id IS NOT NULL")
        assert 100 < linked < 160
        assert (await audit.verify(conn)).ok


# --- POST /claims/import -------------------------------------------------------------------------


class TestEndpoint:
    async def test_it_stores_the_lines_and_reports_the_failures(
        self, client: httpx.AsyncClient, conn: asyncpg.Connection
    ) -> None:
        body = encode(
            line("Via HTTP.", hop(inline("Hina", "outlet"), "reports"), hop(inline("Patrick Ryder")), id=CLAIM[0]),
            line("Linked.", hop(inline("Bugle", "outlet")), {"cue": "citing", "upstream_claim_id": CLAIM[0]}),
            line("Broken link.", hop(inline("Bugle", "outlet")), {"cue": "citing", "upstream_claim_id": CLAIM[9]}),
            line("Again.", hop(inline("Hina", "outlet")), id=CLAIM[0]),
        )
        response = await client.post("/claims/import", content=body, headers=NDJSON)
        assert response.status_code == 200, response.text
        assert response.json() == {
            "imported": 2,
            "already_stored": 1,
            "failed": 1,
            "failures": [
                {
                    "line": 3,
                    "problem": {
                        "status": 422,
                        "title": "Unprocessable Entity",
                        "detail": "chain[1].upstream_claim_id: no claim has this id",
                        "errors": [{"field": "chain[1].upstream_claim_id", "message": "no claim has this id"}],
                    },
                }
            ],
        }
        trace = (await client.get(f"/claims/{CLAIM[0]}/trace")).json()
        assert [h["source"]["name"] for h in trace["path"]] == ["Hina", "Patrick Ryder"]
        await audit.seal(conn)
        assert await conn.fetchval("SELECT array_agg(DISTINCT actor) FROM audit_log WHERE entity_type = 'claim'") == [
            ADMIN_KEY_NAME
        ]
        assert await conn.fetchval("SELECT array_agg(DISTINCT actor) FROM claim_revisions") == [ADMIN_KEY_NAME]

    async def test_json_is_415(self, client: httpx.AsyncClient) -> None:
        response = await client.post("/claims/import", json=claim_body("x", hop(inline("Hina", "outlet"))))
        assert_problem(response, 415, detail="application/x-ndjson")

    async def test_it_needs_a_write_key(self, app: Litestar, anonymous_client: httpx.AsyncClient) -> None:
        body = encode(line("x", hop(inline("Hina", "outlet"))))
        assert (await anonymous_client.post("/claims/import", content=body, headers=NDJSON)).status_code == 401
        read = await issue_key(app.state.pool, "reader", "read")
        headers = {**NDJSON, **bearer(read)}
        assert (await anonymous_client.post("/claims/import", content=body, headers=headers)).status_code == 403

    async def test_the_documented_example_imports(self, client: httpx.AsyncClient) -> None:
        from service.api.imports import EXAMPLE_BODY

        for raw in EXAMPLE_BODY.splitlines():
            msgspec.json.decode(raw, type=ClaimLine)
        response = await client.post("/claims/import", content=EXAMPLE_BODY.encode(), headers=NDJSON)
        assert response.json()["imported"] == 2


@pytest.fixture
async def bounded(database_url: str) -> AsyncIterator[tuple[Litestar, httpx.AsyncClient]]:
    async with fresh_app(database_url, pool_max_size=2, max_body_bytes=400, max_import_bytes=2_000) as application:
        key = await issue_key(application.state.pool, "bulk", "write")
        transport = httpx.ASGITransport(app=application)
        async with httpx.AsyncClient(transport=transport, base_url="http://test", headers=bearer(key)) as http:
            yield application, http


class TestBounds:
    async def test_a_body_over_the_import_bound_is_413_and_stores_nothing(
        self, bounded: tuple[Litestar, httpx.AsyncClient]
    ) -> None:
        app, http = bounded
        body = encode(*(line(f"Claim {n}.", hop(inline("Hina", "outlet"))) for n in range(40)))
        assert len(body) > 2_000
        response = await http.post("/claims/import", content=body, headers=NDJSON)
        assert response.status_code == 413
        async with app.state.pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM claims") == 0

    async def test_the_import_bound_is_its_own_and_a_line_over_the_body_bound_is_refused(
        self, bounded: tuple[Litestar, httpx.AsyncClient]
    ) -> None:
        _, http = bounded
        long = line("Long. " + "word " * 100, hop(inline("Hina", "outlet")))
        body = encode(line("Short.", hop(inline("Hina", "outlet"))), long)
        assert 400 < len(body) < 2_000
        response = await http.post("/claims/import", content=body, headers=NDJSON)
        assert response.status_code == 200
        assert response.json()["imported"] == 1
        assert response.json()["failures"][0]["line"] == 2
        assert response.json()["failures"][0]["problem"]["status"] == 413
