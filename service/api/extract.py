"""``POST /extract``: an article's text in, its attribution chains and the claims they make out; nothing stored."""

from __future__ import annotations

import json
from pathlib import Path

from litestar import post
from litestar.params import JSONBody

from service.api.connections import Conn
from service.api.examples import example, with_examples
from service.api.problems import problems
from service.domain import extraction
from service.model import ARTICLE_MAX_CHARS, ExtractIn, Extraction

# A real answer: the model's reading of the seed article's three-hop sentence against the seeded
# sources, recorded by tests/test_extract.py (PROVENANCE_RECORD_EXAMPLES=1), which checks it stays true.
EXAMPLE_FILE = Path(__file__).with_name("extract_example.json")
EXAMPLE_TEXT = (
    "Austin initiated the conversation and it was the first such call since March 2023, Pentagon "
    "spokesman Patrick Ryder told reporters, Hina reports, citing Reuters."
)


def _examples() -> dict[str, object]:
    if not EXAMPLE_FILE.exists():
        return {}
    recorded = json.loads(EXAMPLE_FILE.read_text(encoding="utf-8"))
    return {"seed": example("The seed article's three-hop sentence, its sources seeded", recorded)}


EXTRACT_MAX_BODY_BYTES = 12 * ARTICLE_MAX_CHARS + 65_536
"""The largest body ``POST /extract`` takes: the longest text allowed with every character written as
the longest JSON has for one (a surrogate pair of escapes, ``\\ud83c\\udffb``: 12 bytes), and room for
the rest. Below it, a text over ``ARTICLE_MAX_CHARS`` is a 422 naming ``text``, as the schema says,
rather than a 413 for its bytes; ``PROVENANCE_MAX_BODY_BYTES`` (1 MiB) would cut off a text of 100,000
characters written that way."""


@post(
    "/extract",
    operation_id="extractClaims",
    operation_class=with_examples(
        request={"seed": example("A sentence of the seed article", {"text": EXAMPLE_TEXT})},
        response=_examples(),  # type: ignore[arg-type]
    ),
    summary="Read the attribution chains out of an article",
    description="Finds every attribution in an English article (who said what, through whom), at every level "
    "of nesting, and proposes the claims it makes: each a ready `POST /claims` body, with where each hop "
    "came from in the text, the stored source proposed for its speaker (`stored` with its id, `ambiguous` "
    "with candidates, never guessed, or `new`) and a `confidence` to accept by. Nothing is stored. Offsets are "
    "Unicode code points of `text`. The text may hold up to 100,000 characters; only `en` is read.",
    tags=["claims"],
    status_code=200,
    opt={"scope": "read"},
    responses=problems(401, 403, 422),
    request_max_body_size=EXTRACT_MAX_BODY_BYTES,
)
async def extract_claims(conn: Conn, data: JSONBody[ExtractIn]) -> Extraction:
    return await extraction.extract(conn, data)
