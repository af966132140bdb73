"""Customers on the wire: a customer in, a customer (with its Autotask mapping) out, a page of them."""

from __future__ import annotations

from msgspec import Struct

from application.use_cases.list_customers import CustomerView
from domain.runs import Customer
from entrypoints.http.schemas.common import Text, out
from entrypoints.http.schemas.mappings import MappingOut


class CustomerIn(Struct, forbid_unknown_fields=True):
    name: Text


class CustomerOut(Struct):
    id: str
    name: str
    autotask: MappingOut | None


class CustomerPage(Struct):
    items: list[CustomerOut]
    next_cursor: str | None


def customer_in(customer_id: str, data: CustomerIn) -> Customer:
    return Customer(customer_id, data.name)


def customer_out(view: CustomerView) -> CustomerOut:
    return out({"id": view.customer.id, "name": view.customer.name, "autotask": view.mapping}, CustomerOut)
