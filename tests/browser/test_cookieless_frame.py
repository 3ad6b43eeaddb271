"""The tool in an LMS frame that keeps none of its cookies, in a real browser, across two sites.

The sandbox LMS (https://lms.test) frames the tool (https://tool.test): a different site, over TLS. The browser
profile blocks every cookie of the tool's site (a site-level block, as Safari effectively gives a third-party
frame). Launches then go through LTI platform storage (the Canvas-like sandbox's forwarding frame) and the tool's
pages through the cookie-less frame session; without platform storage the launch offers the new window, which
works where the tool's own window keeps its cookies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, FrameLocator, Page, Playwright, expect, sync_playwright

from lti_tool.extensions import db
from lti_tool.programs import services as programs
from lti_tool.programs.models import Program
from lti_tool.sandbox.advantage import Preset
from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, TIMEOUT_MS, VIEWPORT
from tests.cross_site import (
    EVERY_TOOL_COOKIE,
    HOST_RESOLVER_RULES,
    TOOL_COOKIES_IN_THE_LMS_FRAME,
    CrossSite,
    chromium_profile,
    cross_site_environment,
)
from tests.profiles.helpers import SKILLS, course_id

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
def open_browser(playwright: Playwright, tmp_path: Path) -> Iterator[Callable[..., BrowserContext]]:
    """A new browser (its own profile) per person, blocking the cookies the pattern names."""
    opened: list[BrowserContext] = []

    def open_(blocked_cookies: str | None, *, third_party_blocked: bool = False) -> BrowserContext:
        profile = chromium_profile(
            tmp_path / f"profile-{len(opened)}", blocked_cookies, third_party_blocked=third_party_blocked
        )
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
        page.goto(f"{cross_site.sandbox.url}{link.get_attribute('href')}?editor=1")
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
    open_browser: Callable[..., BrowserContext], cross_site: CrossSite
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
    frame.get_by_role("link", name="Program setup").first.click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Program setup")
    # A GET form (its submission replaces the action's query string) carries the token in a hidden field.
    frame.get_by_role("region", name="Matching").get_by_role("link", name="Matching").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Matching")
    frame.get_by_label("Find matches by a mentor's or mentee's name or email").fill("nobody")
    frame.get_by_role("button", name="Search").click()
    expect(frame.get_by_role("link", name="Show every match")).to_be_visible()
    assert "q=nobody" in tool_frame_url(page) and "lti_session=" in tool_frame_url(page)
    no_tool_cookies(context)


def test_a_learner_fills_in_her_profile_in_a_frame_without_cookies(
    open_browser: Callable[..., BrowserContext], cross_site: CrossSite
) -> None:
    staff = open_browser(EVERY_TOOL_COOKIE).new_page()
    launch(staff, cross_site, INSTRUCTOR, "Program setup").get_by_label("Program title").fill("Peer mentoring")
    staff.frame_locator("#tool-frame").get_by_role("button", name="Create program").click()
    expect(staff.frame_locator("#tool-frame").get_by_role("status")).to_contain_text("Created")
    with cross_site.app.app_context():  # a short form: two skills, one of each kind
        program = db.session.execute(
            db.select(Program).where(Program.course_id == course_id(cross_site.app, "ment-101"))
        ).scalar_one()
        programs.replace_framework(program, [SKILLS[0], SKILLS[3]])
        db.session.commit()

    context = open_browser(EVERY_TOOL_COOKIE)
    page = context.new_page()
    frame = launch(page, cross_site, AMARA, "My mentorship")
    frame.get_by_role("link", name="Fill in your profile").click()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Fill in your profile")
    frame.get_by_role("checkbox", name="I want to be mentored").check()
    for skill, level in (("Python", 1), ("Communication", 3)):
        frame.get_by_role("group", name=skill, exact=True).get_by_role("radio").nth(level).check()
    goals = frame.get_by_role("group", name="Skills you want to work on")
    goals.get_by_role("checkbox", name="Python").check()
    frame.get_by_label("Your time zone").select_option("Africa/Dakar")
    frame.get_by_role("checkbox", name="Monday 18:00 to 21:00", exact=True).check()
    languages = frame.get_by_role("group", name="Languages you can meet in")
    languages.get_by_role("checkbox", name="English", exact=True).check()
    frame.get_by_role("button", name="Save profile").click()  # a POST, its CSRF token checked, then a redirect

    expect(frame.get_by_role("heading", level=1)).to_have_text("My mentorship")
    expect(frame.locator("p.flash")).to_contain_text("Your profile is complete.")
    frame.get_by_role("link", name="Edit your profile").click()
    expect(frame.get_by_label("Your time zone")).to_have_value("Africa/Dakar")
    assert "lti_session=" in tool_frame_url(page)
    no_tool_cookies(context)


def test_the_frame_grows_with_the_page_and_the_lms_scrolls_to_it_after_a_form_post(
    open_browser: Callable[..., BrowserContext], cross_site: CrossSite
) -> None:
    page = open_browser(EVERY_TOOL_COOKIE).new_page()
    frame = launch(page, cross_site, INSTRUCTOR, "Program setup")
    content = page.frame_locator("#tool-frame").locator("html")
    # No inner scroll bar: the frame becomes as tall as its page (the page says so whenever its height changes).
    page.wait_for_function(
        "height => Math.abs(document.getElementById('tool-frame').getBoundingClientRect().height - height) <= 4",
        arg=content.evaluate("h => h.offsetHeight"),
    )
    page.mouse.wheel(0, 2000)
    frame.get_by_label("Program title").fill("Scrolled circles")
    frame.get_by_role("button", name="Create program").click()
    expect(frame.get_by_role("status")).to_contain_text("Created")
    # The LMS scrolled the frame's top (where the message is) into view.
    page.wait_for_function("() => Math.abs(document.getElementById('tool-frame').getBoundingClientRect().top) <= 2")
    log = page.evaluate("() => window.sandboxLtiLog.map(m => m.subject)")
    assert "lti.scrollToTop" in log and "lti.frameResize" in log, log


def test_inside_the_editor_platform_storage_is_the_parent_window(
    open_browser: Callable[..., BrowserContext], cross_site: CrossSite
) -> None:
    page = open_browser(EVERY_TOOL_COOKIE).new_page()
    launch(page, cross_site, AMARA, "My mentorship", in_editor=True)
    assert page.frame(name="post_message_forwarding") is None
    log = page.evaluate("() => window.sandboxLtiLog.map(m => m.subject)")
    assert log.count("lti.put_data") >= 2 and log.count("lti.get_data") >= 2, log


def test_without_platform_storage_the_launch_offers_a_new_window_which_works(
    open_browser: Callable[..., BrowserContext], cross_site: CrossSite
) -> None:
    cross_site.sandbox.platform.platform_storage = None  # a Moodle-like LMS
    context = open_browser(TOOL_COOKIES_IN_THE_LMS_FRAME)
    page = context.new_page()
    frame = launch(page, cross_site, AMARA, "This LTI launch could not be accepted")
    expect(frame.get_by_text("Error code:")).to_contain_text("cookies_blocked")
    with context.expect_page() as opened:
        frame.get_by_role("link", name="Open the tool in a new window").click()
    window = opened.value
    expect(window.get_by_role("heading", level=1)).to_have_text("My mentorship")
    assert window.url.startswith("https://tool.test:") and "lti_session=" not in window.url


def test_a_lost_session_cookie_goes_on_in_a_frame_session_instead_of_a_dead_end(
    open_browser: Callable[..., BrowserContext], tool_settings: dict[str, Any], tmp_path: Path
) -> None:
    """Third-party cookies blocked and the tool's session cookie not partitioned: the state cookie (partitioned)
    comes back, the session cookie does not. Before, the learner's first page was a 403 with no way out."""
    with cross_site_environment(tool_settings, tmp_path / "env", preset=Preset.MOODLE, partitioned=False) as env:
        context = open_browser(None, third_party_blocked=True)
        page = context.new_page()
        launch(page, env, AMARA, "My mentorship")
        assert "lti_session=" in tool_frame_url(page) and "lti_launch=" not in tool_frame_url(page)
        page.locator("#tool-frame").element_handle().content_frame().goto(tool_frame_url(page))  # type: ignore[union-attr]
        expect(page.frame_locator("#tool-frame").get_by_role("heading", level=1)).to_have_text("My mentorship")


