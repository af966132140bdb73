"""A user's lifecycle in a real browser (issue 19): changing one's own password on the Account page ends one's other
session; an admin disables a user on the Users page; the last enabled admin cannot be disabled."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from domain.roles import Role
from tests.web.conftest import Site, serve_demo, sign_in

NEW_PASSWORD = "a brand new operator passphrase"


def test_own_password_change_ends_the_other_session_and_an_admin_disables_a_user_but_not_the_last_admin(
    browser: Any, page: Any, tmp_path: Path
) -> None:
    with serve_demo(tmp_path) as site:
        other = browser.new_context(viewport={"width": 1280, "height": 900})
        try:
            second = other.new_page()
            sign_in(second, site, Role.OPERATOR)
            sign_in(page, site, Role.OPERATOR)
            _change_password(page, site)
            second.goto(site.url + "/runs")
            second.wait_for_url("**/sign-in")  # the other session ended at once
            page.goto(site.url + "/runs")
            assert page.url.endswith("/runs")  # the one the change came from goes on
            _signs_in(second, site, site.logins[Role.OPERATOR].username, NEW_PASSWORD)
        finally:
            other.close()
        _admin_disables_the_reporter_but_not_itself(browser, site)


def _change_password(page: Any, site: Site) -> None:
    page.get_by_role("link", name=re.compile(r"operator")).click()
    page.wait_for_url("**/account")
    page.get_by_label("Current password").fill(site.logins[Role.OPERATOR].password)
    page.get_by_label("New password", exact=True).fill("operator")
    page.get_by_label("New password again").fill("operator")
    page.evaluate("document.querySelectorAll('input[minlength]').forEach(i => i.removeAttribute('minlength'))")
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/account")
    assert "A password needs at least 12 characters" in page.get_by_role("alert").inner_text()
    page.get_by_label("Current password").fill(site.logins[Role.OPERATOR].password)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    page.wait_for_url("**/account")
    assert "Your password was changed" in page.get_by_role("status").inner_text()


def _signs_in(page: Any, site: Site, username: str, password: str) -> None:
    page.goto(site.url + "/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/runs")


def _admin_disables_the_reporter_but_not_itself(browser: Any, site: Site) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        admin = context.new_page()
        admin.on("dialog", lambda dialog: dialog.accept())
        sign_in(admin, site, Role.ADMIN)
        assert site.api("GET", "/runs", Role.REPORTER).status_code == 200
        admin.goto(site.url + "/users")
        reporter = site.logins[Role.REPORTER].username
        admin.get_by_role("button", name=f"Disable {reporter}", exact=True).click()
        admin.wait_for_url("**/users")
        assert "is disabled" in admin.get_by_role("status").inner_text()
        assert admin.locator(f"#user-{reporter}").get_by_text("disabled", exact=True).is_visible()
        assert site.api("GET", "/runs", Role.REPORTER).status_code == 401  # at once
        name = site.logins[Role.ADMIN].username
        admin.get_by_role("button", name=f"Disable {name}", exact=True).click()
        admin.wait_for_url("**/users")
        assert "last enabled admin" in admin.get_by_role("alert").inner_text()
        assert site.api("GET", "/users").status_code == 200  # still an admin, still enabled
    finally:
        context.close()
