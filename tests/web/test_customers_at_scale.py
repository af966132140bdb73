"""Issue 19 in a browser: an admin finds and opens a customer past the 500th, filters the unmapped, accepts
suggestions, exports the mappings and imports a file with a dry run; a file with a bad line changes nothing and names
the line. On its own demo (the test changes data)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from domain.roles import Role
from tests.web.conftest import serve_demo, sign_in


def test_customers_at_scale(page: Any, tmp_path: Path) -> None:
    with serve_demo(tmp_path) as site:
        for n in range(600):
            assert site.api("PUT", f"/customers/bulk-{n:04}", json={"name": f"Member {n}"}).status_code == 201
        assert site.api("PUT", "/customers/bulk-wayne", json={"name": "Wayne Enterprises Inc."}).status_code == 201
        site.sim.add_company(200, "Member 555 B.V.")
        site.sim.add_company(201, "Member 556 Ltd")
        site.sim.add_company(202, "MEMBER 556 GmbH")  # two companies under one name: never suggested

        sign_in(page, site, Role.ADMIN)
        page.get_by_role("link", name="Customers").click()
        assert "605 customers" in page.locator(".count").inner_text()

        # Customer #599 by id: found by search, and it opens (the page once knew only the first 500).
        page.get_by_label("Name or ID").fill("member 598")
        page.get_by_role("button", name="Find").click()
        assert page.locator(".count").inner_text().startswith("1 customer matches")
        page.get_by_role("link", name="Member 598").click()
        assert page.get_by_role("heading", level=1).inner_text() == "Member 598"

        # The unmapped only.
        page.goto(site.url + "/customers")
        page.get_by_label("Mapping", exact=True).select_option("unmapped")
        page.get_by_role("button", name="Find").click()
        assert page.locator("#customer-cust-acme").count() == 0 and page.locator("#customer-bulk-0000").count() == 1
        assert "Next customers" in page.locator(".pages").inner_text()

        # Suggestions: tick and accept.
        page.get_by_role("link", name="Suggest companies for unmapped customers").click()
        rows = page.locator("table.suggestions tbody tr")
        assert "Member 555 B.V." in rows.all_inner_texts()[0] and "Wayne Enterprises" in rows.all_inner_texts()[-1]
        assert "Member 556" not in page.locator("table.suggestions").inner_text()
        page.get_by_label("Accept Member 555 B.V. for Member 555").check()
        page.get_by_label("Accept Wayne Enterprises for Wayne Enterprises Inc.").check()
        page.get_by_role("button", name="Accept the ticked suggestions").click()
        assert page.get_by_role("status").inner_text() == "Mapped 2 customers."
        assert site.api("GET", "/customers/bulk-0555").json()["autotask"]["company_id"] == 200

        # Export.
        with page.expect_download() as download:
            page.get_by_role("link", name="Export the mappings (CSV)").click()
        exported = Path(download.value.path()).read_text(encoding="utf-8")
        assert exported.splitlines()[0] == "customer_id,customer_name,company_id,company_name,status"
        assert "bulk-0555,Member 555,200,Member 555 B.V.,ok" in exported.splitlines()

        def upload(text: str, button: str) -> None:
            page.get_by_label("CSV file with").set_input_files(
                {"name": "mappings.csv", "mimeType": "text/csv", "buffer": text.encode("utf-8")}
            )
            page.get_by_role("button", name=button, exact=True).click()
            page.wait_for_load_state()

        # A dry run says what the file would do and does nothing.
        good = "customer_id;company_id\nbulk-0001;105\nbulk-0555;\n"
        upload(good, "Dry run")
        assert (
            "Dry run: the file would leave 1 mapped, 1 removed, 0 unchanged" in page.get_by_role("status").inner_text()
        )
        assert site.api("GET", "/customers/bulk-0001").json()["autotask"] is None

        # A file with a bad line changes nothing and names the line.
        upload("customer_id,company_id\nbulk-0001,105\nnobody,100\n", "Import")
        alert = page.get_by_role("alert").inner_text()
        assert "Nothing was imported" in alert and "line 3 (nobody)" in alert
        assert site.api("GET", "/customers/bulk-0001").json()["autotask"] is None

        upload(good, "Import")
        assert page.get_by_role("status").inner_text() == "Imported: 1 mapped, 1 removed, 0 unchanged."
        assert site.api("GET", "/customers/bulk-0001").json()["autotask"]["company_id"] == 105
        assert site.api("GET", "/customers/bulk-0555").json()["autotask"]["status"] == "missing"
