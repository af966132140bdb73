"""The PSA gateway over Autotask: the entity operations (companies, tickets, time entries, notes, picklists,
rights, usage) on the calls of `calls.py`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

from application.ports import (
    AccessLevel,
    ApiUsage,
    Company,
    CompanyPage,
    EntityRights,
    NoteDraft,
    PsaForbidden,
    PsaNotFound,
    PsaUnavailable,
    Rights,
    TicketFacts,
    Zone,
)
from domain.draft import TicketDraft
from domain.picklists import Picklists

from .calls import AutotaskCalls, eq
from .wire import (
    WORK_TYPE_USE,
    CompanyWire,
    CountAnswer,
    CreateAnswer,
    EntityInformationAnswer,
    FieldsAnswer,
    NoteWire,
    QueryAnswer,
    ThresholdInformation,
    TicketWire,
    UdfsAnswer,
    convert,
    to_picklists,
)

PAGE_SIZE = 500
MODIFIED = "lastTrackedModificationDateTime"
"""Autotask moves it on every tracked change of a ticket (its fields, notes, time entries); queryable."""
T = TypeVar("T")


def _wire_time(value: datetime) -> str:
    """A time as Autotask takes it in a filter: UTC, whole seconds, `Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _changed_after(item: dict[str, Any], after: datetime) -> bool:
    """Whether a ticket in a changes answer changed after `after`: its `lastTrackedModificationDateTime` (with or
    without fractional seconds; no offset is UTC) is later, or missing or unreadable (the change is read rather than
    lost)."""
    raw = next((v for k, v in item.items() if k.lower() == MODIFIED.lower()), None)
    try:
        at = datetime.fromisoformat(str(raw).strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return True
    return (at if at.tzinfo is not None else at.replace(tzinfo=UTC)) > after


class AutotaskGateway(AutotaskCalls):
    """The PSA gateway over Autotask (the `PsaGateway` port); see `AutotaskCalls` for how its requests are admitted
    and sent."""

    def _facts(self, ticket: Any, zone: Zone) -> TicketFacts:
        return convert(ticket, TicketWire).to_facts(zone.web_url)

    # -- companies -----------------------------------------------------------------------------------------------------
    async def get_company(self, company_id: int) -> Company:
        item = await self._item("Companies", company_id)
        if item is None:
            raise PsaNotFound(f"Company {company_id} was not found in Autotask.")
        return convert(item, CompanyWire).to_company()

    async def get_companies(self, company_ids: Sequence[int]) -> dict[int, Company]:
        async def visible(company_id: int) -> dict[str, Any] | None:
            try:  # as in an `in` query's answer, a company hidden from this user is simply missing
                return await self._item("Companies", company_id)
            except PsaForbidden:
                return None

        items = await self._by_ids("Companies", company_ids, visible)
        return {c.id: c for c in (convert(i, CompanyWire).to_company() for i in items)}

    async def search_companies(self, text: str, limit: int = 50, after_id: int | None = None) -> CompanyPage:
        """Companies whose name contains `text` (see `_company_page`)."""
        condition = {"op": "contains", "field": "companyName", "value": text}
        return await self._company_page(condition, lambda c: text.casefold() in c.name.casefold(), limit, after_id)

    async def active_companies(self, limit: int = 500, after_id: int | None = None) -> CompanyPage:
        """Active companies (see `_company_page`)."""
        condition = {"op": "eq", "field": "isActive", "value": True}
        return await self._company_page(condition, lambda c: c.is_active, limit, after_id)

    async def _company_page(
        self, condition: dict[str, Any], matches: Callable[[Company], bool], limit: int, after_id: int | None
    ) -> CompanyPage:
        """One page of Autotask's answer to `condition` (it pages by id and ignores sorting): `maxRecords` = `limit`,
        ids above `after_id`; more exist when Autotask names a next page. Items that do not `match` are dropped (an
        operator Autotask ignored would answer unfiltered)."""
        limit = max(1, min(limit, PAGE_SIZE))
        filters: list[dict[str, Any]] = [condition]
        if after_id is not None:
            filters.append({"op": "gt", "field": "id", "value": after_id})
        body = {"filter": filters, "maxRecords": limit}
        page = convert(await self._call("POST", "Companies/query", "Companies/query", body), QueryAnswer)
        companies = [convert(i, CompanyWire).to_company() for i in page.items or []]
        shown = [c for c in companies if matches(c) and (after_id is None or c.id > after_id)][:limit]
        more = bool(page.page_details and page.page_details.next_page_url) and bool(companies)
        return CompanyPage(shown, max(c.id for c in companies) if more else None)

    # -- tickets -------------------------------------------------------------------------------------------------------
    async def create_ticket(self, draft: TicketDraft) -> int:
        fields = {
            "companyID": draft.company_id,
            "title": draft.title,
            "description": draft.description,
            "status": draft.status,
            "priority": draft.priority,
            "queueID": draft.queue_id,
            "issueType": draft.issue_type_id,
            "subIssueType": draft.sub_issue_type_id,
            "source": draft.source_id,
            "externalID": draft.external_id,
            "dueDateTime": draft.due_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ticketCategory": draft.category_id,
            "billingCodeID": draft.work_type_id,
            "userDefinedFields": [{"name": name, "value": value} for name, value in draft.udfs] or None,
        }
        return await self._create("Tickets", "Tickets", fields)

    async def get_ticket(self, ticket_id: int) -> TicketFacts | None:
        item = await self._item("Tickets", ticket_id)
        return None if item is None else self._facts(item, await self.zone())

    async def get_tickets(self, ticket_ids: Sequence[int]) -> dict[int, TicketFacts]:
        items = await self._by_ids("Tickets", ticket_ids, lambda ticket_id: self._item("Tickets", ticket_id))
        if not items:
            return {}
        zone = await self.zone()
        return {f.ticket_id: f for f in (self._facts(i, zone) for i in items)}

    async def find_ticket_by_external_id(self, external_id: str) -> TicketFacts | None:
        items = await self._query("Tickets", [eq("externalID", external_id)])
        if not items:
            return None
        zone = await self.zone()
        exact = [f for f in (self._facts(i, zone) for i in items) if f.external_id == external_id]
        return min(exact, key=lambda f: f.ticket_id) if exact else None  # Autotask's eq may ignore case; we may not

    async def tickets_by_external_ids(self, external_ids: Sequence[str]) -> list[TicketFacts]:
        async def one(external_id: str) -> list[Any]:
            return await self._query("Tickets", [eq("externalID", external_id)])

        wanted = set(external_ids)  # Autotask's `in` and `eq` may ignore case; we may not
        items = await self._in_chunks("Tickets", "externalID", external_ids, one)
        if not items:
            return []
        zone = await self.zone()
        return [f for f in (self._facts(i, zone) for i in items) if f.external_id in wanted]

    async def changed_tickets(self, external_id_prefix: str, since: datetime) -> list[TicketFacts]:
        """One paged query: `externalID beginsWith` the prefix and `lastTrackedModificationDateTime gt` `since`
        (rounded down to the second, as Autotask takes times: a change in that second is read again, never lost).
        The answer is checked here too (an operator Autotask ignored answers unfiltered): only tickets whose
        externalID begins with the prefix (without case) and that changed after `since` are kept."""
        after = since.astimezone(UTC).replace(microsecond=0)
        filters = [
            {"op": "beginsWith", "field": "externalID", "value": external_id_prefix},
            {"op": "gt", "field": MODIFIED, "value": _wire_time(after)},
        ]
        items = [i for i in await self._query("Tickets", filters) if isinstance(i, dict) and _changed_after(i, after)]
        if not items:
            return []
        zone, prefix = await self.zone(), external_id_prefix.casefold()
        facts = (self._facts(i, zone) for i in items)
        return [f for f in facts if (f.external_id or "").casefold().startswith(prefix)]

    async def count_time_entries(self, ticket_id: int) -> int:
        answer = await self._call(
            "POST", "TimeEntries/query/count", "TimeEntries/query/count", {"filter": [eq("ticketID", ticket_id)]}
        )
        return convert(answer, CountAnswer).query_count

    async def complete_ticket(self, ticket_id: int, status: int) -> None:
        """PATCH only the status (docs/adr/0007: no PUT fallback; a PUT of the ticket as read back fails on real
        tenants). One request; Autotask's answer names the ticket it changed."""
        answer = await self._call("PATCH", "Tickets", "Tickets", {"id": ticket_id, "status": status}, write=True)
        if convert(answer, CreateAnswer, maybe_applied=True).item_id != ticket_id:
            raise PsaUnavailable(
                f"Autotask answered the PATCH of ticket {ticket_id} naming another item.", maybe_applied=True
            )

    # -- notes ---------------------------------------------------------------------------------------------------------
    async def add_ticket_note(self, ticket_id: int, note: NoteDraft) -> int:
        fields = {
            "ticketID": ticket_id,
            "title": note.title,
            "description": note.description,
            "noteType": note.note_type,
            "publish": note.publish,
        }
        return await self._create(f"Tickets/{ticket_id}/Notes", "Tickets/{id}/Notes", fields)

    async def find_ticket_note(self, ticket_id: int, description: str) -> int | None:
        """Asked by ticket only and matched here: descriptions are long text that tenants may not filter on, and a
        server-side match could ignore case or spacing where we need the exact text."""
        items = await self._query("TicketNotes", [eq("ticketID", ticket_id)])
        notes = sorted(
            n.id
            for n in (convert(i, NoteWire) for i in items)
            if n.description == description and n.ticket_id == ticket_id
        )
        return notes[0] if notes else None

    # -- tenant facts --------------------------------------------------------------------------------------------------
    async def picklists(self, *, refresh: bool = False) -> Picklists:
        """The tenant's picklists and configuration, 5 requests (then cached per credentials): the Tickets and
        TicketNotes field documents, the ticket UDFs, the Work Types (`BillingCodes` of use type 1, every page) and the
        ticket categories' defaults (`TicketCategoryFieldDefaults`, every page)."""
        tenant = self._tenant
        if tenant.picklists is not None and not refresh:
            return tenant.picklists
        known = tenant.picklists
        async with tenant.picklists_read:
            if tenant.picklists is None or (refresh and tenant.picklists is known):  # else read meanwhile: reuse it
                tickets = await self._fields("Tickets/entityInformation/fields", FieldsAnswer)
                notes = await self._fields("TicketNotes/entityInformation/fields", FieldsAnswer)
                udfs = await self._optional(self._fields("Tickets/entityInformation/userDefinedFields", UdfsAnswer))
                work_types = await self._optional(self._query("BillingCodes", [eq("useType", WORK_TYPE_USE)]))
                defaults = await self._optional(
                    self._query("TicketCategoryFieldDefaults", [{"op": "gt", "field": "id", "value": 0}])
                )
                tenant.picklists = to_picklists(tickets, notes, udfs, work_types, defaults)
            return tenant.picklists

    async def _fields(self, path: str, kind: type[T]) -> T:
        return convert(await self._call("GET", path, path), kind)

    @staticmethod
    async def _optional(call: Awaitable[T]) -> T | None:
        """A tenant fact not every API user may read: a tenant answering 404 or 403 (no right to the entity, or a
        tenant or simulator without it) yields None, so the other picklists still work (and nothing is known of that
        fact). Anything else, an unreachable Autotask first, still fails the read."""
        try:
            return await call
        except (PsaNotFound, PsaForbidden):
            return None

    async def rights(self) -> Rights:
        """What the API user's security level allows on Tickets, TicketNotes, TimeEntries and Companies: one
        `{Entity}/entityInformation` request each (4). An entity whose information is refused (403) is out of reach
        altogether: no rights on it."""

        async def entity(name: str) -> EntityRights:
            try:
                answer = await self._call("GET", f"{name}/entityInformation", f"{name}/entityInformation")
            except PsaForbidden:
                return EntityRights(AccessLevel.NONE, AccessLevel.NONE, AccessLevel.NONE)
            return convert(answer, EntityInformationAnswer).info.to_rights()

        return Rights(
            await entity("Tickets"), await entity("TicketNotes"), await entity("TimeEntries"), await entity("Companies")
        )

    async def usage(self) -> ApiUsage:
        answer = await self._call("GET", "ThresholdInformation", "ThresholdInformation")
        return convert(answer, ThresholdInformation).to_usage()
