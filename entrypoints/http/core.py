"""Customers, runs and their tickets: written by Backupchecks core (admin), read by every role, tickets acted on by
admins and operators. Roles are checked by the use cases (so a refusal is audited), not here."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Response, get, post, put
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIFormat
from litestar.params import FromQuery, JSONBody, PathParameter, QueryParameter

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
    UnknownCustomer,
)
from application.ports import RunQuery
from application.use_cases.create_ticket import Created, CreateTicket
from application.use_cases.get_ticket import GetTicket
from application.use_cases.list_customers import ListCustomers
from application.use_cases.put_customer import PutCustomer
from application.use_cases.put_run import PutRun
from application.use_cases.resolve_ticket import ResolveTicket
from application.use_cases.view_runs import GetRun, ListRuns
from domain.roles import Actor
from domain.runs import RunStatus
from entrypoints.http.problems import api_responses
from entrypoints.http.schemas import (
    CURSOR,
    CURSOR_FORMAT,
    RFC3339,
    SINGLE_LINE,
    CustomerIn,
    CustomerPage,
    RunIn,
    RunOut,
    RunPage,
    Saved,
    TicketLinkOut,
    TicketViewOut,
    customer_in,
    customer_out,
    decode_cursor,
    link_out,
    paginate,
    run_out,
    ticket_view_out,
    utc,
)
from entrypoints.metrics import Metrics

CustomerId = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=SINGLE_LINE,
                                          description="Backupchecks' own customer id.")]
RunId = Annotated[str, PathParameter(min_length=1, max_length=64, pattern=SINGLE_LINE,
                                     description="Backupchecks' own run id.")]
Limit = Annotated[int, QueryParameter(ge=1, le=500, description="Page size (1-500).")]


def cursor_parameter(keyset: str) -> Any:
    """The `cursor` query parameter of a list whose keyset is `keyset` (named in its format, so a client or a fuzzer
    knows which cursors fit: `name` (customers, users), `run` (runs), `seq` (audit), `company` (Autotask company
    search))."""
    return QueryParameter(
        min_length=1, max_length=512, pattern=CURSOR, schema_extra={"format": f"{CURSOR_FORMAT}-{keyset}"},
        description="Opaque: the previous page's `next_cursor`, as it was given; any other value is 400 "
                    "invalid_input.")


Moment = Annotated[str | None, QueryParameter(
    max_length=40, pattern=RFC3339, schema_extra={"format": OpenAPIFormat.DATE_TIME},
    description="RFC 3339 with its offset (a number is not a time).")]
NameCursor = Annotated[str | None, cursor_parameter("name")]
RunCursor = Annotated[str | None, cursor_parameter("run")]
SeqCursor = Annotated[str | None, cursor_parameter("seq")]
CompanyCursor = Annotated[str | None, cursor_parameter("company")]
RESOLVE_CONFLICTS = (ResolvingDisabled, AlreadyClosed, TimeEntriesPresent, TicketDeleted, TicketBusy, NotConfigured,
                     NoteTypeMissing, NotePublishNotInternal)
STATUSES = r"^ *(success|warning|error|missed)? *(, *(success|warning|error|missed)? *)*$"
CREATED_STATUS = {Created.CREATED: 201, Created.EXISTING: 200, Created.PENDING: 202}


def _statuses(text: str | None) -> frozenset[RunStatus]:
    if not text:
        return frozenset()
    try:
        return frozenset(RunStatus(part.strip()) for part in text.split(",") if part.strip())
    except ValueError as error:
        raise InvalidInput("status", "Comma-separated: success, warning, error, missed.") from error


class CustomerController(Controller):
    path = "/customers"
    tags = ("customers",)

    @put("/{customer_id:str}", operation_id="putCustomer", status_code=201,
         responses=api_responses(400, 403, success={200: (Saved, "The customer existed and was updated.")}))
    async def put_customer(
        self,
        actor: NamedDependency[Actor],
        put_customer: NamedDependency[PutCustomer],
        customer_id: CustomerId,
        data: JSONBody[CustomerIn],
    ) -> Response[Saved]:
        created = await put_customer.execute(actor, customer_in(customer_id, data))
        return Response(Saved(customer_id, created), status_code=201 if created else 200)

    @get("/", operation_id="listCustomers", responses=api_responses(400))
    async def list_customers(
        self,
        actor: NamedDependency[Actor],
        list_customers: NamedDependency[ListCustomers],
        limit: Limit = 50,
        cursor: NameCursor = None,
    ) -> CustomerPage:
        after = decode_cursor(cursor, str)[0] if cursor else None
        views, next_cursor = paginate(await list_customers.execute(actor, limit + 1, after), limit,
                                      lambda v: (v.customer.id,))
        return CustomerPage([customer_out(v) for v in views], next_cursor)


class RunController(Controller):
    path = "/runs"
    tags = ("runs",)

    @put("/{run_id:str}", operation_id="putRun", status_code=201, responses=api_responses(
        400, 403, RunHasTicket, UnknownCustomer,
        success={200: (Saved, "The run existed and was updated.")}))
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
        status: Annotated[str | None, QueryParameter(
            max_length=64, pattern=STATUSES, description="Comma-separated: success, warning, error, missed.")] = None,
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
            400, 403, RunNotFound, NotConfigured, MappingMissing, MappingInvalid, RunNotTicketable,
            TicketSettingsIncomplete, 502, 503,
            success={200: (TicketLinkOut, "The run already had its ticket (never a second one)."),
                     202: (TicketLinkOut, "state pending: being created by another call, or being reconciled.")},
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
        body = link_out(result.link)
        assert body is not None
        return Response(body, status_code=CREATED_STATUS[result.outcome])

    @get("/{run_id:str}/autotask-ticket", operation_id="getTicket",
         responses=api_responses(400, (403, "refresh=true needs a role that manages tickets"),
                                 RunNotFound, NoTicket, NotConfigured, 502, 503))
    async def get_ticket(
        self,
        actor: NamedDependency[Actor],
        get_ticket: NamedDependency[GetTicket],
        run_id: RunId,
        refresh: FromQuery[bool] = False,
    ) -> TicketViewOut:
        return ticket_view_out(await get_ticket.execute(actor, run_id, refresh=refresh))

    @post("/{run_id:str}/autotask-ticket/resolve", operation_id="resolveTicket", status_code=200,
          responses=api_responses(400, 403, RunNotFound, NoTicket, *RESOLVE_CONFLICTS, 502, 503))
    async def resolve_ticket(
        self,
        actor: NamedDependency[Actor],
        resolve_ticket: NamedDependency[ResolveTicket],
        metrics: NamedDependency[Metrics],
        run_id: RunId,
    ) -> TicketLinkOut:
        link = link_out(await resolve_ticket.execute(actor, run_id))
        metrics.tickets_resolved.inc()
        assert link is not None
        return link
