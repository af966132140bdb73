"""The explicit 1-to-1 mapping of a Backupchecks customer to an Autotask company.

The company ID leads; the company name is a cached display value. Every transition is a pure function
returning a new mapping.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

PSA_TYPE = "autotask"


class MappingStatus(StrEnum):
    OK = "ok"
    RENAMED = "renamed"
    MISSING = "missing"
    INVALID = "invalid"


class LookupOutcome(StrEnum):
    FOUND = "found"
    NOT_FOUND = "not_found"
    INACTIVE = "inactive"


INVALID_REASONS: dict[LookupOutcome, str] = {
    LookupOutcome.NOT_FOUND: "The Autotask company no longer exists.",
    LookupOutcome.INACTIVE: "The Autotask company is inactive.",
}
"""Only what Autotask says about the company itself invalidates a mapping. A permission answer ("not adequate
permissions") is about the API user's rights, not the company: it is the integration's problem, reported as such, and
leaves every mapping as it is."""


@dataclass(frozen=True, slots=True)
class CompanyLookup:
    """What a live look-up of one company found (a permission refusal is not a finding: it is raised)."""

    company_id: int
    outcome: LookupOutcome
    name: str | None = None

    @classmethod
    def found(cls, company_id: int, name: str, *, is_active: bool) -> CompanyLookup:
        return cls(company_id, LookupOutcome.FOUND if is_active else LookupOutcome.INACTIVE, name)


@dataclass(frozen=True, slots=True)
class CompanyMapping:
    customer_id: str
    status: MappingStatus
    company_id: int | None = None
    company_name: str | None = None
    previous_company_name: str | None = None
    status_reason: str | None = None
    last_synced_at: datetime | None = None
    psa: str = PSA_TYPE
    version: int = 1
    """Grows with every change: a re-check is stored only over the version it was computed from (compare-and-set),
    so it never overwrites an operator's newer, explicit change."""

    @classmethod
    def missing(cls, customer_id: str) -> CompanyMapping:
        return cls(customer_id=customer_id, status=MappingStatus.MISSING)

    @classmethod
    def from_lookup(
        cls, customer_id: str, lookup: CompanyLookup, at: datetime, replacing: CompanyMapping | None = None
    ) -> CompanyMapping:
        """Map a customer to a company just found live (over the mapping it `replacing`, if any). Only a found,
        active company can be mapped."""
        if lookup.outcome is not LookupOutcome.FOUND or lookup.name is None:
            raise ValueError(f"cannot map to a company that is {lookup.outcome.value}")
        return cls(
            customer_id=customer_id,
            status=MappingStatus.OK,
            company_id=lookup.company_id,
            company_name=lookup.name,
            last_synced_at=at,
            version=1 if replacing is None else replacing.version + 1,
        )

    @property
    def blocks_tickets(self) -> bool:
        return self.status in (MappingStatus.MISSING, MappingStatus.INVALID)

    def after_lookup(self, lookup: CompanyLookup, at: datetime) -> CompanyMapping:
        """The mapping as a re-check leaves it: same name → ok, new name → renamed, gone → invalid."""
        if self.company_id is None or lookup.company_id != self.company_id:
            raise ValueError("the look-up is not of this mapping's company")
        if lookup.outcome is not LookupOutcome.FOUND or lookup.name is None:
            return replace(
                self,
                status=MappingStatus.INVALID,
                status_reason=INVALID_REASONS[lookup.outcome],
                last_synced_at=at,
                version=self.version + 1,
            )
        if lookup.name == self.company_name:
            keep_renamed = self.status is MappingStatus.RENAMED
            return replace(
                self,
                status=MappingStatus.RENAMED if keep_renamed else MappingStatus.OK,
                status_reason=None,
                previous_company_name=self.previous_company_name if keep_renamed else None,
                last_synced_at=at,
                version=self.version + 1,
            )
        return replace(
            self,
            status=MappingStatus.RENAMED,
            status_reason=None,
            previous_company_name=self.company_name,
            company_name=lookup.name,
            last_synced_at=at,
            version=self.version + 1,
        )

    def confirmed(self) -> CompanyMapping:
        """An operator accepts a renamed company: back to ok, the previous name dropped."""
        if self.status is not MappingStatus.RENAMED and self.status is not MappingStatus.OK:
            raise ValueError(f"a {self.status.value} mapping cannot be confirmed")
        return replace(self, status=MappingStatus.OK, previous_company_name=None, version=self.version + 1)

    def cleared(self) -> CompanyMapping:
        return replace(CompanyMapping.missing(self.customer_id), version=self.version + 1)
