"""Test ticket (admin): one real ticket made with the saved settings on the tenant's own company (or another), given
the internal closing note and completed at once — proof before an operator's first click. Each step reports
Autotask's own words when it fails; a ticket that was created is always completed, so none is left open."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from application.attempts import Attempt
from application.deps import UseCase
from application.ports import NoteDraft, PsaError, PsaGateway, PsaUnavailable
from application.psa_connection import connect, psa_error
from domain.audit import Outcome
from domain.draft import TicketDraft, build_test_draft, test_ticket_settings_missing
from domain.picklists import closing_note_refusal, closing_note_type, internal_publish
from domain.roles import Actor, Permission
from domain.settings import AutotaskSettings
from domain.tickets import CLOSING_NOTE, CLOSING_NOTE_TITLE, DENY_MESSAGES, STATUS_COMPLETE

OWN_COMPANY = 0
"""Autotask's id of the tenant's own company."""


@dataclass(frozen=True, slots=True)
class StepResult:
    step: str
    """`create`, `note` or `complete`."""
    ok: bool
    message: str


@dataclass(frozen=True, slots=True)
class TicketProof:
    ok: bool
    steps: tuple[StepResult, ...]
    ticket_number: str | None = None


class _Steps:
    def __init__(self) -> None:
        self.done: list[StepResult] = []

    def add(self, step: str, ok: bool, message: str) -> bool:
        self.done.append(StepResult(step, ok, message))
        return ok


class MakeTestTicket(UseCase):
    async def execute(self, actor: Actor, company_id: int | None = None) -> TicketProof:
        async with Attempt(self.deps, actor, "settings.test_ticket", ("settings", "autotask")) as attempt:
            attempt.authorize(Permission.ADMINISTER)
            async with self.deps.uow(read_only=True) as uow:
                settings = await uow.settings.get()
            gateway = connect(self.deps, settings, require_enabled=False)
            company = OWN_COMPANY if company_id is None else company_id
            draft = build_test_draft(settings, company, self.deps.clock.now(), actor.name, uuid.uuid4().hex)
            steps = _Steps()
            ticket_id = None
            missing = test_ticket_settings_missing(settings)
            if missing:
                steps.add("create", False, f"Not tried: set {', '.join(missing)} in the settings first.")
            else:
                ticket_id = await self._create(gateway, draft, steps)
            number = None
            if ticket_id is not None:
                number = await self._number(gateway, ticket_id)
                await self._note(gateway, settings, ticket_id, steps)
                await self._complete(gateway, ticket_id, number, steps)
            ok = all(s.ok for s in steps.done)
            async with self.deps.uow() as uow:
                await attempt.record(
                    uow,
                    Outcome.OK if ok else Outcome.FAILED,
                    company_id=company,
                    ticket_id=ticket_id,
                    ticket_number=number,
                    failed_step=next((s.step for s in steps.done if not s.ok), None),
                )
                await uow.commit()
            return TicketProof(ok, tuple(steps.done), number)

    @staticmethod
    async def _create(gateway: PsaGateway, draft: TicketDraft, steps: _Steps) -> int | None:
        """The new ticket's id; after an unanswered create, the ticket its `externalID` finds (if any)."""
        try:
            ticket_id = await gateway.create_ticket(draft)
        except PsaUnavailable as error:
            if not error.maybe_applied:
                steps.add("create", False, psa_error(error).message)
                return None
            try:
                found = await gateway.find_ticket_by_external_id(draft.external_id)
            except PsaError as lookup:
                steps.add(
                    "create",
                    False,
                    f"Autotask did not answer the create ({error.message}) nor the look-up after it "
                    f"({lookup.message}): a test ticket with externalID {draft.external_id} may be open in Autotask; "
                    "complete it there.",
                )
                return None
            if found is None:
                steps.add("create", False, f"Autotask did not answer ({error.message}) and created no ticket.")
                return None
            steps.add(
                "create", True, f"Created (found by its externalID after Autotask's answer was lost: {error.message})."
            )
            return found.ticket_id
        except PsaError as error:
            steps.add("create", False, f"Autotask refused the ticket: {error.message}")
            return None
        steps.add("create", True, "Autotask accepted the ticket.")
        return ticket_id

    @staticmethod
    async def _number(gateway: PsaGateway, ticket_id: int) -> str | None:
        try:
            facts = await gateway.get_ticket(ticket_id)
        except PsaError:
            return None  # a name only: the ticket is completed by id whatever happens here
        return facts.ticket_number if facts else None

    @staticmethod
    async def _note(gateway: PsaGateway, settings: AutotaskSettings, ticket_id: int, steps: _Steps) -> None:
        """The closing note, internal, as a resolve adds it (a tenant without a usable note type or internal publish
        value fails this step without a call)."""
        try:
            picklists = await gateway.picklists()
        except PsaError as error:
            steps.add("note", False, f"Autotask's note types could not be read: {error.message}")
            return
        refusal = closing_note_refusal(settings, picklists)
        if refusal is not None:
            steps.add("note", False, f"Not tried: {DENY_MESSAGES[refusal]}")
            return
        note = NoteDraft(
            CLOSING_NOTE_TITLE,
            CLOSING_NOTE,
            closing_note_type(settings.note_type_id, picklists),
            internal_publish(settings.note_publish_id, picklists),
        )
        try:
            await gateway.add_ticket_note(ticket_id, note)
        except PsaError as error:
            steps.add("note", False, f"Autotask refused the internal closing note: {error.message}")
            return
        steps.add("note", True, "The internal closing note was added.")

    @staticmethod
    async def _complete(gateway: PsaGateway, ticket_id: int, number: str | None, steps: _Steps) -> None:
        try:
            await gateway.complete_ticket(ticket_id, STATUS_COMPLETE)
        except PsaError as error:
            steps.add(
                "complete",
                False,
                f"Autotask did not complete the test ticket ({error.message}): ticket {number or ticket_id} is open "
                "in Autotask; complete it there.",
            )
            return
        steps.add("complete", True, f"Ticket {number or ticket_id} was completed.")
