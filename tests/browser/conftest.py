"""Playwright fixtures: Debian's Chromium (never a downloaded browser) driving the built SPA
served by pytest-django's live_server on the real Postgres test database."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

REPO = Path(__file__).resolve().parents[2]
DIST = REPO / "frontend" / "dist"
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def spa_build() -> Path:
    """The built SPA; built once here when `make frontend` has not run."""
    if not (DIST / "index.html").is_file():
        frontend = REPO / "frontend"
        if not (frontend / "node_modules").is_dir():
            subprocess.run(["npm", "ci"], cwd=frontend, check=True)
        subprocess.run(["npm", "run", "build"], cwd=frontend, check=True)
    # STATICFILES_DIRS is computed when settings load, which may have been before the build.
    if DIST not in [Path(d) for d in settings.STATICFILES_DIRS]:
        from django.contrib.staticfiles import finders

        settings.STATICFILES_DIRS = [*settings.STATICFILES_DIRS, DIST]
        finders.get_finder.cache_clear()
    return DIST


@pytest.fixture(scope="module")
def browser(spa_build):
    """One Chromium per test module. Module scope matters: Playwright's sync API keeps an asyncio
    loop running in the test thread while it is open, so it must be closed before the rest of
    the suite runs, and meanwhile Django has to be told the ORM calls in test bodies are safe."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium); browsers are never downloaded.")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 1280, "height": 800}, accept_downloads=True, base_url=live_server.url)
    context.set_default_timeout(10_000)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.js_errors = errors
    yield page
    context.close()


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Saves a screenshot under test-artifacts/screenshots/ (kept as a CI artifact)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def login(page, username: str, password: str) -> None:
    """Signs in through the SPA's login form and waits for the signed-in shell."""
    page.goto("/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Log out").wait_for()
