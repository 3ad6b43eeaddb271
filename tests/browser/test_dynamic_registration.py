"""The end of an LTI Dynamic Registration in a real browser: the LMS opens the tool in a frame (Canvas, Moodle's
dialog) or a popup, and the tool's last page hands control back with `{subject: 'org.imsglobal.lti.close'}`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from flask import Flask
from playwright.sync_api import Page, expect

from lti_tool.runtime import runtime
from tests.browser.conftest import assert_no_serious_axe_violations
from tests.conftest import Sandbox
from tests.registration import invite
from tests.servers import served

# An LMS admin page: it opens the registration and shows the messages it receives, as Moodle and Canvas listen.
LISTENER = """<!doctype html><html><head><title>LMS</title></head><body>
<p id="received">nothing yet</p>
<script>
window.addEventListener("message", function (event) {
  document.getElementById("received").textContent = JSON.stringify(event.data);
});
function openRegistration() { window.open(%(url)r, "registration"); }
</script>
%(opener)s
</body></html>"""


@contextmanager
def lms_admin_page(start_url: str, *, popup: bool) -> Iterator[str]:
    opener = (
        '<button type="button" onclick="openRegistration()">Register</button>'
        if popup
        else f'<iframe title="registration" src="{start_url}" width="800" height="600"></iframe>'
    )
    app = Flask("lms_admin_page")
    app.add_url_rule("/", view_func=lambda: LISTENER % {"url": start_url, "opener": opener})
    with served(app) as server:
        yield server.url


@pytest.mark.parametrize("popup", [False, True], ids=["frame", "popup"])
def test_finishing_the_registration_tells_the_lms_to_close(
    page: Page, app: Flask, sandbox: Sandbox, tool_url: str, popup: bool
) -> None:
    start = f"{sandbox.url}/admin/register-tool?url={invite(app, tool_url)}"
    with lms_admin_page(start, popup=popup) as lms:
        page.goto(lms)
        if popup:
            with page.expect_popup() as opened:
                page.get_by_role("button", name="Register").click()
            tool = opened.value
            finish = tool.get_by_role("button", name="Finish and return to Moodle")
        else:
            finish = page.frame_locator("iframe").get_by_role("button", name="Finish and return to Moodle")
        expect(finish).to_be_visible()
        finish.click()
        expect(page.locator("#received")).to_have_text('{"subject":"org.imsglobal.lti.close"}')
    assert len(sandbox.platform.advantage.tools) == 1


def test_the_close_fallback_shows_only_once_the_lms_did_not_take_over(
    page: Page, app: Flask, sandbox: Sandbox, tool_url: str
) -> None:
    start = f"{sandbox.url}/admin/register-tool?url={invite(app, tool_url)}"
    with lms_admin_page(start, popup=False) as lms:
        page.goto(lms)
        frame = page.frame_locator("iframe")
        finish = frame.get_by_role("button", name="Finish and return to Moodle")
        expect(finish).to_be_visible()
        fallback = frame.get_by_text("Moodle did not take over: close this window.")
        # Nothing was pressed yet: the fallback is in the page but not shown.
        expect(fallback).to_have_count(1)
        expect(fallback).to_be_hidden()
        # Pressed, and this LMS page does not close the frame: after a moment the page says how to leave.
        finish.click()
        expect(fallback).to_be_visible()

    # The failed-registration page has the same button and fallback (opened directly: shown as soon as pressed).
    page.goto(f"{tool_url}/lti/register/not-an-invitation?openid_configuration={sandbox.url}/x&registration_token=t")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    close = page.get_by_role("button", name="Close and return to the LMS")
    expect(close).to_be_visible()
    fallback = page.get_by_text("The LMS did not take over: close this window.")
    expect(fallback).to_be_hidden()
    close.click()
    expect(fallback).to_be_visible()


def test_the_install_pages_are_accessible_and_fit_an_800px_frame(
    page: Page, app: Flask, sandbox: Sandbox, tool_url: str
) -> None:
    start = f"{sandbox.url}/admin/register-tool?url={invite(app, tool_url)}"
    with lms_admin_page(start, popup=False) as lms:
        page.goto(lms)
        expect(page.frame_locator("iframe").get_by_role("heading", level=1)).to_contain_text("is registered")
        frame = page.frame(url=re.compile(re.escape(f"{tool_url}/lti/register")))
        assert frame is not None
        widths = frame.evaluate("() => [window.innerWidth, document.documentElement.scrollWidth]")
        assert widths[0] == 800 and widths[1] <= 800, widths
        assert_no_serious_axe_violations(frame)

    with app.app_context():
        token = runtime().settings.admin_token.get_secret_value()
    page.goto(f"{tool_url}/lti/admin")
    page.get_by_label("Admin token").fill(token)
    page.keyboard.press("Enter")
    page.get_by_role("button", name="Create a registration link").click()
    expect(page.locator("#registration-url")).to_have_text(re.compile(re.escape(f"{tool_url}/lti/register/")))
    expect(page.get_by_role("button", name=re.compile("^Copy"))).to_have_count(2)
    expect(page.get_by_role("button", name=re.compile("^Revoke"))).to_have_count(1)
    assert_no_serious_axe_violations(page)
