"""``/audit``: the tamper-evident log of every write, its head to publish, and its verification."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get
from litestar.params import Parameter

from service.api import examples
from service.api.connections import Conn
from service.api.examples import with_examples
from service.api.pagination import DEFAULT_LIMIT, Cursor, Limit, decode_cursor, encode_cursor, next_link
from service.api.params import UUID_FORMAT
from service.api.problems import problems
from service.domain import audit as domain
from service.domain.ids import field_id
from service.model import AuditHead, AuditPage, AuditVerification


class AuditController(Controller):
    """The audit log: a hash chain with one entry per write."""

    path = "/audit"
    tags = ["audit"]

    @get(
        operation_id="listAuditEntries",
        operation_class=with_examples(response=examples.AUDIT_PAGE_ANSWER),
        summary="List audit entries",
        description="Every write as an entry of the hash chain, oldest first: its `seq`, `actor`, time, "
        "`action`, the entity written and the `change`, with `prev_hash` and `hash` in hex. `entity` "
        "keeps the entries of one claim, source, relation, review or API key.",
        responses=problems(400, 422),
    )
    async def list_audit_entries(
        self,
        request: Request[Any, Any, Any],
        conn: Conn,
        entity: Annotated[
            str | None,
            Parameter(max_length=100, description="Only entries of the entity with this id.", schema_extra=UUID_FORMAT),
        ] = None,
        limit: Limit = DEFAULT_LIMIT,
        cursor: Cursor = None,
    ) -> Response[AuditPage]:
        entity_id = field_id(entity, "entity") if entity is not None else None
        after = decode_cursor(cursor, "audit", (int,))
        await domain.seal(conn)
        items = await domain.page(conn, entity_id=entity_id, after_seq=after[0] if after else 0, limit=limit + 1)
        next_cursor = encode_cursor("audit", items[limit - 1].seq) if len(items) > limit else None
        return Response(
            AuditPage(items=items[:limit], next_cursor=next_cursor), headers=next_link(request, next_cursor)
        )

    @get(
        "/head",
        operation_id="getAuditHead",
        operation_class=with_examples(response=examples.AUDIT_HEAD_ANSWER),
        summary="The size and head hash of the audit log",
        description="How many entries the log holds and the last one's hash. Publish both elsewhere "
        "(a transparency log, a newsletter, a commit): a log that later disagrees with a published "
        "head, or no longer reaches it, was rewritten.",
        responses=problems(),
    )
    async def get_audit_head(self, conn: Conn) -> AuditHead:
        await domain.seal(conn)
        return await domain.head(conn)

    @get(
        "/verify",
        operation_id="verifyAuditLog",
        operation_class=with_examples(response=examples.AUDIT_VERIFICATION_ANSWER),
        summary="Verify the audit log",
        description="Recomputes the chain from entry 1 on, from the stored bytes of each entry: its seq "
        "follows the one before, its `prev_hash` is the hash before it, its `hash` is SHA-256 of that "
        "and its body, and its stored fields are those of its body. Answers 200 either way: "
        '`{"ok": true, "entries": N, "head": ...}`, or `{"ok": false, "entries": N, "broken_at": seq, '
        '"reason": ...}` naming the first entry that does not hold. Reads the whole log.',
        responses=problems(),
    )
    async def verify_audit_log(self, conn: Conn) -> AuditVerification:
        await domain.seal(conn)
        return await domain.verify(conn)