def test_a_frame_without_a_session_says_how_to_go_on(
    open_browser: Callable[..., BrowserContext], cross_site: CrossSite
) -> None:
    page = open_browser(EVERY_TOOL_COOKIE).new_page()
    launch(page, cross_site, AMARA, "My mentorship")
    url = tool_frame_url(page)
    page.frame_locator("#tool-frame").locator("body").evaluate(  # the same page, without its session token
        "(body, url) => { window.location.href = url; }", re.sub(r"[?&]lti_session=[^&]*", "", url)
    )
    frame = page.frame_locator("#tool-frame")
    expect(frame.get_by_role("heading", level=1)).to_have_text("You do not have access to this page")
    expect(frame.locator(".problem-frame")).to_contain_text("Open the tool again from your course")


def test_a_moodle_with_a_lax_session_cookie_keeps_its_session_through_the_oidc_login_and_deep_linking(
    open_browser: Callable[..., BrowserContext], tool_settings: dict[str, Any], tmp_path: Path
) -> None:
    """Moodle 4.5.11+ sends `MoodleSession` with SameSite=Lax, so a cross-site POST from the tool's frame reaches it
    without the session. The tool sends the browser to Moodle's OIDC authorization with a GET (the cookie goes
    along); the deep linking answer must be a form POST, which Moodle posts again from its own page."""
    with cross_site_environment(tool_settings, tmp_path / "env", preset=Preset.MOODLE) as env:
        env.sandbox.platform.lax_session_cookie = True
        page = open_browser(None).new_page()
        frame = launch(page, env, INSTRUCTOR, "Program setup")  # the OIDC authorization saw the Lax cookie
        assert env.sandbox.requests["/auth"] == 1
        frame.get_by_label("Program title").fill("Lax circles")
        frame.get_by_role("button", name="Create program").click()
        expect(frame.get_by_role("status")).to_contain_text("Created")

        page.goto(f"{env.sandbox.url}/courses/ment-101")
        page.get_by_role("link", name="Add a link (link selection)").click()
        frame = page.frame_locator("#tool-frame")
        frame.get_by_role("checkbox", name="Mentorship program: Lax circles").check()
        frame.get_by_role("button", name="Add to the course").click()
        expect(frame.get_by_role("heading", level=1)).to_have_text("Content added to the course")
        expect(frame.locator("#placed")).to_contain_text("Lax circles")
        # The tool's cross-site POST came without the LMS's cookie; the LMS's own repost brought it.
        assert env.sandbox.requests["/deep_linking/return"] == 2
