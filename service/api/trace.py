"""``/trace``: trace any free-text statement to the stored claims that best match it."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.di import NamedDependency
from litestar.params import Parameter

from service.api.connections import Conn
from service.api.examples import STATEMENT_TRACE_ANSWER, with_examples
from service.api.problems import problems
from service.domain import traces
from service.model import StatementTrace
from service.settings import AppSettings

Statistics = NamedDependency[traces.StemStatistics]
"""A handler parameter receiving the app's statistics of stems, shared by its requests."""


@get(
    "/trace",
    operation_id="traceStatement",
    operation_class=with_examples(response=STATEMENT_TRACE_ANSWER),
    summary="Trace any statement",
    description="Ranks stored claims by how well they match a free text (full-text search over folded "
    "text: case, accents and punctuation do not matter; partial quotes and paraphrases sharing words "
    "match) and returns the best `limit`, each with a `score` in [0, 1] and its full trace. Retracted "
    "claims are left out unless `include_retracted=true`. No match is an empty list.",
    tags=["trace"],
    responses=problems(400, 422),
)
async def trace_statement(
    conn: Conn,
    settings: AppSettings,
    statistics: Statistics,
    statement: Annotated[
        str,
        Parameter(
            min_length=1,
            max_length=2000,
            description="Free text: a quote, a paraphrase (a letter or digit at least).",
        ),
    ],
    limit: Annotated[int, Parameter(ge=1, le=50, description="How many matches, 1 to 50.")] = 5,
    include_retracted: Annotated[
        bool, Parameter(description="Also match retracted claims (each trace shows its `status`).")
    ] = False,
) -> StatementTrace:
    items = await traces.trace_statement(
        conn, statement, limit, settings.trace_max_depth, include_retracted=include_retracted, statistics=statistics
    )
    return StatementTrace(statement=statement, items=items)
