"""The benchmark's corpus generator: repeatable, valid ``provenance import`` lines, and the shape it promises."""

from __future__ import annotations

import io
import subprocess
import sys
from collections import Counter
from pathlib import Path

import msgspec
import pytest

from bench import corpus
from service.domain.names import fold
from service.imports.lines import ClaimLine

CLAIMS = 3000


def generate(claims: int = CLAIMS, seed: int = 42) -> bytes:
    out = io.BytesIO()
    corpus.write(claims, seed, out)
    return out.getvalue()


@pytest.fixture(scope="module")
def lines() -> list[ClaimLine]:
    decoder = msgspec.json.Decoder(ClaimLine)
    return [decoder.decode(line) for line in generate().splitlines()]


class TestRepeatable:
    def test_the_same_seed_gives_the_same_bytes(self) -> None:
        assert generate(500, 7) == generate(500, 7)

    def test_another_seed_gives_another_corpus(self) -> None:
        assert generate(500, 7) != generate(500, 8)

    def test_the_command_writes_what_the_function_does_and_samples_change_nothing(self, tmp_path: Path) -> None:
        output, samples = tmp_path / "corpus.ndjson", tmp_path / "samples.json"
        command = [sys.executable, "-m", "bench.corpus", "--claims", "400", "--seed", "3"]
        subprocess.run([*command, "--output", str(output), "--samples", str(samples)], check=True, timeout=60)
        to_stdout = subprocess.run(command, check=True, capture_output=True, timeout=60).stdout
        assert output.read_bytes() == to_stdout == generate(400, 3)


class TestShape:
    def test_every_line_is_an_import_line_with_an_id_of_its_own(self, lines: list[ClaimLine]) -> None:
        assert len(lines) == CLAIMS
        assert len({line.id for line in lines}) == CLAIMS

    def test_chains_have_1_to_8_hops_and_texts_8_to_60_words(self, lines: list[ClaimLine]) -> None:
        assert {len(line.chain) for line in lines} == set(range(1, 9))
        assert {len(line.text.split()) for line in lines} <= set(range(8, 61))

    def test_about_a_third_link_an_earlier_claim_no_deeper_than_6(self, lines: list[ClaimLine]) -> None:
        depth: dict[str | None, int] = {}
        for line in lines:
            upstream = line.chain[-1].upstream_claim_id
            assert all(hop.upstream_claim_id is None for hop in line.chain[:-1])
            if upstream is None:
                depth[line.id] = 0
            else:
                assert upstream in depth, "an upstream claim comes earlier in the file"
                assert line.chain[-1].source is None
                depth[line.id] = depth[upstream] + 1
        linking = sum(1 for d in depth.values() if d > 0)
        assert 0.28 < linking / CLAIMS < 0.39
        assert max(depth.values()) <= 6
        assert max(depth.values()) >= 4

    def test_a_few_agencies_carry_a_large_share_of_the_hops_and_people_are_a_long_tail(
        self, lines: list[ClaimLine]
    ) -> None:
        named = Counter(hop.source.name for line in lines for hop in line.chain if hop.source is not None)
        assert [name for name, _ in named.most_common(3)] == ["Reuters", "AP", "AFP"]
        people = {hop.source.name for line in lines for hop in line.chain if hop.source and hop.source.kind == "person"}
        assert len(people) > 200

    def test_a_source_is_named_whole_once_and_no_two_sources_share_a_key(self, lines: list[ClaimLine]) -> None:
        owner: dict[str, str] = {}
        for line in lines:
            for hop in line.chain:
                if hop.source is None or not (hop.source.aliases or hop.source.affiliations):
                    continue
                for name in [hop.source.name, *hop.source.aliases]:
                    assert owner.setdefault(fold(name), hop.source.name) == hop.source.name
        assert len(owner) > 500


def test_samples_name_claims_phrases_and_sources_of_the_corpus(tmp_path: Path) -> None:
    samples = corpus.Samples(CLAIMS, 42)
    written = corpus.write(CLAIMS, 42, io.BytesIO(), samples)
    document = samples.document(written)
    texts = {line["id"]: line["text"] for line in map(msgspec.json.decode, generate().splitlines())}
    assert len(document["claim_ids"]) == corpus.SAMPLE_IDS
    assert set(document["claim_ids"]) <= texts.keys()
    assert len(document["phrases"]) == corpus.SAMPLE_PHRASES
    assert all(p["text"] in texts[p["claim_id"]] for p in document["phrases"])
    assert document["deep_claim_ids"] and set(document["deep_claim_ids"]) <= texts.keys()
    assert document["sources"][0] == {"name": "Reuters", "kind": "outlet"}
