"""The ticket Backupchecks asks Autotask to create for a run (product.md, Ticket contents)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from domain.mapping import CompanyMapping
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


def external_id(installation_id: str, run_id: str) -> str:
    """A stable key (≤ 50 characters) naming this installation's ticket for this run, so a ticket whose creation
    answer was lost can be found again in Autotask instead of being created twice."""
    digest = hashlib.sha256(f"{installation_id}\x00{run_id}".encode()).hexdigest()[:32]
    return f"bc-{installation_id[:8]}-{digest}"


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
    objects = [
        _line(f"- {o.name}" + (f" ({o.type})" if o.type else "") + f": {o.status.value}"
              + (f" - {o.message}" if o.message else ""))
        for o in run.objects
    ]
    messages = [_line(f"- {m}") for m in run.messages]
    tail = ["", _line(f"Reference: {run_reference(run.id, base_url)}")]
    n_objects, n_messages = _fit(head, tail, objects, messages)
    lines = list(head)
    for title, items, kept, noun in (("Affected objects", objects, n_objects, "objects"),
                                     ("Messages", messages, n_messages, "messages")):
        if items:
            lines += ["", f"{title} ({len(items)}):", *items[:kept]]
            if kept < len(items):
                lines.append(_more(len(items) - kept, noun))
    return "\n".join(lines + tail)


def _more(count: int, noun: str) -> str:
    return f"{ELLIPSIS} {count} more {noun}"


def _fit(head: list[str], tail: list[str], objects: list[str], messages: list[str]) -> tuple[int, int]:
    """How many object and message lines fit, shortening the longer list first, one line at a time.

    Sizes come from prefix sums, so a run with many thousands of objects costs linear time.
    """
    def prefix(items: list[str]) -> list[int]:
        sums = [0]
        for item in items:
            sums.append(sums[-1] + len(item) + 1)
        return sums

    obj_sums, msg_sums = prefix(objects), prefix(messages)
    fixed = sum(len(x) + 1 for x in head + tail) - 1
    # A section costs its blank line and title line (with the total count in it), its kept lines, and the "more" line.
    obj_fixed = len(f"\nAffected objects ({len(objects)}):\n") if objects else 0
    msg_fixed = len(f"\nMessages ({len(messages)}):\n") if messages else 0

    def size(n_o: int, n_m: int) -> int:
        total = fixed + obj_fixed + msg_fixed + obj_sums[n_o] + msg_sums[n_m]
        if n_o < len(objects):
            total += len(_more(len(objects) - n_o, "objects")) + 1
        if n_m < len(messages):
            total += len(_more(len(messages) - n_m, "messages")) + 1
        return total

    n_o, n_m = len(objects), len(messages)
    while size(n_o, n_m) > DESCRIPTION_MAX and (n_o or n_m):
        if n_m and (n_m >= n_o or not n_o):
            n_m -= 1
        else:
            n_o -= 1
    return n_o, n_m


def build_ticket_draft(
    run: Run, customer: Customer, mapping: CompanyMapping, settings: AutotaskSettings
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
    )
