"""What the pages say, without a browser: the real app over plain HTTP for the bugs of issue 18, and every run state,
refusal and role rendered from its view model (no reason, label or link may render empty)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import replace
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, get_args

import pytest
from litestar import Litestar, Request
from litestar.testing import AsyncTestClient
from markupsafe import escape

from application.errors import Forbidden, NotConfigured
from application.ports import Company
from application.use_cases.list_customers import CustomerAction, customer_view
from application.use_cases.view_runs import CreateBlocked, RunView
from domain.draft import TicketRefusal
from domain.mapping import CompanyMapping, MappingStatus
from domain.roles import Actor, Permission, Role
from domain.runs import Customer, Run, RunStatus
from domain.tickets import DenyReason, LinkState, Ticket, TicketLink, TicketStatus
from entrypoints.asgi import create_app
from entrypoints.web.customer_rows import MAPPING_FILTERS, customer_rows
from entrypoints.web.plumbing import page
from entrypoints.web.run_rows import CellKind, run_rows
from tests.http.conftest import AT, NO_LIMIT, Client, HttpWorld, make_world

PASSWORD = "a long enough password"


@pytest.fixture
def world(tmp_path: Path) -> HttpWorld:
    w = make_world(tmp_path)
    w.seed()
    w.configure()
    return w


@pytest.fixture
async def client(world: HttpWorld) -> AsyncIterator[Client]:
    async with AsyncTestClient(create_app(world.container, throttle=NO_LIMIT)) as c:
        yield c


async def signed_in(client: Client, world: HttpWorld, role: Role) -> str:
    """Signs `role` in through the sign-in form; the CSRF token of the session's forms."""
    user = world.store.users[role.value]
    world.store.users[role.value] = replace(user, password_hash=world.container.hasher().hash_password(PASSWORD))
    form = await client.get("/sign-in")
    token = re.search(r'name="_csrf" value="([0-9a-f]+)"', form.text)
    assert token is not None
    answer = await client.post("/sign-in", data={"_csrf": token[1], "username": role.value, "password": PASSWORD})
    found = re.search(r'name="_csrf" value="([0-9a-f]+)"', answer.text)
    assert answer.status_code == 200 and found is not None, answer.text
    return found[1]


def run_row(html: str, run_id: str) -> str:
    found = re.search(rf'<li class="run" id="run-{run_id}".*?</li>\s*(?=<li class="run"|</ol>)', html, re.S)
    assert found is not None, html
    return found[0]


async def test_incomplete_ticket_settings_are_said_in_words(
    client: Client,
    world: HttpWorld,
) -> None:
    """Issue 18's first bug: `ticket_settings_incomplete` rendered an empty blocked reason."""
    world.configure(default_queue_id=None)
    await signed_in(client, world, Role.OPERATOR)
    mapped = await client.put(
        "/api/v1/customers/c1/autotask-mapping", json={"company_id": 100}, headers=world.auth(Role.OPERATOR)
    )
    assert mapped.status_code == 200, mapped.text
    row = run_row((await client.get("/runs")).text, "r-err")
    blocked = re.search(r'<p class="blocked">(.*?)</p>', row, re.S)
    assert blocked is not None, row
    assert "queue" in blocked[1] and "priorities" in blocked[1], row


def test_the_create_refusals_named_by_the_view_are_the_use_cases_codes() -> None:
    """`CreateBlocked` spells two codes as literals (mypy checks their words): they are the ones CreateTicket raises."""
    literal, refusals = get_args(CreateBlocked)
    assert set(get_args(literal)) == {Forbidden.code, NotConfigured.code} and refusals is TicketRefusal


@pytest.mark.parametrize("role", list(Role))
async def test_the_customers_page_offers_what_the_use_case_allows(
    client: AsyncTestClient,  # type: ignore[type-arg]
    world: HttpWorld,
    role: Role,
) -> None:
    """ListCustomers decides each customer's actions (`customer_view`); the page shows exactly those controls."""
    mapped = await client.put(
        "/api/v1/customers/c1/autotask-mapping", json={"company_id": 100}, headers=world.auth(Role.OPERATOR)
    )
    assert mapped.status_code == 200, mapped.text
    await signed_in(client, world, role)
    html = (await client.get("/customers")).text
    mapper = Actor(role.value, role).may(Permission.MANAGE_MAPPINGS)
    row = re.search(r'<tr id="customer-c1">.*?</tr>', html, re.S)
    assert row is not None, html
    assert ("Re-check" in row[0] and "Clear" in row[0] and "Choose company" in row[0]) is mapper, row[0]
    assert "Confirm rename" not in row[0]  # the mapping is ok: nothing to confirm
    assert ("Map by company ID" in (await client.get("/customers/c1")).text) is mapper


