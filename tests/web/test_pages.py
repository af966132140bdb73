"""Browser journeys through the web pages (operator, reporter, mappings, settings, audit, users, security)."""

from __future__ import annotations

import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from adapters.autotask_simulator.simulator import Fault
from domain.roles import Role
from entrypoints.demo import SIM_SECRET
from tests.web.conftest import SCREENSHOTS, Site, serve_demo, sign_in


def test_operator_journey(page: Any, site: Site) -> None:
    sign_in(page, site, Role.OPERATOR)
    runs = page.locator("li.run")
    assert {runs.nth(i).get_attribute("data-run") for i in range(runs.count())} >= {
        "run-acme-1",
        "run-acme-2",
        "run-initech-1",
    }
    assert page.locator("[data-run=run-acme-3]").count() == 0  # successful runs are not shown by default

    # Filter: only warnings of Acme.
    page.get_by_label("missed").uncheck()
    page.get_by_label("error").uncheck()
    choice = page.locator("datalist#customer-choices option", has_text="Acme Corporation")
    assert choice.get_attribute("value") == "cust-acme"  # the field offers names, and sends the id picked
    page.get_by_label("Customer").fill("cust-acme")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"/runs\?f=1"))
    assert [runs.nth(i).get_attribute("data-run") for i in range(runs.count())] == ["run-acme-2"]

    # Create: the preview shows in the run's row exactly what will be sent; then a double click makes one ticket only.
    page.on("dialog", lambda dialog: dialog.accept())
    before = len(site.sim.tickets)
    row = page.locator("[data-run=run-acme-2]")
    page.evaluate("window.samePage = true")
    row.get_by_role("button", name="Create Autotask ticket").dblclick()
    preview = row.locator("#ticket-preview")
    assert "[Backupchecks] Acme Corporation - " in preview.inner_text() and "Due" in preview.inner_text()
    assert "Customer: Acme Corporation" in preview.locator("pre.description").inner_text()
    assert len(site.sim.tickets) == before  # nothing sent yet
    preview.get_by_role("button", name="Create this ticket").dblclick()
    flash = page.get_by_role("status")
    assert re.search(r"Autotask ticket T\S+ was created", flash.inner_text())
    assert len(site.sim.tickets) == before + 1
    assert page.evaluate("window.samePage") is True  # the script replaced the run's row, not the page
    assert "customer=cust-acme" in page.url  # back on the filtered page
    opened = row.get_by_role("link", name=re.compile(r"^Open ticket T"))
    assert opened.get_attribute("target") == "_blank"
    assert "ExecuteCommand" in (opened.get_attribute("href") or "")  # the Autotask ticket's own address

    # A ticket with a time entry cannot be resolved: a disabled control and the reason in words.
    page.goto(site.url + "/runs")
    acme1 = page.locator("[data-run=run-acme-1]")
    assert acme1.get_by_role("button", name="Resolve").is_disabled()
    assert "time entries present" in acme1.inner_text()

    # Resolve the new ticket.
    page.goto(site.url + "/runs?f=1&status=warning")
    row.get_by_role("button", name="Resolve").click()
    page.wait_for_load_state()
    assert "was resolved in Autotask" in page.get_by_role("status").inner_text()


def test_reporter_sees_the_ticket_number_and_link_only(page: Any, site: Site) -> None:
    hostile = "<img src=x onerror=alert(1)><b>Evil & Co</b>"
    assert site.api("PUT", "/customers/cust-evil", json={"name": hostile}).status_code in (200, 201)
    run = {
        "customer_id": "cust-evil",
        "job_name": "<script>alert(2)</script>",
        "backup_software": "Veeam",
        "backup_type": "Backup job",
        "run_at": "2026-01-01T00:00:00Z",
        "status": "error",
    }
    assert site.api("PUT", "/runs/run-evil", json=run).status_code in (200, 201)
    sign_in(page, site, Role.REPORTER)
    acme1 = page.locator("[data-run=run-acme-1]")
    assert acme1.get_by_role("link", name=re.compile(r"^Open ticket T")).count() == 1
    assert acme1.get_by_role("button").count() == 0  # no resolve, not even disabled
    assert page.get_by_role("button", name="Create Autotask ticket").count() == 0
    assert page.get_by_role("link", name="Settings").count() == 0
    evil = page.locator("[data-run=run-evil]")
    assert hostile in evil.inner_text() and "<script>alert(2)</script>" in evil.inner_text()  # shown as text
    assert evil.locator("img, b, script").count() == 0
    page.goto(site.url + "/customers")
    assert page.locator("#customer-cust-globex").inner_text().count("renamed") == 1
    # Only the search: mappings (and their suggestions and files) are not the reporter's to change.
    assert (
        page.locator("main button").all_inner_texts() == ["Find"]
        and page.locator("main form[method=post]").count() == 0
    )
    page.goto(site.url + "/runs/run-acme-1")  # a ticket's "Reference" link
    assert page.locator("li.run").count() == 1
    assert page.get_by_role("link", name=re.compile("^Open ticket")).count() == 1
    page.goto(site.url + "/settings/autotask")
    assert "Your role may not do this." in page.content()


