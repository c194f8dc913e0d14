"""The process that resolves an initial load's batches: it answers in order, and a failure inside it, or
its death, reaches the load as an error instead of a wait without end."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import msgspec
import pytest

from service.imports import worker as resolver
from service.imports.store import StoredFacts
from tests.helpers import claim_body, hop, inline

NOTHING_STORED = StoredFacts(set(), {}, {}, {}, set())


def numbered(*bodies: dict[str, object]) -> list[tuple[int, bytes]]:
    return [(n, msgspec.json.encode(body)) for n, body in enumerate(bodies, start=1)]


class TestResolver:
    async def test_it_parses_resolves_and_answers_each_line_in_order(self) -> None:
        with resolver.started("import") as resolving:
            segment = numbered(claim_body("One.", hop(inline("Hina", "outlet"))), {"text": "no chain"})
            resolving.resolve(1, segment, datetime.now(UTC), head=(0, None), stored=NOTHING_STORED)
            resolved = await resolving.resolved(1)
        assert resolved.outcomes[0] is True
        assert resolved.outcomes[1].number == 2 and resolved.outcomes[1].problem["status"] == 422
        assert [copy.table for copy in resolved.copies] == [
            "sources", "source_aliases", "source_name_tokens", "staged_token_deletes", "affiliations",
            "claims", "hops", "claim_revisions", "audit_log",
        ]  # fmt: skip

    async def test_each_batch_finds_what_the_batches_before_it_store(self) -> None:
        first, second = uuid.uuid4(), uuid.uuid4()
        with resolver.started("import") as resolving:
            one = numbered({**claim_body("One.", hop(inline("Hina", "outlet"))), "id": str(first)})
            resolving.resolve(1, one, datetime.now(UTC), head=(0, None), stored=NOTHING_STORED)
            linked = hop(inline("Hina", "outlet"), upstream_claim_id=str(first))
            two = numbered(
                {**claim_body("One.", hop(inline("Hina", "outlet"))), "id": str(first)},  # already stored
                {**claim_body("Two.", linked), "id": str(second)},
            )
            resolving.resolve(2, two, datetime.now(UTC))
            resolved = await resolving.resolved(1), await resolving.resolved(2)
        assert resolved[1].outcomes == [False, True]
        # Hina was made by the first batch: the second stores no source, and chains its entry after the first's.
        assert [copy.table for copy in resolved[1].copies] == ["claims", "hops", "claim_revisions", "audit_log"]

    async def test_a_request_it_cannot_answer_stops_it_and_says_why(self) -> None:
        with pytest.raises(resolver.WorkerFailed, match="AssertionError"), resolver.started("import") as resolving:
            resolving.resolve(1, numbered(claim_body("One.", hop(inline("Hina", "outlet")))), datetime.now(UTC))
            await resolving.resolved(1)  # nothing said what is stored

    async def test_its_death_is_an_error_not_a_wait(self) -> None:
        with pytest.raises(resolver.WorkerFailed, match="died"), resolver.started("import") as resolving:
            resolving._process.kill()
            await resolving.resolved(1)
