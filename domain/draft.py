"""The ticket Backupchecks asks Autotask to create for a run (docs/product.md, The ticket Backupchecks creates)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from domain.mapping import CompanyMapping, MappingStatus
from domain.runs import Customer, Run, RunStatus
from domain.settings import AutotaskSettings

TITLE_MAX = 255
DESCRIPTION_MAX = 8000
EXTERNAL_ID_MAX = 50
LINE_MAX = 1000
TITLE_PREFIX = "[Backupchecks] "
ELLIPSIS = "…"


@dataclass(frozen=True, slots=True)
class TicketDraft:
    company_id: int
    title: str
    description: str
    status: int
    priority: int | None
    queue_id: int | None
    issue_type_id: int | None
    sub_issue_type_id: int | None
    source_id: int | None
    external_id: str
    due_at: datetime
    """When the ticket is due (UTC): Autotask needs `dueDateTime` unless the ticket category supplies one."""
    category_id: int | None = None
    """Autotask's `ticketCategory`; None leaves the choice to Autotask (the API user's or the tenant's default)."""
    work_type_id: int | None = None
    """The ticket's Work Type, Autotask's `billingCodeID`."""
    udfs: tuple[tuple[str, str], ...] = ()
    """User-defined fields as (name, value), sent as `userDefinedFields`."""


def external_id_prefix(installation_id: str) -> str:
    """How every `externalID` this installation gives a ticket begins (a status poll asks Autotask for its own)."""
    return f"bc-{installation_id[:8]}-"


def external_id(installation_id: str, run_id: str) -> str:
    """A stable key (≤ 50 characters) naming this installation's ticket for this run, so a ticket whose creation
    answer was lost can be found again in Autotask instead of being created twice."""
    digest = hashlib.sha256(f"{installation_id}\x00{run_id}".encode()).hexdigest()[:32]
    return external_id_prefix(installation_id) + digest


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + ELLIPSIS


