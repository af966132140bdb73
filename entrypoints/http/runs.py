"""Runs and their tickets: runs written by Backupchecks core (admin), read by every role; tickets created, read,
resolved and polled by admins and operators. Roles are checked by the use cases (so a refusal is audited), not here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody, QueryParameter

from application.errors import (
    AlreadyClosed,
    InvalidInput,
    MappingInvalid,
    MappingMissing,
    NotConfigured,
    NotePublishNotInternal,
    NoteTypeMissing,
    NoTicket,
    ResolvingDisabled,
    RunHasTicket,
    RunNotFound,
    RunNotTicketable,
    TicketBusy,
    TicketDeleted,
    TicketSettingsIncomplete,
    TimeEntriesPresent,
    TimeEntriesUnverifiable,
    UnknownCustomer,
)
from application.ports import RunQuery
from application.use_cases.create_ticket import Created, CreateTicket
from application.use_cases.get_ticket import GetTicket
from application.use_cases.preview_ticket import PreviewTicket
from application.use_cases.put_run import PutRun
from application.use_cases.refresh_tickets import RefreshTickets
from application.use_cases.resolve_ticket import ResolveTicket
from application.use_cases.sync_status import GetSyncStatus
from application.use_cases.view_runs import GetRun, ListRuns
from domain.roles import Actor
from domain.runs import RunStatus
from entrypoints.http.response_specs import api_responses
from entrypoints.http.schemas.common import Saved, out, utc
from entrypoints.http.schemas.runs import RunIn, RunOut, RunPage, run_out
from entrypoints.http.schemas.sync import SyncOut, sync_out
from entrypoints.http.schemas.tickets import (
    TicketDraftOut,
    TicketLinkOut,
    TicketsRefreshedOut,
    TicketsRefreshIn,
    TicketViewOut,
    draft_out,
    ticket_view_out,
)
from entrypoints.metrics import Metrics
from entrypoints.shared.pagination import decode_cursor, paginate
from entrypoints.shared.parameters import Limit, Moment, RunCursor, RunId
from entrypoints.shared.values import RUN_STATUSES, SINGLE_LINE

CREATE_REFUSALS = (
    RunNotFound,
    NotConfigured,
    MappingMissing,
    MappingInvalid,
    RunNotTicketable,
    TicketSettingsIncomplete,
)
"""Why a run's ticket cannot be made: the create and its preview answer alike."""
RESOLVE_CONFLICTS = (
    ResolvingDisabled,
    AlreadyClosed,
    TimeEntriesPresent,
    TimeEntriesUnverifiable,
    TicketDeleted,
    TicketBusy,
    NotConfigured,
    NoteTypeMissing,
    NotePublishNotInternal,
)
CREATED_STATUS = {Created.CREATED: 201, Created.EXISTING: 200, Created.PENDING: 202}


