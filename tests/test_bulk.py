"""``provenance import`` and ``provenance export``, run as commands against throwaway databases."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest

from service import db, migrations, seeds
from service.api.etags import IfMatch
from service.domain import claims as claims_domain
from service.domain import history, traces
from service.imports import pipeline
from service.imports.lines import ClaimLine
from service.model import ClaimIn, ClaimPatch
from tests.helpers import Server, claim_body, hop, inline

PROVENANCE = [sys.executable, "-m", "service.cli"]

NewDatabase = Callable[[], str]


def run(*args: str, url: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url}
    return subprocess.run(
        [*PROVENANCE, *args], env=env, input=input, capture_output=True, text=True, timeout=180, check=False
    )


def ndjson(*lines: dict[str, Any] | str) -> str:
    """Lines of a file: dicts as JSON, strings as they are (broken JSON, blank lines)."""
    return "".join((line if isinstance(line, str) else msgspec.json.encode(line).decode()) + "\n" for line in lines)


@pytest.fixture(scope="module")
def new_database(server: Server) -> Iterator[NewDatabase]:
    """Make migrated, empty databases on demand; all are dropped at the end."""
    made: list[str] = []

    def make() -> str:
        url = server.create_database()
        made.append(url)
        migrations.upgrade(url)
        return url

    yield make
    for url in made:
        server.drop_database(url)


async def _count(url: str, query: str) -> Any:
    conn = await db.connect(url)
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


def stored_texts(url: str) -> list[str]:
    return list(asyncio.run(_count(url, "SELECT coalesce(array_agg(text ORDER BY seq), '{}') FROM claims")))


class TestImport:
    def test_valid_lines_are_stored_and_each_invalid_one_is_reported_by_number(
        self, new_database: NewDatabase, tmp_path: Path
    ) -> None:
        url = new_database()
        file = tmp_path / "claims.ndjson"
        file.write_text(
            ndjson(
                claim_body("Alex Smith said one thing.", hop(inline("Alex Smith"))),
                '{"text": "broken", "kind": ',
                "",
                claim_body("Alexander Smith said another.", hop(inline("Alexander Smith", aliases=["Alex Smith"]))),
                claim_body("Rumour has it.", hop(inline("Somebody")), kind="rumour"),
                claim_body("Which Smith?", hop(inline("Alex Smith"))),
                claim_body(
                    "Linked to nothing.",
                    hop(inline("Daily Bugle", "outlet"), "reports"),
                    {"cue": "citing", "upstream_claim_id": str(uuid.uuid4())},
                ),
                claim_body("A third valid claim.", hop(inline("Reuters", "outlet"), "reports")),
            )
        )
        result = run("import", str(file), url=url)
        assert result.returncode == 1, result.stderr
        assert "imported 3 claim(s), 4 line(s) failed" in result.stdout
        failures = [line for line in result.stderr.splitlines() if line.startswith("line ")]
        assert [f.split(":")[0] for f in failures] == ["line 2", "line 5", "line 6", "line 7"]
        assert failures[0].startswith("line 2: invalid JSON")
        assert "`$.kind`" in failures[1]
        assert "matches 2 stored sources" in failures[2]
        assert "chain[1].upstream_claim_id: no claim has this id" in failures[3]
        assert stored_texts(url) == [
            "Alex Smith said one thing.",
            "Alexander Smith said another.",
            "A third valid claim.",
        ]

    @pytest.mark.parametrize("chunk", [1, 3, 7, 1 << 20])
    def test_the_progress_bar_counts_the_lines_that_are_not_blank(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
    ) -> None:
        monkeypatch.setattr(pipeline, "_CHUNK", chunk)  # lines across the chunks read, at every offset
        file = tmp_path / "claims.ndjson"
        for content in [
            b"",
            b"\n\n",
            b"{}",
            b"{}\n",
            b"{}\r\n \t\n{}\n\x0b\x0c\r\n\n{}",
            b'  {} \n\n\n {"a": 1}\n   ',
            b"\xc3\xa9\n\xa0\n",  # a line of a non-ASCII space is not blank, as bytes.strip sees it
        ]:
            file.write_bytes(content)
            assert pipeline._count_claim_lines(file) == sum(1 for line in content.split(b"\n") if line.strip()), content

    def test_an_all_valid_file_exits_zero_with_a_progress_bar_on_stderr(
        self, new_database: NewDatabase, tmp_path: Path
    ) -> None:
        url = new_database()
        file = tmp_path / "claims.ndjson"
        file.write_text(
            ndjson(
                claim_body("Ryder said so.", hop(inline("Patrick Ryder"), "told reporters")),
                claim_body("Reuters reported it.", hop(inline("Reuters", "outlet"), "reports")),
            )
        )
        result = run("import", str(file), url=url)
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "imported 2 claim(s), 0 line(s) failed"
        assert "2/2" in result.stderr
        assert "claim/s" in result.stderr
        # Into an empty database: an initial load, which says what its phases took.
        [phases] = [line for line in result.stderr.splitlines() if line.startswith("as an initial load: ")]
        assert re.search(r"writing batches \d+\.\d s, .*building keys and indexes \d+\.\d s", phases), phases

    def test_blank_lines_are_skipped(self, new_database: NewDatabase, tmp_path: Path) -> None:
        url = new_database()
        file = tmp_path / "claims.ndjson"
        file.write_text(
            ndjson(
                "",
                claim_body("First.", hop(inline("Hina", "outlet"), "reports")),
                "   ",
                "",
                claim_body("Second.", hop(inline("Hina", "outlet"), "reports")),
            )
        )
        result = run("import", str(file), url=url)
        assert result.returncode == 0, result.stderr
        assert "imported 2 claim(s), 0 line(s) failed" in result.stdout
        assert "line " not in result.stderr
        assert stored_texts(url) == ["First.", "Second."]

    def test_stdin_is_read_when_the_file_is_a_dash(self, new_database: NewDatabase) -> None:
        url = new_database()
        result = run("import", "-", url=url, input=ndjson(claim_body("From stdin.", hop(inline("Hina", "outlet")))))
        assert result.returncode == 0, result.stderr
        assert stored_texts(url) == ["From stdin."]

    def test_a_load_the_database_refuses_ends_in_one_line_and_stores_nothing(
        self, new_database: NewDatabase, tmp_path: Path
    ) -> None:
        url = new_database()

        async def break_chains() -> None:  # a trigger the rules know nothing of moves a hop to position 1
            conn = await db.connect(url)
            try:
                await conn.execute(
                    """CREATE FUNCTION test_shift() RETURNS trigger LANGUAGE plpgsql AS $$
                       BEGIN NEW.position := NEW.position + 1; RETURN NEW; END $$"""
                )
                await conn.execute(
                    "CREATE TRIGGER test_shift BEFORE INSERT ON hops FOR EACH ROW EXECUTE FUNCTION test_shift()"
                )
            finally:
                await conn.close()

        asyncio.run(break_chains())
        file = tmp_path / "claims.ndjson"
        file.write_text(ndjson(claim_body("Shifted.", hop(inline("Hina", "outlet"), "reports"))))
        result = run("import", str(file), url=url)
        assert result.returncode == 1
        assert "provenance import stopped, its transaction rolled back: " in result.stderr
        assert "hop positions" in result.stderr
        assert "Traceback" not in result.stderr
        assert stored_texts(url) == []

    def test_a_missing_file_fails_without_a_traceback(self, new_database: NewDatabase, tmp_path: Path) -> None:
        result = run("import", str(tmp_path / "absent.ndjson"), url=new_database())
        assert result.returncode == 1
        assert "absent.ndjson" in result.stderr
        assert "Traceback" not in result.stderr


# --- export, and the round trip --------------------------------------------------------------------

DOWNSTREAM = "Hina's report, as the Daily Bugle ran it."
FURTHER_DOWNSTREAM = "The Bugle's story, as the Weekly Echo retold it."
LATE_WIRE = "Dietz's words, as the Late Wire carried them."
RELINKED_KEY = "ukraine-makes-own-targeting-decisions"


async def _seed_with_upstream_links(url: str) -> None:
    """The seeds, two claims linking upstream in a row, and an old claim edited to link a newer one."""
    conn = await db.connect(url)
    try:
        await seeds.load(conn)
        upstream = str(seeds.seed_id("claim", "austin-initiated-call"))
        bugle = claim_body(
            DOWNSTREAM,
            hop(inline("Daily Bugle", "outlet", aliases=["The Bugle"], identifiers={"url": "https://bugle.example"})),
            {"cue": "citing", "upstream_claim_id": upstream},
            language="en",
            appeared_in={"url": "https://bugle.example/1", "published_at": "2024-06-26T08:00:00Z"},
            stated_at="2024-06-25T12:00:00+02:00",
        )
        bugle_id = (await claims_domain.create(conn, msgspec.convert(bugle, ClaimIn))).claim.id
        echo = claim_body(
            FURTHER_DOWNSTREAM,
            hop(inline("Weekly Echo", "outlet"), "reprints"),
            {"cue": "according to", "role": "newspaper", "upstream_claim_id": str(bugle_id)},
        )
        await claims_domain.create(conn, msgspec.convert(echo, ClaimIn))
        late = claim_body(LATE_WIRE, hop(inline("Late Wire", "outlet"), "reports"), hop(inline("Charlie Dietz")))
        late_id = (await claims_domain.create(conn, msgspec.convert(late, ClaimIn))).claim.id
        relinked = [
            hop(inline("Morning Post", "outlet"), "reports"),
            {"cue": "citing", "upstream_claim_id": str(late_id)},
        ]
        patch = msgspec.convert({"chain": relinked}, ClaimPatch)
        await history.edit(conn, seeds.seed_id("claim", RELINKED_KEY), patch, IfMatch("*"))
    finally:
        await conn.close()


def _portable(trace: dict[str, Any]) -> dict[str, Any]:
    """A trace without what a rebuilt database may number differently: source ids, relations, and who
    stored each claim (the importer, there)."""

    def summary(source: dict[str, Any] | None) -> tuple[str, str] | None:
        return (source["name"], source["kind"]) if source else None

    return {
        "claim": {**trace["claim"], "made": {**trace["claim"]["made"], "accepted_by": None}},
        "path": [(summary(h["source"]), h["cue"], h["role"], h["claim_id"]) for h in trace["path"]],
        "origin": (
            summary(trace["origin"]["source"]),
            trace["origin"]["role"],
            summary(trace["origin"]["on_behalf_of"]),
        ),
        "hops": trace["hops"],
        "anonymous_origin": trace["anonymous_origin"],
        "upstream_depth": trace["upstream_depth"],
        "truncated": trace["truncated"],
    }


async def _traces(url: str) -> dict[tuple[str, tuple[str, ...]], dict[str, Any]]:
    """Every claim's trace, keyed by its text and the source names of its path."""
    conn = await db.connect(url)
    try:
        ids = [r["id"] for r in await conn.fetch("SELECT id FROM claims ORDER BY seq")]
        found: dict[tuple[str, tuple[str, ...]], dict[str, Any]] = {}
        for claim_id in ids:
            trace = msgspec.to_builtins(await traces.trace(conn, claim_id, 32))
            found[(trace["claim"]["text"], tuple(h["source"]["name"] for h in trace["path"]))] = _portable(trace)
        return found
    finally:
        await conn.close()


