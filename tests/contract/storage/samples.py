"""Entities for the storage contract: every field set, and every optional field empty."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from application.ports import User
from domain.audit import AuditEntry, Outcome
from domain.mapping import CompanyMapping, MappingStatus
from domain.roles import Role
from domain.runs import Customer, ObjectStatus, Run, RunObject, RunStatus
from domain.tickets import LinkState, Ticket, TicketLink, TicketStatus

T0 = datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=UTC)


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


def customer(cid: str = "c-1", name: str = "Ærø Backup & Søn — 東京") -> Customer:
    return Customer(id=cid, name=name)


def run(rid: str = "r-1", *, customer_id: str = "c-1", minutes: int = 0, status: RunStatus = RunStatus.ERROR) -> Run:
    return Run(
        id=rid,
        customer_id=customer_id,
        job_name="Nightly — SQL 🗄",
        backup_software="Veeam",
        backup_type="Backup Copy",
        run_at=at(minutes),
        status=status,
        objects=(
            RunObject(name="vm-01", status=ObjectStatus.ERROR, type="VM", message="Snapshot failed: ‘quiesce’"),
            RunObject(name="disk D:", status=ObjectStatus.WARNING),
        ),
        messages=("first line\nsecond line", "", "ünïcödé"),
    )


def bare_run(rid: str = "r-bare") -> Run:
    return Run(rid, "c-2", "", "", "", at(5), RunStatus.MISSED)


def full_link(run_id: str = "r-1") -> TicketLink:
    return TicketLink(
        run_id=run_id,
        state=LinkState.RESOLVED,
        external_id=f"bc:inst:{run_id}",
        created_by="Zoë",
        created_at=at(1),
        attempt=3,
        ambiguous=True,
        ticket=Ticket(
            2**40 + 7,
            "T20260301.0042",
            "https://ww5.autotask.net/Mvc/ServiceDesk/TicketDetail.mvc?ticketId=1",
            TicketStatus(value=5, label="Complete ✓", read_at=at(2)),
        ),
        time_entries=4,
        closing_note_id=2**35,
        closing_note_attempted=True,
        closing_note_claimed_at=at(4),
        resolved_by="admin",
        resolved_at=at(3),
        version=9,
    )


def pending_link(run_id: str = "r-1", actor: str = "op") -> TicketLink:
    return TicketLink.reserve(run_id, f"bc:inst:{run_id}", actor, at(1))


def linked_link(run_id: str) -> TicketLink:
    return pending_link(run_id).linked(Ticket(100, "T1", None, TicketStatus(1, "New", at(2))))


def user(uid: str = "u-1", username: str = "alice", role: Role = Role.ADMIN) -> User:
    return User(uid, username, role, password_hash="$argon2id$v=19$xyz", token_hash=f"sha256:{uid}", created_at=at(0))


def full_mapping(customer_id: str = "c-1") -> CompanyMapping:
    return CompanyMapping(
        customer_id=customer_id,
        status=MappingStatus.RENAMED,
        company_id=2**33,
        company_name="Nieuwe Naam B.V.",
        previous_company_name="Oude Naam",
        status_reason="renamed in Autotask",
        last_synced_at=at(9),
    )


def entry(
    n: int = 0,
    *,
    action: str = "ticket.create",
    target: tuple[str, str] = ("run", "r-1"),
    outcome: Outcome = Outcome.OK,
    **details: str | int | float | bool | None,
) -> AuditEntry:
    return AuditEntry(at(n), "alice", "admin", action, target[0], target[1], outcome, details)
