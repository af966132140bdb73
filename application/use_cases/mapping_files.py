"""Mappings as a CSV file (issue 19): the export (`customer_id,customer_name,company_id,company_name,status`, every
customer) and the import (`customer_id,company_id`; an empty company_id removes the mapping). An import is checked
whole before anything is applied: any bad line refuses the file (ImportInvalid naming each line) and nothing changes;
a good file is applied in one transaction, each changed mapping audited. Companies are checked live in bulk."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Container, Iterator
from dataclasses import dataclass
from datetime import datetime

from application.attempts import Attempt
from application.deps import UseCase
from application.errors import ImportInvalid, InvalidInput, LineError, MappingChanged
from application.mapping_checks import store_checked
from application.ports import Company, CustomerQuery, PsaError, UnitOfWork
from application.psa_connection import connected, psa_error
from domain.mapping import CompanyLookup, CompanyMapping
from domain.roles import Actor, Permission

EXPORT_COLUMNS = ("customer_id", "customer_name", "company_id", "company_name", "status")
EXPORT_BATCH = 1000
IMPORT_MAX_LINES = 20_000
COMPANY_ID_MAX = 2**31 - 1


def _csv_line(values: tuple[object, ...]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\r\n").writerow(["" if v is None else _safe(str(v)) for v in values])
    return out.getvalue()


def _safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (a leading `=`, `+`, `-`, `@` gets a `'`)."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class ExportMappings(UseCase):
    async def execute(self, actor: Actor) -> AsyncIterator[str]:
        """The file's lines: the header, then every customer by id (its status `missing` when never mapped), read a
        thousand customers (and their mappings) a query."""
        await Attempt(self.deps, actor, "mapping.export", ("customers", "*")).authorized(Permission.MANAGE_MAPPINGS)
        return self._lines()

    async def _lines(self) -> AsyncIterator[str]:
        yield _csv_line(EXPORT_COLUMNS)
        after: str | None = None
        while True:
            async with self.deps.uow(read_only=True) as uow:
                customers = await uow.customers.query(CustomerQuery(limit=EXPORT_BATCH, after=after))
                mappings = await uow.mappings.get_many([c.id for c in customers])
            for c in customers:
                m = mappings.get(c.id)
                status = "missing" if m is None else m.status.value
                yield _csv_line((c.id, c.name, m and m.company_id, m and m.company_name, status))
            if len(customers) < EXPORT_BATCH:
                return
            after = customers[-1].id


@dataclass(frozen=True, slots=True)
class ImportLine:
    line: int
    customer_id: str
    company_id: int | None


@dataclass(frozen=True, slots=True)
class Imported:
    mapped: int
    removed: int
    unchanged: int
    dry_run: bool


def parse(text: str) -> tuple[list[ImportLine], list[LineError]]:
    """The file's lines (a header naming `customer_id` and `company_id`, in any order, other columns ignored; comma or
    semicolon, as the header uses), and the errors found reading it."""
    text = text.removeprefix("\ufeff")
    header = text.split("\n", 1)[0]
    delimiter = ";" if header.count(";") > header.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    columns = _columns(reader)
    lines: list[ImportLine] = []
    errors: list[LineError] = []
    seen: dict[str, int] = {}
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            errors.append(LineError(reader.line_num, "", "line_unreadable", f"The line cannot be read: {error}."))
            break
        if not any(cell.strip() for cell in row):
            continue
        if len(lines) + len(errors) >= IMPORT_MAX_LINES:
            raise InvalidInput("body", f"A file holds at most {IMPORT_MAX_LINES} mappings.")
        match _line(reader.line_num, row, columns, seen):
            case ImportLine() as line:
                lines.append(line)
            case LineError() as wrong:
                errors.append(wrong)
    return lines, errors


def _columns(reader: Iterator[list[str]]) -> tuple[int, int]:
    """Where the header puts `customer_id` and `company_id`; ImportInvalid when it names either not."""
    try:
        names = [n.strip().lower() for n in next(reader)]
    except (StopIteration, csv.Error):
        names = []
    if "customer_id" not in names or "company_id" not in names:
        header_error = LineError(
            1, "", "header_invalid", "The first line must name the columns customer_id and company_id."
        )
        raise ImportInvalid([header_error])
    return names.index("customer_id"), names.index("company_id")


def _line(number: int, row: list[str], columns: tuple[int, int], seen: dict[str, int]) -> ImportLine | LineError:
    """One line of the file read, or what is wrong with it; `seen` (customer id: its first line) grows."""
    at_customer, at_company = columns
    cells = row + [""] * (max(at_customer, at_company) + 1 - len(row))
    customer_id, company = cells[at_customer].strip(), cells[at_company].strip()
    if customer_id:
        seen.setdefault(customer_id, number)
    if not customer_id or len(customer_id) > 64:
        return LineError(number, customer_id[:64], "customer_id_invalid", "A customer id (1-64) is needed.")
    if seen[customer_id] != number:
        message = f"Customer {customer_id} is on line {seen[customer_id]} already."
        return LineError(number, customer_id, "duplicate_customer", message)
    if company and not (company.isascii() and company.isdigit() and 0 < int(company) <= COMPANY_ID_MAX):
        message = "The company_id must be a whole number (an Autotask company ID), or empty to remove."
        return LineError(number, customer_id, "company_id_invalid", message)
    return ImportLine(number, customer_id, int(company) if company else None)


class ImportMappings(UseCase):
    async def execute(self, actor: Actor, text: str, *, dry_run: bool) -> Imported:
        async with Attempt(self.deps, actor, "mapping.import", ("customers", "*")) as attempt:
            attempt.authorize(Permission.MANAGE_MAPPINGS)
            lines, errors = parse(text)
            ids = [line.customer_id for line in lines]
            async with self.deps.uow(read_only=True) as uow:
                customers = await uow.customers.get_many(ids)
                before = await uow.mappings.get_many(ids)
            known = _known(lines, customers, errors)
            changes = [line for line in known if line.company_id != _company_id(before.get(line.customer_id))]
            companies = await self._companies(changes)
            errors.extend(_company_errors(changes, companies))
            if errors:
                raise ImportInvalid(sorted(errors, key=lambda e: e.line))
            mapped = sum(1 for line in changes if line.company_id is not None)
            result = Imported(mapped, len(changes) - mapped, len(known) - len(changes), dry_run)
            if dry_run or not changes:
                return result
            await self._apply(attempt, changes, before, companies, result)
            return result

    async def _companies(self, changes: list[ImportLine]) -> dict[int, Company]:
        """The Autotask companies the changed lines name, read live in bulk."""
        wanted = sorted({line.company_id for line in changes if line.company_id is not None})
        if not wanted:
            return {}
        _, gateway = await connected(self.deps)
        try:
            return await gateway.get_companies(wanted)
        except PsaError as error:
            raise psa_error(error) from error

    async def _apply(
        self,
        attempt: Attempt,
        changes: list[ImportLine],
        before: dict[str, CompanyMapping],
        companies: dict[int, Company],
        result: Imported,
    ) -> None:
        """Every change in one transaction, each audited as its own mapping action, with the import's record."""
        now = self.deps.clock.now()
        async with self.deps.uow() as uow:
            for line in changes:
                await self._change(uow, attempt.actor, line, before.get(line.customer_id), companies, now)
            await attempt.record(uow, mapped=result.mapped, removed=result.removed, unchanged=result.unchanged)
            await uow.commit()

    async def _change(
        self,
        uow: UnitOfWork,
        actor: Actor,
        line: ImportLine,
        previous: CompanyMapping | None,
        companies: dict[int, Company],
        now: datetime,
    ) -> None:
        target = ("customer", line.customer_id)
        if line.company_id is None:
            assert previous is not None
            if not await store_checked(uow, previous, previous.cleared()):
                raise MappingChanged()
            await Attempt(self.deps, actor, "mapping.clear", target).record(uow, via="import")
            return
        company = companies[line.company_id]
        lookup = CompanyLookup.found(company.id, company.name, is_active=company.is_active)
        mapping = CompanyMapping.from_lookup(line.customer_id, lookup, now, replacing=previous)
        if not await store_checked(uow, previous, mapping):
            raise MappingChanged()
        await Attempt(self.deps, actor, "mapping.set", target).record(
            uow, company_id=company.id, company_name=company.name, via="import"
        )


def _company_id(mapping: CompanyMapping | None) -> int | None:
    return None if mapping is None else mapping.company_id


def _known(lines: list[ImportLine], customers: Container[str], errors: list[LineError]) -> list[ImportLine]:
    """The lines naming a customer Backupchecks holds; an error added for each other."""
    known = []
    for line in lines:
        if line.customer_id in customers:
            known.append(line)
        else:
            message = f"Backupchecks has no customer {line.customer_id}."
            errors.append(LineError(line.line, line.customer_id, "customer_not_found", message))
    return known


def _company_errors(changes: list[ImportLine], companies: dict[int, Company]) -> list[LineError]:
    """A line naming a company Autotask does not show, or an inactive one."""
    errors = []
    for line in changes:
        if line.company_id is None:
            continue
        company = companies.get(line.company_id)
        if company is None:
            message = f"No Autotask company has ID {line.company_id} (or the API user cannot see it)."
            errors.append(LineError(line.line, line.customer_id, "company_not_found", message))
        elif not company.is_active:
            message = f"Autotask company {line.company_id} ({company.name}) is inactive."
            errors.append(LineError(line.line, line.customer_id, "company_inactive", message))
    return errors
