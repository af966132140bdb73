"""Issue 16 in the browser, against the simulator over HTTP: a tenant whose default category requires a Work Type and
a UDF, Test ticket on the settings page, the tenant named beside the environment, the sandbox banner, and no resolve
while the API user cannot see every time entry. Each test runs its own demo: they change the tenant's rules."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from domain.roles import Role
from tests.web.conftest import serve_demo, sign_in

STANDARD, WORK_TYPE = 1, 29682803  # the simulator's default category; its "Backup Monitoring" Work Type


def test_a_demanding_category_is_named_by_validate_and_proved_by_test_ticket(page: Any, tmp_path: Path) -> None:
    with serve_demo(tmp_path) as site:
        sim = site.sim
        sim.add_ticket_udf("Backup Reference", label="Backup reference", required=True)
        sim.set_category_rules(STANDARD, requires={"billingCodeID"}, udfs_required={"Backup Reference"})
        cleared: dict[str, object] = {"ticket_category_id": None, "work_type_id": None, "ticket_udfs": {}}
        assert site.api("PUT", "/settings/autotask", json=cleared).status_code == 200
        sign_in(page, site, Role.ADMIN)
        page.get_by_role("link", name="Settings").click()
        assert "Simulated MSP" in page.locator(".reach").inner_text()  # the tenant, named by the demo's Test connection
        assert page.locator(".banner.sandbox").is_visible()
        page.get_by_role("link", name="Refresh the picklists from Autotask").click()
        assert "required" in page.locator("table.udfs").inner_text()

        page.get_by_role("button", name="Validate").click()
        said = page.locator(".flash").inner_text()
        assert "Backup Reference" in said and "work_type_id" in said  # both named before any ticket is tried

        tickets = len(sim.tickets)
        page.on("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Test ticket").click()
        said = page.get_by_role("alert").inner_text()
        assert said.startswith("Test ticket failed.") and "billingCodeID" in said  # Autotask's own words
        assert len(sim.tickets) == tickets  # nothing left open: nothing was made

        page.get_by_label("Work Type").select_option(label="Backup Monitoring")
        page.get_by_label("Backup reference").fill("BC-TEST")
        page.get_by_role("button", name="Save settings").click()
        assert "The settings were saved." in page.get_by_role("status").inner_text()
        page.get_by_role("button", name="Test ticket").click()
        said = page.get_by_role("status").inner_text()
        assert re.match(r"Test ticket T\S+ made, noted and completed\.", said), said
        (made,) = [t for t in sim.tickets.values() if t["companyID"] == 0]
        assert made["status"] == 5 and made["billingCodeID"] == WORK_TYPE
        (note,) = [n for n in sim.notes.values() if n["ticketID"] == made["id"]]  # once
        assert note["publish"] != 1  # internal, not "All Autotask Users"

        # An operator's ticket carries the same Work Type and UDF, after a preview that shows what will be sent.
        page.goto(site.url + "/runs?f=1&status=error&customer=cust-globex")
        page.get_by_role("button", name="Create Autotask ticket").click()
        page.get_by_role("button", name="Create this ticket").click()
        assert "was created" in page.get_by_role("status").inner_text()
        newest = max(sim.tickets.values(), key=lambda t: t["id"])
        assert newest["billingCodeID"] == WORK_TYPE
        assert sim.udf_values[newest["id"]]["Backup Reference"] == "BC-TEST"


def test_restricted_time_entries_offer_no_resolve(page: Any, tmp_path: Path) -> None:
    with serve_demo(tmp_path) as site:
        site.sim.set_access("TimeEntries", query="Restricted")
        sign_in(page, site, Role.ADMIN)
        page.get_by_role("link", name="Settings").click()
        page.get_by_role("button", name="Test connection").click()
        assert "may not see every time entry" in page.get_by_role("status").inner_text()
        assert "resolving is off" in page.locator(".reach").inner_text()
        page.get_by_role("link", name="Run Checks").click()
        page.goto(site.url + "/runs?f=1&status=error&status=warning&status=missed&ticket=yes")
        assert (
            page.get_by_role("button", name="Resolve", exact=True).count() == page.locator("button[disabled]").count()
        )
        assert "cannot see every time entry" in page.locator("main").inner_text()
        response = site.api("POST", "/runs/run-acme-1/autotask-ticket/resolve", role=Role.OPERATOR)
        assert (response.status_code, response.json()["code"]) == (409, "time_entries_unverifiable")
