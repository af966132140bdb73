"""The admin's audit log page: filtered, paged, verified and exported."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from litestar import Controller, Request, get
from litestar.di import NamedDependency
from litestar.response import Stream, Template

from application.ports import AuditQuery
from application.use_cases.audit_log import ExportAudit, ExportFormat, QueryAudit, VerifyAudit, record_fields
from domain.audit import ChainCheck, Outcome
from domain.roles import Actor
from entrypoints.web.plumbing import day_bound, page, whole_number

AUDIT_PAGE = 50


def _audit_query(request: Request[Any, Any, Any], limit: int) -> AuditQuery:
    q = request.query_params

    def text(name: str) -> str | None:
        return (q.get(name) or "").strip()[:64] or None

    outcome = q.get("outcome") or ""
    return AuditQuery(
        text("action"),
        text("actor"),
        text("customer_id"),
        text("run_id"),
        Outcome(outcome) if outcome in Outcome.__members__.values() else None,
        day_bound(q.get("since"), end=False),
        day_bound(q.get("until"), end=True),
        limit,
        whole_number(q.get("after")),
    )


class AuditPages(Controller):
    path = "/audit"

    @get("/", name="audit")
    async def audit(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        query_audit: NamedDependency[QueryAudit],
        verify_audit: NamedDependency[VerifyAudit],
    ) -> Template:
        query = replace(_audit_query(request, AUDIT_PAGE + 1), newest_first=True)  # the newest an admin looks for
        records = await query_audit.execute(web_actor, query)
        check: ChainCheck | None = None
        if request.query_params.get("verify") == "1":
            check = await verify_audit.execute(web_actor)
        filters = [(k, v) for k, v in request.query_params.multi_items() if k not in ("after", "verify") and v]
        next_query = [*filters, ("after", records[AUDIT_PAGE - 1].seq)] if len(records) > AUDIT_PAGE else None
        return page(
            request,
            "audit.html",
            web_actor,
            records=[record_fields(r) for r in records[:AUDIT_PAGE]],
            check=check,
            filters=dict(filters),
            filter_query=filters,
            next_query=next_query,
            outcomes=[o.value for o in Outcome],
        )

    @get("/export", name="audit_export")
    async def export(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        export_audit: NamedDependency[ExportAudit],
    ) -> Stream:
        fmt = ExportFormat.CSV if request.query_params.get("format") == "csv" else ExportFormat.JSONL
        lines = await export_audit.execute(web_actor, _audit_query(request, AUDIT_PAGE), fmt)
        return Stream(
            lines,
            media_type="text/csv" if fmt is ExportFormat.CSV else "application/jsonl",
            headers={"Content-Disposition": f'attachment; filename="audit.{fmt.value}"'},
        )