def badges(html: str) -> dict[str, str]:
    """The Customers page's rows: customer id → its mapping badge."""
    return dict(re.findall(r'<tr id="customer-([^"]+)">.*?<span class="badge map-[a-z]+">([a-z]+)</span>', html, re.S))


async def test_the_mapping_badge_and_filter_say_what_the_api_says(client: Client, world: HttpWorld) -> None:
    """A never-mapped customer (`autotask: null`) is `unmapped`, found by the `unmapped` filter and not by `missing`;
    `missing` is a mapping that was cleared, and is found by both."""
    for customer_id in ("c1", "c2"):
        mapped = await client.put(
            f"/api/v1/customers/{customer_id}/autotask-mapping",
            json={"company_id": 100},
            headers=world.auth(Role.OPERATOR),
        )
        assert mapped.status_code == 200, mapped.text
    cleared = await client.delete("/api/v1/customers/c2/autotask-mapping", headers=world.auth(Role.OPERATOR))
    assert cleared.status_code in (200, 204), cleared.text
    world.store.customers["c3"] = Customer("c3", "Never Mapped")
    api = (await client.get("/api/v1/customers", headers=world.auth(Role.OPERATOR))).json()
    assert {c["id"]: c["autotask"] and c["autotask"]["status"] for c in api["items"]} == {
        "c1": "ok",
        "c2": "missing",
        "c3": None,
    }
    await signed_in(client, world, Role.OPERATOR)
    assert badges((await client.get("/customers")).text) == {"c1": "ok", "c2": "missing", "c3": "unmapped"}
    for mapping, api_mapping in (("missing", "missing"), ("unmapped", "unmapped"), ("ok", "ok")):
        page_html = (await client.get(f"/customers?mapping={mapping}")).text
        query = f"/api/v1/customers?mapping={api_mapping}"
        api_ids = {c["id"] for c in (await client.get(query, headers=world.auth(Role.OPERATOR))).json()["items"]}
        assert set(badges(page_html)) == api_ids, (mapping, page_html)
    assert set(badges((await client.get("/customers?mapping=missing")).text)) == {"c2"}
    assert set(badges((await client.get("/customers?mapping=unmapped")).text)) == {"c2", "c3"}
    html = (await client.get("/customers")).text
    assert (
        ">missing (mapping cleared)</option>" in html
        and ">unmapped (no company: never mapped or cleared)</option>" in html
    )
    assert '<span class="badge map-unmapped">unmapped</span>' in (await client.get("/customers/c3")).text


# Every state × refusal × role, from the enums themselves: the real view-model functions (run_rows, customer_rows)
# over every code, rendered by the real templates through the app's own template engine and `page()`. A code without
# words fails here (assert_never raises; an empty word leaves an empty reason, label or link).

TEMPLATES = Path(__file__).resolve().parents[2] / "entrypoints" / "web" / "templates"
NAMES = (("T20260115.0001", 7), (None, 7), (None, None))
"""A ticket's number and id as Autotask may give them: both (linked), the id only (not read back), neither yet."""
CHECKED_TAGS = {"a", "button", "label", "option", "h1", "h2", "th", "title", "legend", "strong", "time"}
CHECKED_CLASSES = {"blocked", "badge", "flash", "muted", "note", "open", "tstatus", "who", "customer", "empty"}
CHECKED_ATTRIBUTES = {"href", "action", "aria-label", "data-confirm", "title", "aria-describedby", "for", "id"}
VOID = {"input", "meta", "link", "br", "img", "hr"}


class Element:
    def __init__(self, tag: str, attrs: dict[str, str]) -> None:
        self.tag, self.attrs, self.text = tag, attrs, ""

    def described(self) -> str:
        return f"<{self.tag} {self.attrs}>"


class Elements(HTMLParser):
    """Every element of a page with its whole text (its children's included)."""

    def __init__(self) -> None:
        super().__init__()
        self.open: list[Element] = []
        self.all: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.all.append(element)
        if tag not in VOID:
            self.open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.open.pop().tag == tag:
                break

    def handle_data(self, data: str) -> None:
        for element in self.open:
            element.text += data


def empty_parts(html: str) -> list[str]:
    """Each reason, label or link of `html` that renders empty (or as Python's `None`)."""
    parser = Elements()
    parser.feed(html)
    problems = []
    for e in parser.all:
        text = " ".join(e.text.split())
        classes = set(e.attrs.get("class", "").split())
        if (e.tag in CHECKED_TAGS or classes & CHECKED_CLASSES) and not (text or e.attrs.get("aria-label")):
            problems.append(f"empty text: {e.described()}")
        if text == "None" or text.endswith(":") or "None" in text.split():
            problems.append(f"text {text!r}: {e.described()}")
        for name in CHECKED_ATTRIBUTES & e.attrs.keys():
            if e.attrs[name].strip() in ("", "None", "#"):
                problems.append(f"empty {name}: {e.described()}")
        if e.tag in ("input", "button") and e.attrs.get("type") == "hidden" and not e.attrs.get("value"):
            problems.append(f"empty hidden value: {e.described()}")
    return problems


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Litestar:
    return create_app(make_world(tmp_path_factory.mktemp("render")).container, throttle=NO_LIMIT)


