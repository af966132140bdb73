"""Screenshots of each page for the README: `.venv/bin/python -m tests.web.screenshots` (needs /usr/bin/chromium).
Serves the demo on free ports, signs in as the admin and saves docs/screenshots/*.png."""

from __future__ import annotations

import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from domain.roles import Role
from tests.web.conftest import launch, serve_demo, sign_in

OUT = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
PAGES = {
    "run-checks": "/runs",
    "customers": "/customers",
    "customer-search": "/customers/cust-umbrella?search=Umbrella",
    "ticket-preview": "/runs/run-globex-1/ticket/new",
    "settings": "/settings/autotask",
    "audit-log": "/audit?verify=1",
    "users": "/users",
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data_dir, serve_demo(Path(data_dir)) as site, sync_playwright() as p:
        browser = launch(p)
        page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
        page.goto(site.url + "/")
        page.screenshot(path=str(OUT / "sign-in.png"))
        sign_in(page, site, Role.ADMIN)
        for name, path in PAGES.items():
            page.goto(site.url + path)
            page.screenshot(path=str(OUT / f"{name}.png"), full_page=name != "audit-log")
        narrow = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
        sign_in(narrow, site, Role.OPERATOR)
        narrow.screenshot(path=str(OUT / "run-checks-390px.png"))
        browser.close()
    print(f"saved in {OUT}")


if __name__ == "__main__":
    main()
