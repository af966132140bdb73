"""Run Checks, the operator's home: runs with their ticket actions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Controller, Request, get, post
from litestar.background_tasks import BackgroundTask
from litestar.datastructures import FormMultiDict, MultiDict
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from application.errors import UseCaseError
from application.ports import RunQuery
from application.use_cases.create_ticket import CreateTicket
from application.use_cases.list_customers import ListCustomerNames
from application.use_cases.preview_ticket import PreviewTicket
from application.use_cases.refresh_tickets import RefreshTickets
from application.use_cases.resolve_ticket import ResolveTicket
from application.use_cases.view_runs import GetRun, ListRuns
from domain.roles import Actor, Permission
from domain.runs import RunStatus
from domain.tickets import LinkState
from entrypoints.shared.pagination import decode_cursor, paginate
from entrypoints.shared.parameters import RunId
from entrypoints.web import words
from entrypoints.web.plumbing import day_bound, done, page, request_settings
from entrypoints.web.run_rows import run_rows

PAGE_SIZE = 25
DEFAULT_STATUSES = ("error", "warning", "missed")
CUSTOMER_CHOICES = 2_000
"""The customer filter offers this many customers (ids and names, no mappings); any other id can be typed."""
PREVIEW_LINES = 12


class RunPages(Controller):
    path = "/runs"

    @get("/", name="runs")
    async def runs(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        list_runs: NamedDependency[ListRuns],
        list_customer_names: NamedDependency[ListCustomerNames],
        refresh_tickets: NamedDependency[RefreshTickets],
    ) -> Template:
        q = request.query_params
        filtered = q.get("f") == "1"
        statuses = (
            [s for s in q.getall("status", []) if s in RunStatus.__members__.values()]
            if filtered
            else list(DEFAULT_STATUSES)
        )
        customer_id = q.get("customer") or None
        has_ticket = {"yes": True, "no": False}.get(q.get("ticket") or "")
        try:
            after = decode_cursor(q["cursor"], datetime, str) if q.get("cursor") else None
        except UseCaseError:
            after = None
        query = RunQuery(
            frozenset(RunStatus(s) for s in statuses),
            customer_id,
            has_ticket,
            day_bound(q.get("since"), end=False),
            day_bound(q.get("until"), end=True),
            PAGE_SIZE + 1,
            (after[0], after[1]) if after else None,
        )
        views, next_cursor = paginate(
            await list_runs.execute(web_actor, query, request_settings(request)),
            PAGE_SIZE,
            lambda v: (v.run.run_at, v.run.id),
        )
        customers = await list_customer_names.execute(web_actor, CUSTOMER_CHOICES)
        linked = [v.run.id for v in views if v.ticket is not None and v.ticket.state is LinkState.LINKED]
        background = None
        if linked and web_actor.may(Permission.MANAGE_TICKETS):
            background = BackgroundTask(refresh_tickets.on_page_view, web_actor, linked)  # at most one per interval
        next_query = None
        if next_cursor:
            params = [(k, v) for k, v in q.multi_items() if k != "cursor"]
            if not filtered:
                params = [("f", "1"), *(("status", s) for s in statuses)]
            next_query = [*params, ("cursor", next_cursor)]
        return page(
            request,
            "runs.html",
            web_actor,
            background=background,
            views=run_rows(views),
            customers=customers,
            statuses=statuses,
            all_statuses=[s.value for s in RunStatus],
            customer_id=customer_id,
            ticket=q.get("ticket") or "",
            since=q.get("since") or "",
            until=q.get("until") or "",
            next_query=next_query,
            refreshing=background is not None,
            single=False,
        )

    @get("/{run_id:str}", name="run")
    async def run(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        get_run: NamedDependency[GetRun],
        run_id: RunId,
    ) -> Template:
        """One run (the "Reference" link in its Autotask ticket points here)."""
        view = await get_run.execute(web_actor, run_id, request_settings(request))
        return page(
            request, "runs.html", web_actor, views=run_rows([view]), single=True, refreshing=False, next_query=None
        )

    @get("/{run_id:str}/ticket/new", name="ticket_preview")
    async def preview(
        self,
        request: Request[Any, Any, Any],
        web_actor: NamedDependency[Actor],
        preview_ticket: NamedDependency[PreviewTicket],
        run_id: RunId,
    ) -> Template | Redirect:
        """The ticket a create would send, to confirm before anything reaches Autotask."""
        back = _back(request.query_params)
        try:
            preview = await preview_ticket.execute(web_actor, run_id)
        except UseCaseError as error:
            return done(back, "error", words.failed(error, "preparing the ticket"))
        lines = preview.draft.description.splitlines()
        return page(
            request,
            "ticket_new.html",
            web_actor,
            run_id=run_id,
            preview=preview,
            first_lines="\n".join(lines[:PREVIEW_LINES]),
            more_lines=max(len(lines) - PREVIEW_LINES, 0),
            back_to=back,
        )

    @post("/{run_id:str}/ticket", name="ticket_create")
    async def create(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        create_ticket: NamedDependency[CreateTicket],
        run_id: RunId,
    ) -> Redirect:
        back = _back(form)
        try:
            kind, text = words.created(await create_ticket.execute(web_actor, run_id))
        except UseCaseError as error:
            return done(back, "error", words.failed(error, "creating the ticket"))
        return done(back, kind, text)

    @post("/{run_id:str}/ticket/resolve", name="ticket_resolve")
    async def resolve(
        self,
        web_actor: NamedDependency[Actor],
        form: NamedDependency[FormMultiDict],
        resolve_ticket: NamedDependency[ResolveTicket],
        run_id: RunId,
    ) -> Redirect:
        back = _back(form)
        try:
            link = await resolve_ticket.execute(web_actor, run_id)
        except UseCaseError as error:
            return done(back, "error", words.failed(error, "resolving the ticket"))
        return done(back, "ok", f"Ticket {words.ticket_name(link)} was resolved in Autotask with the closing note.")


def _back(form: FormMultiDict | MultiDict[str]) -> str:
    """Where a form came from (only our own Run Checks pages, never another site)."""
    back = form.get("back")
    return (
        back
        if isinstance(back, str) and back.startswith("/runs") and "//" not in back and "\\" not in back
        else "/runs"
    )