async def _hop_sources(url: str) -> dict[str, Any]:
    """Every source a hop names, with its aliases, details and affiliations, by name."""
    conn = await db.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT d.* FROM source_documents d WHERE d.id IN (SELECT source_id FROM hops) ORDER BY d.name"
        )
        return {
            r["name"]: (
                r["kind"],
                sorted(r["aliases"]),
                r["description"],
                r["identifiers"],
                sorted((a["organization"]["name"], a["role"], a["since"], a["until"]) for a in r["affiliations"]),
            )
            for r in rows
        }
    finally:
        await conn.close()


class RoundTrip(msgspec.Struct):
    original: str
    rebuilt: str
    exported: subprocess.CompletedProcess[str]
    imported: subprocess.CompletedProcess[str]


@pytest.fixture(scope="module")
def round_trip(new_database: NewDatabase) -> RoundTrip:
    """The seeds plus two upstream links in one database, exported and imported into an empty one."""
    original, rebuilt = new_database(), new_database()
    asyncio.run(_seed_with_upstream_links(original))
    exported = run("export", url=original)
    assert exported.returncode == 0, exported.stderr
    imported = run("import", "-", url=rebuilt, input=exported.stdout)
    return RoundTrip(original, rebuilt, exported, imported)


class TestExport:
    def test_export_writes_one_claim_line_per_claim_oldest_first(self, round_trip: RoundTrip) -> None:
        lines = [msgspec.json.decode(line, type=ClaimLine) for line in round_trip.exported.stdout.splitlines()]
        count = asyncio.run(_count(round_trip.original, "SELECT count(*) FROM claims"))
        assert len(lines) == count
        assert f"exported {count} claim(s)" in round_trip.exported.stderr
        assert lines[0].id == str(seeds.seed_id("claim", "austin-belousov-discussed-open-lines"))
        assert [line.text for line in lines[-4:-1]] == [DOWNSTREAM, FURTHER_DOWNSTREAM, LATE_WIRE]
        linking = lines[-4].chain[-1]
        assert linking.upstream_claim_id == str(seeds.seed_id("claim", "austin-initiated-call"))
        assert linking.source is None
        assert lines[-4].chain[0].source is not None
        assert lines[-4].chain[0].source.aliases == ["The Bugle"]

    def test_a_claim_edited_to_link_a_newer_one_comes_after_it(self, round_trip: RoundTrip) -> None:
        lines = [msgspec.json.decode(line, type=ClaimLine) for line in round_trip.exported.stdout.splitlines()]
        assert lines[-1].id == str(seeds.seed_id("claim", RELINKED_KEY))
        assert lines[-1].chain[-1].upstream_claim_id == lines[-2].id

    def test_export_then_import_into_an_empty_database_gives_the_same_traces(self, round_trip: RoundTrip) -> None:
        assert round_trip.imported.returncode == 0, round_trip.imported.stderr
        before, after = asyncio.run(_traces(round_trip.original)), asyncio.run(_traces(round_trip.rebuilt))
        assert len(before) >= 32
        assert after == before
        bugle = after[(DOWNSTREAM, ("Daily Bugle", "Hina", "Reuters", "Patrick Ryder"))]
        assert bugle["origin"] == (("Patrick Ryder", "person"), "spokesman", ("Pentagon", "organization"))
        assert bugle["upstream_depth"] == 1
        assert after[(FURTHER_DOWNSTREAM, ("Weekly Echo", "Daily Bugle", "Hina", "Reuters", "Patrick Ryder"))]

    def test_the_sources_named_in_chains_come_back_with_aliases_and_affiliations(self, round_trip: RoundTrip) -> None:
        assert asyncio.run(_hop_sources(round_trip.rebuilt)) == asyncio.run(_hop_sources(round_trip.original))

    def test_importing_the_same_export_again_skips_every_claim(self, round_trip: RoundTrip) -> None:
        again = run("import", "-", url=round_trip.rebuilt, input=round_trip.exported.stdout)
        assert again.returncode == 0, again.stderr
        count = asyncio.run(_count(round_trip.rebuilt, "SELECT count(*) FROM claims"))
        assert f"imported 0 claim(s), 0 line(s) failed, {count} already stored" in again.stdout

    def test_output_writes_the_file_and_nothing_to_stdout(self, round_trip: RoundTrip, tmp_path: Path) -> None:
        target = tmp_path / "claims.ndjson"
        result = run("export", "--output", str(target), url=round_trip.original)
        assert result.returncode == 0, result.stderr
        assert result.stdout == ""
        assert target.read_text() == round_trip.exported.stdout
        assert [p.name for p in tmp_path.iterdir()] == ["claims.ndjson"]
