"""The Customers pages' view model: each customer as a `CustomerRow` saying, in words, its mapping's state and the
controls the use case allows (`CustomerView.actions`), so the templates only print them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from application.ports import MappingFilter
from application.use_cases.list_customers import CustomerAction, CustomerView
from domain.mapping import CompanyMapping, MappingStatus
from domain.runs import Customer


@dataclass(frozen=True, slots=True)
class Control:
    """One thing the caller may do to the customer's mapping: a link to the customer's page (`post` false) or a
    one-button form posting `action`."""

    action: CustomerAction
    label: str
    post: bool = True
    confirm: str | None = None
    primary: bool = False


@dataclass(frozen=True, slots=True)
class CustomerRow:
    customer: Customer
    mapping: CompanyMapping | None
    status: MappingStatus | None
    """The mapping's status, None when the customer was never mapped (the API's `autotask: null`)."""
    badge: str
    """The badge: the mapping's status, `unmapped` when the customer was never mapped (as the `unmapped` filter
    finds it; `missing` is a mapping that was cleared)."""
    note: str
    """A rename's old name, or empty."""
    problem: str
    """Why an invalid mapping is invalid, or empty."""
    controls: tuple[Control, ...]
    may_map: bool
    """The caller may choose (or change) the company: the customer's page offers the search and the ID form."""


def customer_rows(views: list[CustomerView]) -> list[CustomerRow]:
    return [customer_row(v) for v in views]


def customer_row(view: CustomerView) -> CustomerRow:
    m = view.mapping
    return CustomerRow(
        view.customer,
        m,
        m.status if m is not None else None,
        m.status.value if m is not None else MappingFilter.UNMAPPED.value,
        *_notes(m),
        tuple(control(a) for a in view.actions),
        CustomerAction.MAP in view.actions,
    )


def _notes(m: CompanyMapping | None) -> tuple[str, str]:
    """The note and the problem a mapping's status shows beside its badge."""
    if m is None:
        return "", ""
    match m.status:
        case MappingStatus.RENAMED:
            return (f"was “{m.previous_company_name}”" if m.previous_company_name else ""), ""
        case MappingStatus.INVALID:
            return "", m.status_reason or ""
        case MappingStatus.OK | MappingStatus.MISSING:
            return "", ""
        case _:
            assert_never(m.status)


def control(action: CustomerAction) -> Control:
    """An action's control, in words; an action without words fails `mypy --strict` here."""
    match action:
        case CustomerAction.MAP:
            return Control(action, "Choose company", post=False)
        case CustomerAction.REFRESH:
            return Control(action, "Re-check")
        case CustomerAction.CONFIRM:
            return Control(action, "Confirm rename", primary=True)
        case CustomerAction.CLEAR:
            return Control(action, "Clear", confirm="Clear this customer's mapping?")
        case _:
            assert_never(action)


def mapping_filter_label(f: MappingFilter) -> str:
    """A Mapping filter's words, with the API's meaning; a filter without words fails `mypy --strict` here."""
    match f:
        case MappingFilter.OK:
            return "ok"
        case MappingFilter.RENAMED:
            return "renamed (to confirm)"
        case MappingFilter.MISSING:
            return "missing (mapping cleared)"
        case MappingFilter.INVALID:
            return "invalid"
        case MappingFilter.UNMAPPED:
            return "unmapped (no company: never mapped or cleared)"
        case _:
            assert_never(f)


MAPPING_FILTERS = [(f.value, mapping_filter_label(f)) for f in MappingFilter]
"""The Customers page's Mapping filter: (value, words)."""
