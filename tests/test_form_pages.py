"""A GET of a POST-only URL (reloading a page that showed a form's errors) leads to the form's page, and that page
decides who may see it: no "Method Not Allowed", no server error, nothing shown to someone who could not open it."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

import pytest
from flask import Flask, url_for
from werkzeug.routing import Rule

from lti_tool import cookieless
from lti_tool.form_pages import FORM_PAGES, NOT_FORMS
from lti_tool.sandbox.advantage import Preset
from tests.lti.test_platform_storage import StorageBrowser
from tests.lti_browser import LtiBrowser
from tests.programs.helpers import course_id, create_program


def _post_only_rules(app: Flask) -> list[Rule]:
    """Rules that answer POST and nothing else at their URL (a GET rule at the same URL, like the program
    overview beside its create form, answers the GET itself)."""
    get_urls = {rule.rule for rule in app.url_map.iter_rules() if "GET" in (rule.methods or ())}
    return [
        rule
        for rule in app.url_map.iter_rules()
        if "POST" in (rule.methods or ()) and "GET" not in (rule.methods or ()) and rule.rule not in get_urls
    ]


def _example_url(rule: Rule) -> str:
    # Ids of things that exist or not: either way the form page, not the redirect, answers for them.
    return re.sub(r"<(?:int:)?([a-z_]+)>", "1", rule.rule)


def test_every_post_only_url_of_the_tool_names_its_form_page(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in _post_only_rules(app)}
    assert endpoints - NOT_FORMS == set(FORM_PAGES)
    assert all(page in app.view_functions for page in FORM_PAGES.values())


def test_a_get_of_every_post_only_url_leads_to_its_form_page(app: Flask, browser: LtiBrowser) -> None:
    browser.launch("ment-101", "instructor")
    course = course_id(app, "ment-101")
    create_program(browser, course, title="Spring mentoring")
    checked = 0
    for rule in _post_only_rules(app):
        if rule.endpoint in NOT_FORMS:
            continue
        url = _example_url(rule).replace("/courses/1/", f"/courses/{course}/")
        answer = browser.http.get(f"{browser.tool_url}{url}")
        assert answer.status_code == 303, (url, answer.status_code)
        with app.test_request_context():
            arguments = {name: course if name == "course_id" else 1 for name in rule.arguments}
            page = FORM_PAGES[rule.endpoint]
            wanted = set().union(*(r.arguments for r in app.url_map.iter_rules(page)))
            expected = url_for(page, **{k: v for k, v in arguments.items() if k in wanted})
        assert answer.headers["location"] == expected, url
        landed = browser.get(answer.headers["location"])
        assert landed.status_code not in (405, 500), (url, landed.status_code, landed.text[:500])
        checked += 1
    assert checked == len(FORM_PAGES)


def test_a_head_request_is_led_there_too(app: Flask, browser: LtiBrowser) -> None:
    browser.launch("ment-101", "instructor")
    course = course_id(app, "ment-101")
    answer = browser.http.head(f"{browser.tool_url}/courses/{course}/program/skills/import")
    assert (answer.status_code, answer.headers["location"]) == (303, f"/courses/{course}/program/skills")


def test_a_learner_led_to_an_instructors_form_page_is_refused_there(app: Flask, new_browser: object) -> None:
    instructor: LtiBrowser = new_browser()  # type: ignore[operator]
    instructor.launch("ment-101", "instructor")
    course = course_id(app, "ment-101")
    create_program(instructor, course, title="Spring mentoring")
    learner: LtiBrowser = new_browser()  # type: ignore[operator]
    learner.launch("ment-101", "learner-01")
    landed = learner.get(f"/courses/{course}/program/skills/import")
    assert landed.status_code == 403
    assert "Spring mentoring" not in landed.text


def test_someone_without_a_launch_is_refused_at_the_form_page(app: Flask, browser: LtiBrowser) -> None:
    landed = browser.get("/courses/1/pairs/1/goals/1/progress")
    assert landed.status_code == 403
    assert str(landed.url).endswith("/courses/1/pairs/1")


def test_a_get_of_the_launch_url_still_says_to_open_the_tool_again(browser: LtiBrowser) -> None:
    answer = browser.get("/lti/launch")
    assert answer.status_code == 405
    assert "open the tool again" in answer.text.lower()


@pytest.mark.parametrize("sandbox_preset", [Preset.CANVAS])
def test_in_a_frame_without_cookies_the_redirect_keeps_the_frame_session(
    app: Flask, browser: LtiBrowser, sandbox_preset: Preset
) -> None:
    storage_browser = StorageBrowser(browser)
    landing = storage_browser.launch("instructor")
    token = dict(parse_qsl(urlsplit(str(landing.url)).query))[cookieless.TOKEN_PARAM]
    course = course_id(app, "ment-101")
    answer = browser.http.get(
        f"{browser.tool_url}/courses/{course}/roster/sync", params={cookieless.TOKEN_PARAM: token}
    )
    assert answer.status_code == 303
    assert cookieless.TOKEN_PARAM in answer.headers["location"]
    landed = browser.get(answer.headers["location"])
    assert landed.status_code == 200
    assert urlsplit(str(landed.url)).path == f"/courses/{course}/program"