def test_mapping_flow(page: Any, site: Site) -> None:
    sign_in(page, site, Role.OPERATOR)
    site.sim.rename_company(100, "Acme Corporation International")
    page.get_by_role("link", name="Customers").click()
    # Opening the page re-checks the mappings in the background at most every few minutes (an earlier test may just
    # have): the button re-checks them now.
    page.get_by_role("button", name="Re-check all mappings").click()
    page.wait_for_load_state()
    acme, globex, initech = (page.locator(f"#customer-cust-{x}") for x in ("acme", "globex", "initech"))
    assert "Acme Corporation International" in acme.inner_text() and "renamed" in acme.inner_text()
    assert "was “Acme Corporation”" in acme.inner_text()
    assert "invalid" in initech.inner_text()
    assert "Globex Benelux Holding B.V." in globex.inner_text()
    acme.get_by_role("button", name="Confirm rename").click()
    page.wait_for_load_state()
    assert "confirmed" in page.get_by_role("status").inner_text()
    assert "ok" in page.locator("#customer-cust-acme .badge").inner_text()

    # An unmapped customer: search Autotask by name and choose the company by its ID.
    page.locator("#customer-cust-umbrella").get_by_role("link", name="Choose company").click()
    page.get_by_label("Search Autotask companies by name").fill("Umbrella")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("button", name="Map to Umbrella Health Care (ID 103)").click()
    page.wait_for_load_state()
    assert "Mapped to Autotask company Umbrella Health Care (ID 103)" in page.get_by_role("status").inner_text()

    # An invalid choice (an inactive company) is refused in words.
    page.goto(site.url + "/customers/cust-initech")
    page.get_by_label("Autotask company ID").fill("104")
    page.get_by_role("button", name="Map", exact=True).click()
    page.wait_for_load_state()
    assert "Not done (mapping the customer)" in page.get_by_role("alert").inner_text()

    # Company names from Autotask are text, never markup.
    site.sim.add_company(106, "<script>alert(3)</script><b>Evil</b> Co")
    page.get_by_label("Search Autotask companies by name").fill("Evil")
    page.get_by_role("button", name="Search").click()
    assert "<script>alert(3)</script><b>Evil</b> Co" in page.locator(".companies").inner_text()
    assert page.locator(".companies script, .companies b").count() == 0

    # Re-check one, re-check all (with the counts), clear.
    page.goto(site.url + "/customers")
    page.locator("#customer-cust-globex").get_by_role("button", name="Re-check").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text() == "Re-checked: renamed."
    page.get_by_role("button", name="Re-check all mappings").click()
    page.wait_for_load_state()
    assert re.fullmatch(
        r"Re-checked 4 mappings: 2 ok, 1 renamed, 1 invalid \(\d+ Autotask calls\)\.",
        page.get_by_role("status").inner_text(),
    )
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#customer-cust-initech").get_by_role("button", name="Clear").click()
    page.wait_for_load_state()
    assert "The mapping was cleared" in page.get_by_role("status").inner_text()
    assert page.locator("#customer-cust-initech .badge").inner_text() == "missing"