def rendered(app: Litestar, path: str, name: str, actor: Actor, **context: Any) -> str:
    """`name` as `page()` answers it to a signed-in browser at `path`."""
    scope = {
        "type": "http",
        "app": app,
        "litestar_app": app,
        "method": "GET",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"cookie", b"bc_session=the-session-id")],
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 1),
        "path_params": {},
        "state": {},
    }
    request: Request[Any, Any, Any] = Request(scope)  # type: ignore[arg-type]
    template = page(request, name, actor, **context)
    assert template.context["csrf"], "a signed-in page's forms carry a CSRF token"
    engine = app.template_engine
    assert engine is not None
    return str(engine.get_template(template.template_name).render(**template.context, request=request))


def create_refusals() -> list[CreateBlocked]:
    literal, refusals = get_args(CreateBlocked)
    return [*get_args(literal), *refusals]


def run_views(actor: Actor) -> list[RunView]:
    """A run for every create refusal (and none), and a linked run for every link state × resolve refusal (and none)
    × way Autotask names a ticket. A role that may not act on tickets is offered nothing."""
    may_act = actor.may(Permission.MANAGE_TICKETS)

    def run(run_id: str) -> Run:
        return Run(run_id, "c1", "Nightly", "Veeam", "Backup job", AT, RunStatus.ERROR, (), ("Job failed",))

    views = [
        RunView(run(f"new-{i}"), "Acme", None, ("create_ticket",) if may_act and reason is None else (), None, reason)
        for i, reason in enumerate([None, *create_refusals()])
    ]
    for state in LinkState:
        for url in (None, "https://ww1.autotask.net/ticket/7"):
            for number, ticket_id in NAMES:
                for reason in [None, *DenyReason]:
                    run_id = f"t-{len(views)}"
                    ticket = None
                    if (
                        number is not None and ticket_id is not None
                    ):  # linked; else created but not read back, or not yet
                        ticket = Ticket(ticket_id, number, url, TicketStatus(1, "New", AT))
                    unread = ticket_id if ticket is None else None
                    link = TicketLink(
                        run_id, state, f"bc-{run_id}", "operator", AT, ticket=ticket, unread_ticket_id=unread
                    )
                    actions: tuple[str, ...] = ("open_ticket",) if url else ()
                    if may_act and reason is None and state is not LinkState.PENDING:
                        actions += ("resolve_ticket",)
                    views.append(RunView(run(run_id), "Acme", link, actions, reason))
    return views


@pytest.mark.parametrize("role", list(Role))
def test_every_run_state_and_refusal_renders_its_words(app: Litestar, role: Role) -> None:
    actor = Actor(role.value, role)
    views = run_views(actor)
    rows = run_rows(views)
    for row in rows:  # the view model says something for every cell …
        cell = row.ticket
        assert cell.text.strip(), row
        if cell.resolve is not None:
            assert (cell.resolve.confirm if cell.resolve.offered else cell.resolve.why_not).strip(), row
    html = rendered(app, "/runs/x", "runs.html", actor, views=rows, single=True, refreshing=False, next_query=None)
    assert empty_parts(html) == []  # … and the page prints it
    for row in rows:
        shown = run_row(html, row.run.id)
        assert escape(row.ticket.text) in shown, shown
        if row.ticket.resolve is not None and not row.ticket.resolve.offered:
            assert escape(row.ticket.resolve.why_not) in shown, shown
    kinds = {row.ticket.kind for row in rows}  # every kind of cell was rendered (none may be created without the role)
    assert kinds == (set(CellKind) if actor.may(Permission.MANAGE_TICKETS) else set(CellKind) - {CellKind.CREATE})


def mappings(customer_id: str) -> list[CompanyMapping | None]:
    """Never mapped, and every status with and without a company."""
    found: list[CompanyMapping | None] = [None]
    for status in MappingStatus:
        found.append(CompanyMapping(customer_id, status, status_reason="The Autotask company is inactive."))
        found.append(
            CompanyMapping(
                customer_id,
                status,
                company_id=100,
                company_name="Acme BV",
                previous_company_name="Acme" if status is MappingStatus.RENAMED else None,
                status_reason="The Autotask company is inactive." if status is MappingStatus.INVALID else None,
            )
        )
    return found


