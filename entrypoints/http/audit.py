"""The audit log: query, export, verify the chain (admin)."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated, Literal

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, QueryParameter
from litestar.response import Stream

from application.ports import AuditQuery
from application.use_cases.audit_log import ExportAudit, ExportFormat, QueryAudit, VerifyAudit, record_fields
from domain.audit import Outcome
from domain.roles import Actor
from entrypoints.http.pagination import decode_cursor, paginate
from entrypoints.http.parameters import Limit, Moment, SeqCursor
from entrypoints.http.response_specs import api_responses
from entrypoints.http.schemas.audit import AuditPage, AuditRecordOut, VerifyOut
from entrypoints.http.schemas.common import SINGLE_LINE, out, utc

Filter = Annotated[str | None, QueryParameter(min_length=1, max_length=64, pattern=SINGLE_LINE)]


def provide_audit_query(
    actor: NamedDependency[Actor],  # authenticated first: an unknown caller gets 401, never a verdict on its filters
    action: Filter = None,
    actor_name: Annotated[
        str | None, QueryParameter(name="actor", min_length=1, max_length=64, pattern=SINGLE_LINE)
    ] = None,
    customer_id: Filter = None,
    run_id: Filter = None,
    outcome: FromQuery[Outcome | None] = None,
    since: Moment = None,
    until: Moment = None,
    limit: Limit = 50,
    cursor: SeqCursor = None,
    order: FromQuery[Literal["desc", "asc"]] = "desc",
) -> AuditQuery:
    """The audit filters shared by the list and the export (which always walks in seq order: the chain's)."""
    after = decode_cursor(cursor, int)[0] if cursor else None
    return AuditQuery(
        action,
        actor_name,
        customer_id,
        run_id,
        outcome,
        utc(since, "since"),
        utc(until, "until"),
        limit,
        after,
        newest_first=order == "desc",
    )


class AuditController(Controller):
    path = "/audit"
    tags = ("audit",)
    dependencies = {"audit_query": Provide(provide_audit_query, sync_to_thread=False)}  # noqa: RUF012  (Litestar reads it per class)

    @get("/", operation_id="queryAudit", responses=api_responses(400, 403))
    async def query_audit(
        self,
        actor: NamedDependency[Actor],
        query_audit: NamedDependency[QueryAudit],
        audit_query: NamedDependency[AuditQuery],
    ) -> AuditPage:
        records = await query_audit.execute(actor, replace(audit_query, limit=audit_query.limit + 1))
        page, next_cursor = paginate(records, audit_query.limit, lambda r: (r.seq,))
        return AuditPage([out(record_fields(r), AuditRecordOut) for r in page], next_cursor)

    @get("/export", operation_id="exportAudit", responses=api_responses(400, 403))
    async def export_audit(
        self,
        actor: NamedDependency[Actor],
        export_audit: NamedDependency[ExportAudit],
        audit_query: NamedDependency[AuditQuery],
        format: FromQuery[ExportFormat] = ExportFormat.JSONL,
    ) -> Stream:
        lines = await export_audit.execute(actor, replace(audit_query, newest_first=False), format)
        media = "text/csv" if format is ExportFormat.CSV else "application/jsonl"
        return Stream(
            lines, media_type=media, headers={"Content-Disposition": f'attachment; filename="audit.{format.value}"'}
        )

    @get("/verify", operation_id="verifyAudit", responses=api_responses(403))
    async def verify_audit(
        self, actor: NamedDependency[Actor], verify_audit: NamedDependency[VerifyAudit]
    ) -> VerifyOut:
        return out(await verify_audit.execute(actor), VerifyOut)
