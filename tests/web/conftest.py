"""The web pages in a real browser: the demo's data served on a free port (app and Autotask simulator), driven by
Playwright with Debian's Chromium. Without Chromium these tests skip, saying why — except under CI=true, where they
fail."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from adapters.autotask_simulator import Simulator, running_simulator
from domain.roles import Role
from entrypoints.asgi import create_app
from entrypoints.container import Config, Container
from entrypoints.demo import Login, demo_simulator, fresh_database, seeded_container

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
"""Git-ignored (var/)."""


@dataclass
class Site:
    url: str
    logins: dict[Role, Login]
    sim: Simulator
    container: Container

    def api(
        self, method: str, path: str, role: Role = Role.ADMIN, token: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = {"Authorization": f"Bearer {token or self.logins[role].token}"}
        return httpx.request(method, f"{self.url}/api/v1{path}", headers=headers, timeout=30, **kwargs)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def serve_demo(data_dir: Path) -> Iterator[Site]:
    """The demo (data, simulator, app) on free ports until the block ends."""
    database_url = fresh_database(data_dir)
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    sim = demo_simulator()
    with running_simulator(sim) as zone_url:
        config = Config(data_dir=data_dir, database_url=database_url, autotask_zone_url=zone_url, base_url=base_url)
        with ThreadPoolExecutor(1) as pool:  # its own thread: Playwright's loop may be running in this one
            container, logins = pool.submit(seeded_container, config, sim).result()
        server = uvicorn.Server(
            uvicorn.Config(
                create_app(container), host="127.0.0.1", port=port, log_config=None, access_log=False, lifespan="on"
            )
        )
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 20
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.05)
        assert server.started, "the app did not start"
        try:
            yield Site(base_url, {x.role: x for x in logins}, sim, container)
        finally:
            server.should_exit = True
            thread.join(15)


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with serve_demo(tmp_path_factory.mktemp("web")) as running:
        yield running


def launch(playwright: Any) -> Any:
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Per module: Playwright's sync API keeps an event loop running in this thread, which async tests in other
    modules could not share."""
    if not CHROMIUM.exists():
        reason = f"the browser tests need Chromium at {CHROMIUM} (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no cookies) at 1280 px; the test's last screen is saved as a screenshot."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def sign_in(page: Any, site: Site, role: Role) -> None:
    page.goto(site.url + "/")
    page.get_by_label("Username").fill(site.logins[role].username)
    page.get_by_label("Password").fill(site.logins[role].password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/runs")
