"""Schemathesis hooks for ``make fuzz`` (loaded through ``schemathesis.toml``).

One hook only: the ``positive_data_acceptance`` check expects a schema-valid request to succeed, but
some 422s answer rules no JSON Schema can state: an id that names nothing stored, a field that must
differ from the path's id, a rating's scale, an opaque cursor. Those failures, and only those, are
dropped here, each matched by what the service's problem says, so a 422 for any other reason (a
constraint the schema could state but does not) still fails the run. Below them, a guard around one
of Schemathesis's own functions (read why there).
"""

from __future__ import annotations

import re
from typing import Any

import schemathesis
from schemathesis.engine import observations


# POST /claims/import takes NDJSON, documented as a binary string, which Schemathesis cannot serialize
# by itself: generated bodies are bytes, sent as they are; the document's examples are text, encoded.
@schemathesis.serializer("application/x-ndjson")
def ndjson(context: Any, value: Any) -> bytes:
    """An NDJSON body as it is sent."""
    return value if isinstance(value, bytes) else str(value).encode()


RULES_NO_SCHEMA_STATES = [
    re.compile(rule)
    for rule in (
        # stored data: an id of the right form that nothing stored has, a stored name or kind
        r"no (source|claim) has this id$",
        r"matches several sources$",
        r"this source was itself merged into \S+; merge into that one$",
        r"is an? \w+, not an organization or outlet$",
        # a body field that must differ from the path's id (or from the source itself)
        r"a source cannot be merged into itself$",
        r"a claim cannot be related to itself$",
        r"a source cannot be affiliated to itself$",
        # rules across fields or positions
        r"only the last hop of a chain may link an upstream claim$",
        r"the hop linking an upstream claim must name that claim's first source$",
        r"give (best with worst|worst with best)$",
        r"worst must be below best$",
        r"a value needs best and worst$",
        r"the value must lie from \S+ to \S+$",
        r"an affiliation's since must not be after its until$",
        r"until is before since$",
        # an Idempotency-Key the fuzzer sent before with another request: state no schema can state
        r"^already used for another request$",
        # an opaque cursor: only a next_cursor the service wrote is one
        r"not a cursor of this list$",
        # "a letter or digit" in any script: JSON Schema's regex dialect (ECMA-262) has no class for it
        # that a Python-based generator reads alike (\w is ASCII there, \p{L} unknown to Python's re)
        r"needs at least one letter or digit$",
        # a time range on date-time strings: JSON Schema has none
        r"^a time from 0001-01-02 to 9999-12-30 in UTC$",
        # PostgreSQL stores no U+0000 in text or jsonb; JSON Schema can exclude it only field by field
        r"^a value cannot be stored: (unsupported Unicode escape sequence|invalid byte sequence .*0x00)$",
    )
]


def _what_it_says(response: Any) -> list[str]:
    """The messages of a problem's ``errors``, else its ``detail``."""
    try:
        body = response.json()
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    errors = [str(e.get("message", "")) for e in body.get("errors") or [] if isinstance(e, dict)]
    return errors or [str(body.get("detail", ""))]


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but a schema-valid request's 422 for a rule the schema cannot state."""
    if failure.code != "ST202" or response.status_code != 422:
        return True
    messages = _what_it_says(response)
    return not (messages and all(any(r.search(m) for r in RULES_NO_SCHEMA_STATES) for m in messages))


# Schemathesis 4.32 scans every string of a 2xx JSON answer for links to follow and hands those that
# start with http:// or https:// to urlsplit, which raises ValueError on a bracket that opens no IPv6
# host ("http://[x"). Free text the service stores and echoes (a claim's text, a piece's address) can
# begin so, and the raise ended the whole run as an engine error. Such a string is no link: it is
# skipped, as any string that names no path of this origin is.
_same_origin_path = observations._same_origin_path


def _same_origin_path_or_none(value: str, origin: tuple[str, str]) -> str | None:
    try:
        return _same_origin_path(value, origin)
    except ValueError:
        return None


observations._same_origin_path = _same_origin_path_or_none