def _statuses(text: str | None) -> frozenset[RunStatus]:
    if not text:
        return frozenset()
    try:
        return frozenset(RunStatus(part.strip()) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise InvalidInput("status", "Comma-separated: success, warning, error, missed.") from error


class RunController(Controller):
    path = "/runs"
    tags = ("runs",)

    @put(
        "/{run_id:str}",
        operation_id="putRun",
        status_code=201,
        responses=api_responses(
            400, 403, RunHasTicket, UnknownCustomer, success={200: (Saved, "The run existed and was updated.")}
        ),
    )
    async def put_run(
        self, actor: NamedDependency[Actor], put_run: NamedDependency[PutRun], run_id: RunId, data: JSONBody[RunIn]
    ) -> Response[Saved]:
        created = await put_run.execute(actor, data.to_run(run_id))
        return Response(Saved(run_id, created), status_code=201 if created else 200)

    @get("/", operation_id="listRuns", responses=api_responses(400))
    async def list_runs(
        self,
        actor: NamedDependency[Actor],
        list_runs: NamedDependency[ListRuns],
        status: Annotated[
            str | None,
            QueryParameter(
                max_length=64, pattern=RUN_STATUSES, description="Comma-separated: success, warning, error, missed."
            ),
        ] = None,
        customer_id: Annotated[str | None, QueryParameter(min_length=1, max_length=64, pattern=SINGLE_LINE)] = None,
        has_ticket: FromQuery[bool | None] = None,
        since: Moment = None,
        until: Moment = None,
        limit: Limit = 50,
        cursor: RunCursor = None,
    ) -> RunPage:
        query = RunQuery(
            _statuses(status),
            customer_id,
            has_ticket,
            utc(since, "since"),
            utc(until, "until"),
            limit + 1,
            decode_cursor(cursor, datetime, str) if cursor else None,
        )
        views, next_cursor = paginate(await list_runs.execute(actor, query), limit, lambda v: (v.run.run_at, v.run.id))
        return RunPage([run_out(v) for v in views], next_cursor)

    @get("/{run_id:str}", operation_id="getRun", responses=api_responses(400, RunNotFound))
    async def get_run(self, actor: NamedDependency[Actor], get_run: NamedDependency[GetRun], run_id: RunId) -> RunOut:
        return run_out(await get_run.execute(actor, run_id))

    @post(
        "/{run_id:str}/autotask-ticket",
        operation_id="createTicket",
        status_code=201,
        description="201 created by this call, 200 the run already had it, 202 pending (being created or reconciled).",
        responses=api_responses(
            400,
            403,
            *CREATE_REFUSALS,
            502,
            503,
            success={
                200: (TicketLinkOut, "The run already had its ticket (never a second one)."),
                202: (TicketLinkOut, "state pending: being created by another call, or being reconciled."),
            },
        ),
    )
    async def create_ticket(
        self,
        actor: NamedDependency[Actor],
        create_ticket: NamedDependency[CreateTicket],
        metrics: NamedDependency[Metrics],
        run_id: RunId,
    ) -> Response[TicketLinkOut]:
        result = await create_ticket.execute(actor, run_id)
        if result.outcome is Created.CREATED:
            metrics.tickets_created.inc()
        return Response(out(result.link, TicketLinkOut), status_code=CREATED_STATUS[result.outcome])

    @get(
        "/{run_id:str}/autotask-ticket",
        operation_id="getTicket",
        responses=api_responses(
            400, (403, "refresh=true needs a role that manages tickets"), RunNotFound, NoTicket, NotConfigured, 502, 503
        ),
    )
    async def get_ticket(
        self,
        actor: NamedDependency[Actor],
        get_ticket: NamedDependency[GetTicket],
        run_id: RunId,
        refresh: FromQuery[bool] = False,
    ) -> TicketViewOut:
        return ticket_view_out(await get_ticket.execute(actor, run_id, refresh=refresh))

    @get(
        "/{run_id:str}/autotask-ticket/draft",
        operation_id="previewTicket",
        description="Exactly what a create would send now (no write; the queue's name from the cached picklists); "
        "409 with the create's codes.",
        responses=api_responses(400, 403, *CREATE_REFUSALS),
    )
    async def preview_ticket(
        self, actor: NamedDependency[Actor], preview_ticket: NamedDependency[PreviewTicket], run_id: RunId
    ) -> TicketDraftOut:
        return draft_out(await preview_ticket.execute(actor, run_id))

    @post(
        "/{run_id:str}/autotask-ticket/resolve",
        operation_id="resolveTicket",
        status_code=200,
        responses=api_responses(400, 403, RunNotFound, NoTicket, *RESOLVE_CONFLICTS, 502, 503),
    )
    async def resolve_ticket(
        self,
        actor: NamedDependency[Actor],
        resolve_ticket: NamedDependency[ResolveTicket],
        metrics: NamedDependency[Metrics],
        run_id: RunId,
    ) -> TicketLinkOut:
        link = await resolve_ticket.execute(actor, run_id)
        metrics.tickets_resolved.inc()
        return out(link, TicketLinkOut)


class TicketRefreshController(Controller):
    """The bulk poll of open tickets (`backupchecks tickets refresh` does the same)."""

    path = "/autotask"
    tags = ("autotask",)

    @post(
        "/tickets/refresh",
        operation_id="refreshTickets",
        status_code=200,
        responses=api_responses(400, 403, NotConfigured, 502, 503),
    )
    async def refresh_tickets(
        self,
        actor: NamedDependency[Actor],
        refresh_tickets: NamedDependency[RefreshTickets],
        data: JSONBody[TicketsRefreshIn | None] = None,
    ) -> TicketsRefreshedOut:
        return out(await refresh_tickets.execute(actor, data.run_ids if data else None), TicketsRefreshedOut)

    @get("/sync", operation_id="getSync", responses=api_responses(403))
    async def sync(self, actor: NamedDependency[Actor], get_sync_status: NamedDependency[GetSyncStatus]) -> SyncOut:
        """The service's own scheduled work: each job's interval, last and next run, last result and error, and why
        it is paused (one process runs each job at a time, across every `serve` process sharing the database)."""
        return sync_out(await get_sync_status.execute(actor))
