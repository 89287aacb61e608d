"""Browser end-to-end tests: Playwright (sync API) driving Debian's `chromium` against
pytest-django's live server, with the local AI provider and Graph fakes behind it.

Without /usr/bin/chromium every test here is skipped, unless E2E_REQUIRED=1 (CI): then it
fails. A failing test leaves a full-page screenshot and the page HTML in $E2E_ARTIFACTS
(default: test-artifacts/ in the repository).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("E2E_REQUIRED") == "1"
ARTIFACTS = Path(
    os.environ.get("E2E_ARTIFACTS") or Path(__file__).resolve().parent.parent / "test-artifacts"
)
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    # Without these Chromium calls Google's servers in the background (refused offline).
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
TIMEOUT_MS = 5_000  # every action and expectation; a normal step takes well under a second

_pages_key = pytest.StashKey[list]()


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"E2E_REQUIRED=1 but {reason}", pytrace=False)
    pytest.skip(f"{reason} (set E2E_REQUIRED=1 to make this an error)")


@pytest.fixture(scope="session")
def browser() -> Iterator:
    if not os.path.exists(CHROMIUM):
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is in requirements.txt
        _unavailable(f"playwright is not installed ({exc})")

    # Playwright's sync API keeps an asyncio loop running in this thread while it is started,
    # so Django's async-safety guard would refuse every ORM call made from the test thread
    # (the tests' own setup and pytest-django's database flush), although the code is plain
    # synchronous code in one thread. Allow it only while the browser is alive.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        expect.set_options(timeout=TIMEOUT_MS)
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@dataclass
class Tab:
    """A page in its own browser context (own cookies), with every URL it requested."""

    page: object
    requests: list[str] = field(default_factory=list)
    # Console errors (a script or style blocked by the CSP), uncaught JS exceptions, and
    # sub-resources (CSS, JS, images) that failed to load. Pages themselves may answer 4xx
    # on purpose (a form with errors is re-shown with 400).
    errors: list[str] = field(default_factory=list)

    def foreign_requests(self, base_url: str) -> list[str]:
        return [url for url in self.requests if not url.startswith(base_url + "/")]


@pytest.fixture
def open_tab(request, browser, live_server) -> Iterator[Callable[[], Tab]]:
    """Opens a fresh browser context (a separate user session) pointed at the live server."""
    contexts = []
    request.node.stash[_pages_key] = []

    def open_() -> Tab:
        context = browser.new_context(base_url=live_server.url)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        tab = Tab(page=context.new_page())
        tab.page.on("request", lambda r: tab.requests.append(r.url))
        tab.page.on("console", lambda m: _console_error(tab, m))
        tab.page.on("pageerror", lambda exc: tab.errors.append(f"exception: {exc}"))
        tab.page.on("response", lambda r: _failed_resource(tab, r))
        tab.page.on("requestfailed", lambda r: _failed_request(tab, r))
        request.node.stash[_pages_key].append(tab.page)
        return tab

    yield open_
    for context in contexts:
        context.close()


def _console_error(tab: Tab, message) -> None:
    # "Failed to load resource" also names documents answered 4xx on purpose, and the
    # /favicon.ico Chromium asks for on its own; failed sub-resources are caught below.
    if message.type == "error" and not message.text.startswith("Failed to load resource"):
        tab.errors.append(f"console: {message.text} ({message.location.get('url')})")


def _failed_resource(tab: Tab, response) -> None:
    if response.status >= 400 and response.request.resource_type != "document":
        tab.errors.append(f"{response.status}: {response.url}")


def _failed_request(tab: Tab, request) -> None:
    # Aborted: the page navigated on (a form was submitted) before a file finished loading, or
    # the answer was an error status, which _failed_resource reports.
    if request.failure != "net::ERR_ABORTED":
        tab.errors.append(f"failed: {request.url} {request.failure}")


@pytest.fixture
def tab(open_tab) -> Tab:
    return open_tab()


@pytest.fixture
def e2e_fakes(fake_providers, fake_graph, settings, live_server):
    """The live server talks to the local fakes only, and links in emails point at it."""
    settings.SITE_URL = live_server.url
    return fake_providers, fake_graph


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when != "call" or not report.failed:
        return
    pages = item.stash.get(_pages_key, [])
    if not pages:
        return
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", item.nodeid)
    saved = []
    for i, page in enumerate(pages):
        if page.is_closed():
            continue
        stem = ARTIFACTS / (name if len(pages) == 1 else f"{name}-{i + 1}")
        try:
            page.screenshot(path=f"{stem}.png", full_page=True)
            Path(f"{stem}.html").write_text(page.content(), encoding="utf-8")
            saved.append(f"{stem}.png")
        except Exception as exc:  # the report must not hide the test's own failure
            saved.append(f"{stem}: could not save ({exc})")
    report.sections.append(("e2e artifacts", "\n".join(saved)))
