"""Fixtures for tests in a real browser (portal, events): Debian's Chromium driven by Playwright.

One module, loaded as a plugin by tests/conftest.py, so that the whole session shares one
Playwright: a second sync Playwright cannot start while the first one's loop runs.

``playwright install`` cannot download its own browser here, so Playwright launches the system
Chromium (``bin/setup --test`` installs it). Playwright's sync API runs an asyncio loop in the test
thread, which makes Django refuse ORM calls from the test body; the variable below tells Django that
this is intended (the live server itself runs in its own thread).
"""

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CITYAI_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists() or shutil.which(CHROMIUM) is None:
        pytest.fail(f"Chromium not found at {CHROMIUM}; run `bin/setup --test` (it apt-installs chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture(scope="session")
def screenshots(artifacts_dir) -> Path:
    path = artifacts_dir / "screenshots"
    path.mkdir(exist_ok=True)
    return path


@pytest.fixture
def shoot(page, screenshots):
    """Save a full-page screenshot of the current page under test-artifacts/screenshots/."""

    def take(name: str, *, target=None) -> Path:
        path = screenshots / f"{name}.png"
        (target or page).screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def login(page, live_server):
    """Log in through the login form, as a person would."""

    from tests.conftest import PASSWORD

    def do(username: str, password: str = PASSWORD) -> None:
        page.goto(f"{live_server.url}/login/")
        page.get_by_label("用户名", exact=True).fill(username)
        page.get_by_label("密码", exact=True).fill(password)
        page.locator("form button[type=submit]").click()
        page.wait_for_url(f"{live_server.url}/")

    return do
