"""The process that resolves an initial load's batches: it answers in order, and a failure inside it, or
its death, reaches the load as an error instead of a wait without end."""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec
import pytest

from service.domain import resolver
from service.repositories.imports import StoredFacts
from tests.conftest import claim_body, hop, inline

NOTHING_STORED = StoredFacts(set(), {}, {}, {}, set())


def numbered(*bodies: dict[str, object]) -> list[tuple[int, bytes]]:
    return [(n, msgspec.json.encode(body)) for n, body in enumerate(bodies, start=1)]


class TestResolver:
    async def test_it_parses_resolves_and_answers_each_line_in_order(self) -> None:
        with resolver.started("import") as resolving:
            resolving.parse(0, numbered(claim_body("One.", hop(inline("Hina", "outlet"))), {"text": "no chain"}))
            want = await resolving.wanted(0)
            facts = StoredFacts(set(), {key: [] for key in want.keys}, {}, {}, set())
            resolving.resolve(0, facts, datetime.now(UTC), (0, None))
            resolved = await resolving.resolved(0)
        assert want.keys == ["hina"]
        assert resolved.outcomes[0] is True
        assert resolved.outcomes[1].number == 2 and resolved.outcomes[1].problem["status"] == 422
        assert [copy.table for copy in resolved.copies] == [
            "sources", "source_aliases", "source_name_tokens", "staged_token_deletes", "affiliations",
            "claims", "hops", "claim_revisions", "audit_log",
        ]  # fmt: skip

    async def test_a_request_it_cannot_answer_stops_it_and_says_why(self) -> None:
        with pytest.raises(resolver.ResolverFailed, match="AssertionError"), resolver.started("import") as resolving:
            resolving.again(0, NOTHING_STORED, datetime.now(UTC), (0, None))  # nothing was resolved before
            await resolving.resolved(0)

    async def test_its_death_is_an_error_not_a_wait(self) -> None:
        with pytest.raises(resolver.ResolverFailed, match="died"), resolver.started("import") as resolving:
            resolving._process.kill()
            await resolving.wanted(0)