@pytest.mark.parametrize("role", list(Role))
def test_every_customer_status_renders_its_words_and_controls(app: Litestar, role: Role) -> None:
    actor = Actor(role.value, role)
    views = [
        customer_view(actor, Customer(f"c{i}", f"Customer {i}"), mapping) for i, mapping in enumerate(mappings("c"))
    ]
    rows = customer_rows(views)
    for row in rows:
        assert all(c.label.strip() for c in row.controls), row
        if row.status in (MappingStatus.RENAMED, MappingStatus.INVALID) and row.mapping and row.mapping.company_id:
            assert (row.note or row.problem).strip(), row
    may_map = actor.may(Permission.MANAGE_MAPPINGS)
    assert {a for v in views for a in v.actions} == (set(CustomerAction) if may_map else set())
    html = rendered(
        app,
        "/customers",
        "customers.html",
        actor,
        views=rows,
        total=len(rows),
        search="",
        mapping="",
        mapping_filters=MAPPING_FILTERS,
        first_query=None,
        next_query=None,
        suggestions=None,
        notice=None,
        may_map=may_map,
    )
    assert empty_parts(html) == []
    for row in rows:
        for c in row.controls:
            assert escape(c.label) in html
        page_html = rendered(
            app,
            f"/customers/{row.customer.id}",
            "customer.html",
            actor,
            view=row,
            customer_id=row.customer.id,
            search="Acme",
            companies=[Company(100, "Acme BV", True), Company(102, "Old Corp", False)],
            more=True,
            notice=None,
        )
        assert empty_parts(page_html) == []
        assert ("Map to this company" in page_html) is row.may_map


STRING_CODE = re.compile(r"([\w.]+)\s*(?:==|!=)\s*['\"]")
FORM_ECHOES = {("runs.html", "ticket")}
"""A select that marks the option the query asked for compares the query's own text, not a code."""


def test_no_template_branches_on_a_string_code() -> None:
    """Codes are compared as enums (CellKind, FieldKind, Environment) or decided in the view model, never as text."""
    found = {
        (template.name, match[1])
        for template in TEMPLATES.glob("*.html")
        for match in STRING_CODE.finditer(template.read_text())
    }
    assert found <= FORM_ECHOES


def test_the_csrf_field_is_written_once() -> None:
    """Every form takes its token from `_macros.html` (`csrf_field`, or `post_button` which calls it)."""
    writers = [t.name for t in TEMPLATES.glob("*.html") if 'name="_csrf"' in t.read_text()]
    assert writers == ["_macros.html"]
    assert (TEMPLATES / "_macros.html").read_text().count('name="_csrf"') == 1
    posting = [t for t in TEMPLATES.glob("*.html") if 'method="post"' in t.read_text() and t.name != "_macros.html"]
    for template in posting:
        text = template.read_text()
        assert text.count('method="post"') == text.count("ui.csrf_field()"), template.name


async def test_details_say_booleans_and_absent_values_in_words(client: Client, world: HttpWorld) -> None:
    """The Background work's last result and the audit's details: no Python `True`, `False` or `None` on a page."""
    assert (await world.container.scheduler().tick())["status_sync"] == "ran"
    csrf = await signed_in(client, world, Role.ADMIN)
    tested = await client.post("/settings/autotask/test-connection", data={"_csrf": csrf})
    assert tested.status_code == 200, tested.text
    settings = (await client.get("/settings/autotask")).text
    jobs = re.search(r'<table class="jobs">.*?</table>', settings, re.S)
    assert jobs is not None, settings
    assert "full: yes" in jobs[0] or "full: no" in jobs[0], jobs[0]
    audit = (await client.get("/audit")).text
    details = re.findall(r'<td data-label="Details" class="details">(.*?)</td>', audit, re.S)
    assert "settings.test_connection" in audit and details, audit
    for text in (jobs[0], *details):  # a successful test connection's `code` is None: left out
        assert not re.search(r"\b(True|False|None)\b", text), text


async def test_the_favicon_is_served_with_the_static_files_headers(client: Client) -> None:
    """Every page links the SVG icon; /favicon.ico (asked for by browsers on their own) leads to it, never a 404."""
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in (await client.get("/sign-in")).text
    ico = await client.get("/favicon.ico", follow_redirects=False)
    assert ico.status_code == 308 and ico.headers["location"] == "/static/favicon.svg", ico.headers
    icon = await client.get("/static/favicon.svg")
    css = await client.get("/static/app.css")
    assert icon.status_code == 200 and icon.headers["content-type"].startswith("image/svg+xml"), icon.headers
    assert icon.text.startswith("<svg")
    for name in ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy"):
        assert icon.headers.get(name) == css.headers.get(name) is not None, name
        assert ico.headers.get(name) == css.headers.get(name), name
