"""The tool in an LMS frame that keeps none of its cookies, in a real browser, across two sites.

The sandbox LMS (https://lms.test) frames the tool (https://tool.test): a different site, over TLS. The browser
profile blocks every cookie of the tool's site (a site-level block, as Safari effectively gives a third-party
frame). Launches then go through LTI platform storage (the Canvas-like sandbox's forwarding frame) and the tool's
pages through the cookie-less frame session; without platform storage the launch offers the new window, which
works where the tool's own window keeps its cookies."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, FrameLocator, Page, Playwright, expect, sync_playwright

from lti_tool.sandbox.advantage import Preset
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, VIEWPORT
from tests.cross_site import (
    EVERY_TOOL_COOKIE,
    HOST_RESOLVER_RULES,
    CrossSite,
    chromium_profile,
    cross_site_environment,
)

INSTRUCTOR = "Ada Okafor"
AMARA = "Amara Diallo"


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: the browser tests need Debian's Chromium.", pytrace=False)
    with sync_playwright() as p:
        yield p


@pytest.fixture
def sandbox_preset() -> Preset:
    return Preset.CANVAS


@pytest.fixture
def cross_site(tool_settings: dict[str, Any], tmp_path: Path, sandbox_preset: Preset) -> Iterator[CrossSite]:
    with cross_site_environment(tool_settings, tmp_path, preset=sandbox_preset) as env:
        yield env


@pytest.fixture
def open_browser(playwright: Playwright, tmp_path: Path) -> Iterator[Callable[[str | None], BrowserContext]]:
    """A new browser (its own profile) per person, blocking the cookies the pattern names."""
    opened: list[BrowserContext] = []

    def open_(blocked_cookies: str | None) -> BrowserContext:
        profile = chromium_profile(tmp_path / f"profile-{len(opened)}", blocked_cookies)
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=str(CHROMIUM),
            headless=True,
            args=[*CHROMIUM_ARGS, HOST_RESOLVER_RULES],
            ignore_https_errors=True,
            viewport=VIEWPORT,  # type: ignore[arg-type]
        )
        context.set_default_timeout(TIMEOUT_MS)
        opened.append(context)
        return context

    yield open_
    for context in opened:
        context.close()


def launch(page: Page, cross_site: CrossSite, name: str, heading: str, *, in_editor: bool = False) -> FrameLocator:
    page.goto(f"{cross_site.sandbox.url}/courses/ment-101")
    link = page.get_by_role("link", name=f"Launch as {name}", exact=True)
    if in_editor:
        page.goto(link.get_attribute("href") + "?editor=1")  # type: ignore[operator]
    else:
        link.click()
    frame = page.frame_locator("#tool-frame")
    expect(frame.get_by_role("heading", level=1)).to_have_text(heading)
    return frame


def tool_frame_url(page: Page) -> str:
    handle = page.locator("#tool-frame").element_handle()
    assert handle is not None and handle.content_frame() is not None
    return handle.content_frame().url  # type: ignore[union-attr]


def no_tool_cookies(context: BrowserContext) -> None:
    assert [c for c in context.cookies() if c["domain"].endswith("tool.test")] == []


def test_an_instructor_sets_up_a_program_in_a_frame_without_cookies(
    open_browser: Callable[[str | None], BrowserContext], cross_site: CrossSite
) -> None:
    context = open_browser(EVERY_TOOL_COOKIE)
    page = context.new_page()
    frame = launch(page, cross_site, INSTRUCTOR, "Program setup")
    # The launch went through the LMS's storage frame, and the page's URL carries the frame session's token.
    log = page.frame(name="post_message_forwarding").evaluate("() => window.sandboxLtiLog.map(m => m.subject)")  # type: ignore[union-attr]
    assert log.count("lti.put_data") >= 2 and log.count("lti.get_data") >= 2, log
    assert "lti_session=" in tool_frame_url(page)

    frame.get_by_label("Program title").fill("Cookie-free circles")
    frame.get_by_role("button", name="Create program").click()
    expect(frame.get_by_role("status")).to_contain_text("Created “Cookie-free circles”")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Program setup")
    frame.get_by_role("link", name="Edit settings").click()
    expect(frame.get_by_role("heading", level=1)).to_contain_text("settings")
    no_tool_cookies(context)
