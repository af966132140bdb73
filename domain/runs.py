"""Customers and backup runs, as Backupchecks core reports them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class RunStatus(StrEnum):
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"
    MISSED = "missed"

    @property
    def label(self) -> str:
        return self.value.capitalize()

    @property
    def ticketable(self) -> bool:
        """Tickets are created for warning, error and missed runs only."""
        return self is not RunStatus.SUCCESS


class ObjectStatus(StrEnum):
    SUCCESS = "success"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Customer:
    """A Backupchecks customer. Its name is Backupchecks' own and never overwritten from the PSA."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class RunObject:
    """One affected object of a run (a VM, a disk, a share)."""

    name: str
    status: ObjectStatus
    type: str | None = None
    message: str | None = None


@dataclass(frozen=True, slots=True)
class Run:
    """One execution of a backup job."""

    id: str
    customer_id: str
    job_name: str
    backup_software: str
    backup_type: str
    run_at: datetime
    status: RunStatus
    objects: tuple[RunObject, ...] = ()
    messages: tuple[str, ...] = ()