def test_settings_picklists_test_connection_and_validate(page: Any, site: Site) -> None:
    sign_in(page, site, Role.ADMIN)
    page.get_by_role("link", name="Settings").click()
    queue = page.get_by_label("Queue", exact=True)
    assert queue.locator("option").count() > 2  # read live from Autotask
    assert queue.input_value() != ""
    assert page.get_by_label(re.compile(r"^API password \(set")).input_value() == ""  # write-only
    assert SIM_SECRET not in page.content()
    assert page.get_by_label("Closing note (fixed)").get_attribute("readonly") is not None
    assert re.search(r"API usage: \d+ of \d+ requests", page.content())
    page.get_by_role("button", name="Test connection").click()
    page.wait_for_load_state()
    assert page.get_by_role("status").inner_text().startswith("Test connection: Connected")
    page.get_by_role("button", name="Validate").click()
    page.wait_for_load_state()
    assert "every setting fits" in page.get_by_role("status").inner_text()
    page.get_by_label("Allow resolving tickets from Backupchecks").uncheck()
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_load_state()
    assert "The settings were saved." in page.get_by_role("status").inner_text()
    assert not page.get_by_label("Allow resolving tickets from Backupchecks").is_checked()
    page.get_by_label("Allow resolving tickets from Backupchecks").check()
    page.get_by_role("button", name="Save settings").click()
    page.wait_for_load_state()


def test_audit_filter_verify_and_export(page: Any, site: Site) -> None:
    sign_in(page, site, Role.ADMIN)
    page.get_by_role("link", name="Audit log").click()
    page.get_by_label("Action").fill("ticket.create")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"action=ticket.create"))
    actions = page.locator("td[data-label=Action]")
    assert actions.count() >= 1
    assert {actions.nth(i).inner_text() for i in range(actions.count())} == {"ticket.create"}
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    lines = Path(download.value.path()).read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("seq,") and len(lines) == actions.count() + 1
    page.get_by_role("link", name="Verify the chain").click()
    assert re.search(
        r"The chain is intact: \d+ records, last sequence \d+, hash [0-9a-f]{64}", page.locator("#verify").inner_text()
    )


def test_users_add_shows_the_secrets_once_and_remove(page: Any, site: Site) -> None:
    sign_in(page, site, Role.ADMIN)
    page.get_by_role("link", name="Users").click()
    page.get_by_label("Username").fill("night-shift")
    page.get_by_label("Role", exact=True).select_option("operator")
    page.get_by_role("button", name="Add user").click()
    token = page.locator("#new-token").inner_text()
    assert len(token) >= 40 and page.locator("#new-password").count() == 1
    assert site.api("GET", "/runs", token=token).status_code == 200
    page.goto(site.url + "/users")
    assert page.locator("#new-token").count() == 0  # shown once
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove night-shift").click()
    page.wait_for_load_state()
    assert "User night-shift was removed" in page.get_by_role("status").inner_text()


def test_failed_sign_in_is_refused_audited_and_holds_the_address_back(page: Any, tmp_path: Path) -> None:
    with serve_demo(tmp_path) as site:  # its own server: the hold on 127.0.0.1 must not reach the other tests
        page.goto(site.url + "/")
        page.get_by_label("Username").fill("operator")
        page.get_by_label("Password").fill("not-the-password")
        page.keyboard.press("Enter")  # the keyboard is enough
        assert page.get_by_role("alert").inner_text() == "Wrong username or password."
        assert page.url.endswith("/sign-in")
        for _ in range(4):  # five failures from one address hold it back
            page.get_by_label("Username").fill("mallory")
            page.get_by_label("Password").fill("guess")
            page.get_by_role("button", name="Sign in").click()
        assert "wait 30 seconds" in page.get_by_role("alert").inner_text()
        page.get_by_label("Username").fill("operator")
        page.get_by_label("Password").fill(site.logins[Role.OPERATOR].password)
        page.get_by_role("button", name="Sign in").click()
        assert "Too many failed sign-ins from this address" in page.get_by_role("alert").inner_text()
        records = site.api("GET", "/audit", params={"action": "session.sign_in", "outcome": "denied"}).json()["items"]
        assert {r["target_id"] for r in records} >= {"operator", "mallory"}
        assert all("password" not in str(r["details"]) for r in records)


def test_a_form_without_its_csrf_token_does_nothing(page: Any, site: Site) -> None:
    sign_in(page, site, Role.OPERATOR)
    page.goto(site.url + "/runs?f=1&status=error&customer=cust-globex")
    before = len(site.sim.tickets)
    page.get_by_role("button", name="Create Autotask ticket").click()
    page.locator("#ticket-preview").wait_for()
    page.evaluate("document.querySelectorAll('input[name=_csrf]').forEach(e => e.remove())")
    page.get_by_role("button", name="Create this ticket").click()
    page.get_by_role("heading", name="This form has expired").wait_for()
    assert len(site.sim.tickets) == before