def ticket_title(customer_name: str, job_name: str, status: RunStatus) -> str:
    """`[Backupchecks] <customer> - <job> - <Status>`, at most 255 characters: long names are shortened
    (the job first, then the customer), the prefix and the status always kept."""
    customer_name, job_name = " ".join(customer_name.split()), " ".join(job_name.split())
    fixed = len(TITLE_PREFIX) + len(" - ") * 2 + len(status.label)
    room = TITLE_MAX - fixed
    if len(customer_name) + len(job_name) > room:
        customer_room = max(room // 2, room - len(job_name))
        customer_name = _clip(customer_name, customer_room)
        job_name = _clip(job_name, room - len(customer_name))
    return f"{TITLE_PREFIX}{customer_name} - {job_name} - {status.label}"


def _line(text: str) -> str:
    """One description line: newlines folded, and an over-long line shortened saying how much was cut."""
    text = " ".join(text.split())
    if len(text) <= LINE_MAX:
        return text
    marker = f" [{len(text) - (LINE_MAX - 40)} characters cut]"
    return text[: LINE_MAX - 40] + marker


def run_reference(run_id: str, base_url: str | None) -> str:
    if base_url:
        return f"{base_url.rstrip('/')}/runs/{run_id}"
    return f"Backupchecks run ID {run_id}"


def ticket_description(run: Run, customer: Customer, base_url: str | None) -> str:
    """The run's facts, every object and message that fits in 8,000 characters, and the reference back.

    Whole lines only: what does not fit is replaced by one line saying how many objects or messages were left out.
    """
    head = [
        f"Customer: {_line(customer.name)}",
        f"Run date/time: {run.run_at.strftime('%Y-%m-%d %H:%M:%S')} UTC",
        f"Backup software: {_line(run.backup_software)}",
        f"Backup type: {_line(run.backup_type)}",
        f"Job: {_line(run.job_name)}",
        f"Status: {run.status.label}",
    ]
    # Only lines that could fit are formatted (each takes at least 3 characters), so huge runs stay cheap.
    cap = DESCRIPTION_MAX // 3
    sections = [
        _Section(
            "Affected objects",
            "objects",
            len(run.objects),
            [
                _line(
                    f"- {o.name}"
                    + (f" ({o.type})" if o.type else "")
                    + f": {o.status.value}"
                    + (f" - {o.message}" if o.message else "")
                )
                for o in run.objects[:cap]
            ],
        ),
        _Section("Messages", "messages", len(run.messages), [_line(f"- {m}") for m in run.messages[:cap]]),
    ]
    tail = ["", _line(f"Reference: {run_reference(run.id, base_url)}")]
    kept = _fit(len("\n".join(head + tail)), sections)
    lines = list(head)
    for section, n in zip(sections, kept, strict=True):
        lines += section.render(n)
    return "\n".join(lines + tail)


@dataclass(frozen=True, slots=True)
class _Section:
    title: str
    noun: str
    total: int
    lines: list[str]

    def render(self, kept: int) -> list[str]:
        """The section's lines when `kept` of its items are shown (nothing at all for an empty section)."""
        if not self.total:
            return []
        more = [f"{ELLIPSIS} {self.total - kept} more {self.noun}"] if kept < self.total else []
        return ["", f"{self.title} ({self.total}):", *self.lines[:kept], *more]

    def size(self, kept: int, prefix: list[int]) -> int:
        """Characters `render(kept)` adds to the text, newlines included, from prefix sums of line lengths."""
        if not self.total:
            return 0
        more = len(f"{ELLIPSIS} {self.total - kept} more {self.noun}") + 1 if kept < self.total else 0
        return len(f"\n\n{self.title} ({self.total}):") + prefix[kept] + more


def _fit(fixed: int, sections: list[_Section]) -> list[int]:
    """How many lines of each section fit, shortening the longest section first, one line at a time.

    Sizes come from prefix sums, so the cost stays linear in the number of lines.
    """
    prefixes = []
    for section in sections:
        sums = [0]
        for line in section.lines:
            sums.append(sums[-1] + len(line) + 1)
        prefixes.append(sums)
    kept = [len(section.lines) for section in sections]

    def size() -> int:
        return fixed + sum(sec.size(n, p) for sec, n, p in zip(sections, kept, prefixes, strict=True))

    while size() > DESCRIPTION_MAX and any(kept):
        longest = max(range(len(kept)), key=lambda i: (kept[i], -i))
        kept[longest] -= 1
    return kept


def missing_ticket_settings(settings: AutotaskSettings, status: RunStatus) -> list[str]:
    """The settings a ticket for a run of `status` still lacks before Autotask can accept it: a queue (real tenants
    refuse a ticket with no queue and no resource, although the fields document does not flag `queueID` required)
    and the priority for the status."""
    missing = [] if settings.default_queue_id is not None else ["default_queue_id"]
    priority = "priority_warning_id" if status is RunStatus.WARNING else "priority_error_id"
    return missing + ([priority] if getattr(settings, priority) is None else [])


class TicketRefusal(StrEnum):
    """Why a run's ticket cannot be created (beyond the caller's role and the integration being on)."""

    MAPPING_MISSING = "mapping_missing"
    MAPPING_INVALID = "mapping_invalid"
    RUN_NOT_TICKETABLE = "run_not_ticketable"
    TICKET_SETTINGS_INCOMPLETE = "ticket_settings_incomplete"


def ticket_refusal(run: Run, mapping: CompanyMapping | None, settings: AutotaskSettings) -> TicketRefusal | None:
    """The one rule of which run may get a ticket, used by CreateTicket and by every view that offers the button:
    the customer mapped to a valid company, a run that is not a success, the settings Autotask needs."""
    if mapping is None or mapping.status is MappingStatus.MISSING:
        return TicketRefusal.MAPPING_MISSING
    if mapping.status is MappingStatus.INVALID:
        return TicketRefusal.MAPPING_INVALID
    if not run.status.ticketable:
        return TicketRefusal.RUN_NOT_TICKETABLE
    if missing_ticket_settings(settings, run.status):
        return TicketRefusal.TICKET_SETTINGS_INCOMPLETE
    return None


def build_ticket_draft(
    run: Run, customer: Customer, mapping: CompanyMapping, settings: AutotaskSettings, now: datetime
) -> TicketDraft:
    if mapping.blocks_tickets or mapping.company_id is None:
        raise ValueError("the customer's mapping does not allow tickets")
    if not run.status.ticketable:
        raise ValueError("tickets are created for warning, error and missed runs only")
    priority = settings.priority_warning_id if run.status is RunStatus.WARNING else settings.priority_error_id
    return TicketDraft(
        company_id=mapping.company_id,
        title=ticket_title(customer.name, run.job_name, run.status),
        description=ticket_description(run, customer, settings.backupchecks_base_url),
        status=settings.new_ticket_status_id,
        priority=priority,
        queue_id=settings.default_queue_id,
        issue_type_id=settings.default_issue_type_id,
        sub_issue_type_id=settings.default_sub_issue_type_id,
        source_id=settings.default_source_id,
        external_id=external_id(settings.installation_id, run.id),
        due_at=now + timedelta(hours=settings.ticket_due_hours),
        category_id=settings.ticket_category_id,
        work_type_id=settings.work_type_id,
        udfs=settings.ticket_udfs,
    )


TEST_TITLE = f"{TITLE_PREFIX}Test ticket"


def test_ticket_settings_missing(settings: AutotaskSettings) -> list[str]:
    """What a test ticket lacks before Autotask could accept it: a queue, and a priority (warning's, else error's)."""
    missing = [] if settings.default_queue_id is not None else ["default_queue_id"]
    if settings.priority_warning_id is None and settings.priority_error_id is None:
        missing.append("priority_warning_id")
    return missing


def build_test_draft(
    settings: AutotaskSettings, company_id: int, now: datetime, requested_by: str, test_id: str
) -> TicketDraft:
    """A ticket made like every run's ticket (same settings: queue, category, Work Type, UDFs, due date), saying what it
    is; `test_id` makes its `externalID` unique so an unanswered create can be found and completed."""
    description = (
        f"A test ticket from the Backupchecks Autotask settings, requested by {requested_by} at "
        f"{now.strftime('%Y-%m-%d %H:%M:%S')} UTC, to prove that these settings make tickets Autotask accepts.\n"
        "Backupchecks adds its internal closing note and completes it at once: nothing needs doing."
    )
    return TicketDraft(
        company_id=company_id,
        title=TEST_TITLE,
        description=description,
        status=settings.new_ticket_status_id,
        priority=settings.priority_warning_id
        if settings.priority_warning_id is not None
        else settings.priority_error_id,
        queue_id=settings.default_queue_id,
        issue_type_id=settings.default_issue_type_id,
        sub_issue_type_id=settings.default_sub_issue_type_id,
        source_id=settings.default_source_id,
        external_id=f"{external_id_prefix(settings.installation_id)}test-{test_id[:32]}",
        due_at=now + timedelta(hours=settings.ticket_due_hours),
        category_id=settings.ticket_category_id,
        work_type_id=settings.work_type_id,
        udfs=settings.ticket_udfs,
    )
