"""Real-browser fixtures: Debian's Chromium driven by Playwright, one browser per test module, one context per test.

On a failed test the page is saved as a screenshot under test-artifacts/ (git-ignored) and the path is printed
in the failure report."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Frame, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
CHROMIUM_ARGS = [
    "--no-sandbox",  # we run as root
    "--disable-gpu",
    # No network but the loopback here: keep Chromium from phoning home.
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1024, "height": 800}
TIMEOUT_MS = 10_000


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Debian's Chromium. "
            "Run `make test` (it installs it), or `apt-get install -y chromium`. "
            "Never `playwright install`: it downloads a browser, which this network does not allow.",
            pytrace=False,
        )
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(chromium: Browser) -> Page:
    """A fresh browser context (its own cookies: one person) and its page; close it with `page.context.close()`."""
    context = chromium.new_context(viewport=VIEWPORT)
    context.set_default_timeout(TIMEOUT_MS)
    return context.new_page()


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    """The test's first person's browser (a failed test's screenshot is of this page)."""
    opened = new_page(chromium)
    try:
        yield opened
    finally:
        opened.context.close()


@pytest.fixture
def people(chromium: Browser) -> Iterator[Callable[[], Page]]:
    """Further browsers, one per person: each call a fresh context, all closed after the test."""
    opened: list[Page] = []

    def make() -> Page:
        opened.append(new_page(chromium))
        return opened[-1]

    try:
        yield make
    finally:
        for each in opened:
            each.context.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.when == "call" and report.failed and isinstance(page, Page) and not page.is_closed():
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / (re.sub(r"[^\w.-]+", "_", item.nodeid.split("::", 1)[-1]) + ".png")
        try:
            page.screenshot(path=str(path), full_page=True)
            report.sections.append(("browser screenshot", f"saved to {path}"))
        except Exception as error:  # a screenshot must not hide the real failure
            report.sections.append(("browser screenshot", f"could not be taken: {error}"))
    return report


def assert_no_serious_axe_violations(document: Page | Frame) -> None:
    """axe-core finds no serious or critical accessibility violation in the page or frame."""
    results = Axe().run(document)
    assert results.response["testEngine"]["name"] == "axe-core"  # axe ran for real
    serious = [v for v in results.response["violations"] if v["impact"] in {"serious", "critical"}]
    assert not serious, results.generate_report()