def test_layout_at_390_px(browser: Any, site: Site) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    sign_in(page, site, Role.ADMIN)
    for path in ("/runs", "/customers", "/settings/autotask", "/audit", "/users"):
        page.goto(site.url + path)
        too_wide = page.evaluate(
            "[...document.querySelectorAll('body *')].filter(e => "
            "e.getBoundingClientRect().right > 390).map(e => e.tagName + ' ' + e.textContent"
            ".trim().slice(0, 40))"
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, (path, too_wide)
        unlabelled = page.evaluate(
            "[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]"
            ".filter(e => !e.labels.length && !e.getAttribute('aria-label')).map(e => e.name)"
        )
        unnamed = page.evaluate(
            "[...document.querySelectorAll('button, a')].filter(e => "
            "!(e.textContent.trim() || e.getAttribute('aria-label'))).length"
        )
        assert (unlabelled, unnamed) == ([], 0), path  # every input labelled, every button and link named
    page.goto(site.url + "/runs")
    page.screenshot(path=str(SCREENSHOTS / "test_layout_at_390_px.png"), full_page=True)
    context.close()


def test_run_checks_rereads_ticket_status_at_most_once_per_interval_after_answering(page: Any, site: Site) -> None:
    def refreshes() -> list[dict[str, Any]]:
        query = {"action": "ticket.refresh", "actor": "operator", "limit": 500}
        return list(site.api("GET", "/audit", params=query).json()["items"])

    def reads() -> int:
        return int(site.sim.counts["POST Tickets/query"])

    sign_in(page, site, Role.OPERATOR)  # the first view of Run Checks may refresh (once a minute); let it settle
    deadline = time.monotonic() + 15
    while not reads() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    before, written = Counter(site.sim.counts), len(refreshes())
    for _ in range(3):
        page.reload()
        assert "re-read from Autotask in the background" in page.content()
    time.sleep(0.5)
    calls = Counter(site.sim.counts)
    calls.subtract(before)
    assert +calls == Counter()  # within the interval the views ask Autotask nothing
    assert len(refreshes()) == written  # and write no audit record


def test_every_create_outcome_is_said_in_words(page: Any, site: Site) -> None:
    sign_in(page, site, Role.OPERATOR)
    page.on("dialog", lambda dialog: dialog.accept())
    globex = "/runs?f=1&status=error&customer=cust-globex"

    def create(tab: Any = page) -> str:
        tab.get_by_role("button", name="Create Autotask ticket").click()
        tab.get_by_role("button", name="Create this ticket").click()
        tab.wait_for_load_state()
        return str(tab.locator(".flash").inner_text())

    site.sim.set_field_required("Tickets", "contactID")  # this tenant demands a contact: Autotask refuses
    try:
        page.goto(site.url + globex)
        said = create()
        assert said.startswith("Autotask rejected creating the ticket:") and "contactID" in said
    finally:
        site.sim.set_field_required("Tickets", "contactID", False)
    # Throttled for an hour: refused before it was processed, and not worth waiting for.
    site.sim.inject(Fault("throttle", "Tickets", "POST", times=None, retry_after=3600))
    try:
        page.goto(site.url + globex)
        assert create().startswith("Autotask is unavailable (creating the ticket)")
    finally:
        site.sim.clear_faults()

    stale = page.context.new_page()  # a second tab still offering Create
    stale.on("dialog", lambda dialog: dialog.accept())
    stale.goto(site.url + globex)
    page.goto(site.url + globex)
    assert re.match(r"Autotask ticket T\S+ was created\.", create())
    assert re.match(r"This run already had ticket T\S+; no second ticket was made\.", create(stale))
    stale.close()


def test_no_page_asks_for_what_is_not_there(page: Any, site: Site) -> None:
    """The pages' own requests (the icon among them) all answer: no 404 in the browser's console."""
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
    sign_in(page, site, Role.ADMIN)
    for path in ("/runs", "/customers", "/settings/autotask", "/audit", "/users", "/account"):
        page.goto(site.url + path)
        page.wait_for_load_state("networkidle")
    assert failed == []
    assert page.evaluate("document.querySelector('link[rel=icon]').href") == site.url + "/static/favicon.svg"
    icon = page.request.get(site.url + "/favicon.ico")
    assert icon.ok and icon.url == site.url + "/static/favicon.svg"
