"""What a new instructor hit (issue 14), in Chromium through the sandbox LMS: changing the model of a program with
drafts, the "Not matched" list after hand edits and publishing, and scores that say what sets drafts apart.
People act in the tool's iframe; the setup (the program, the profiles, a first run) goes through the services."""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask
from playwright.sync_api import FrameLocator, Page, expect

from lti_tool.extensions import db
from lti_tool.matching import workflow
from lti_tool.programs.models import Program
from tests.browser.conftest import assert_no_serious_axe_violations
from tests.browser.test_mentorship_flow import INSTRUCTOR, flash, launch, no_horizontal_scroll, tool_document
from tests.conftest import Sandbox
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import Cohort, build_cohort, mentee_profile, mentor_profile

AMARA, PRIYA, LUKAS = "Amara Diallo", "Priya Natarajan", "Lukas Becker"
BOTH = {"wants_to_mentor": True, "wants_to_be_mentored": True, "capacity": 1}


def _program(cohort: Cohort, **settings: object) -> None:
    """Change the program's settings and run matching, as the instructor did before (through the services)."""
    with cohort.app.app_context():
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        for name, value in settings.items():
            setattr(program, name, value)
        workflow.run_matching(program)
        db.session.commit()


def _matching(page: Page, sandbox: Sandbox) -> FrameLocator:
    frame = launch(page, sandbox, INSTRUCTOR, "Program setup")
    frame.get_by_role("region", name="Matching").get_by_role("link", name="Matching").press("Enter")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Matching")
    return frame


def test_switching_a_peer_program_to_group_names_who_must_choose_a_role_and_refuses_the_peer_drafts(
    page: Page, sandbox: Sandbox, tool_url: str, app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    cohort = build_cohort(app, new_browser)
    cohort.profile("learner-01", mentor_profile(goals=["feedback"], **BOTH))
    cohort.profile("learner-03", mentee_profile(**BOTH))
    _program(cohort, model="peer", mentor_eligibility="learners")
    drafts = len([m for m in cohort.matches() if m[2] == "draft"])
    assert drafts

    frame = launch(page, sandbox, INSTRUCTOR, "Program setup")
    frame.get_by_role("link", name="Edit settings").press("Enter")
    frame.get_by_role("radio", name="Group", exact=True).check()
    frame.get_by_label("Default mentor capacity (mentees per mentor)").fill("2")
    frame.get_by_role("button", name="Save settings").press("Enter")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Program setup")
    notes = frame.locator("p.flash")
    expect(notes.first).to_have_text("Settings saved.")
    expect(notes.nth(1)).to_have_text(
        f"{drafts} drafts made under peer mentoring will not be published: run matching again to replace them."
    )
    expect(notes.nth(2)).to_contain_text(f"{AMARA} and {PRIYA} chose both to mentor and to be mentored")

    frame.get_by_role("region", name="Matching").get_by_role("link", name="Matching").press("Enter")
    run = frame.get_by_role("region", name="Run matching")
    expect(run.get_by_role("note")).to_contain_text(
        f"{AMARA} and {PRIYA} chose both to mentor and to be mentored, and in group mentoring each person takes one "
        "role. Ask them to untick one of the two roles on their profile"
    )
    expect(frame.locator(".tag", has_text="made under peer mentoring")).to_have_count(drafts)
    document = tool_document(page, tool_url)
    no_horizontal_scroll(document)
    assert_no_serious_axe_violations(document)

    frame.get_by_role("button", name=f"Publish all {drafts} drafts").press("Enter")
    expect(flash(frame)).to_have_text(
        f"Nothing was published: {drafts} drafts were made under peer mentoring, and the program is now group "
        "mentoring. Run matching again (it replaces them), or remove them, then publish."
    )
    frame.get_by_role("button", name="Run matching").press("Enter")
    expect(flash(frame)).to_contain_text(f"{AMARA} and {PRIYA} chose both to mentor and to be mentored")
    expect(flash(frame)).not_to_contain_text("give them two ids")
    assert all(status == "draft" for *_, status, _ in cohort.matches())


def test_not_matched_follows_a_removed_draft_and_publishing(
    page: Page, sandbox: Sandbox, app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    cohort = build_cohort(app, new_browser)  # two mentors of one place, three mentees: one is left out
    _program(cohort)
    frame = _matching(page, sandbox)
    run = frame.get_by_role("region", name="Run matching")
    listed = run.get_by_role("list", name=re.compile(r"^Not matched")).get_by_role("listitem")
    expect(listed).to_have_count(1)
    left_out = listed.first.locator("strong").inner_text()

    draft = frame.get_by_role("region", name=re.compile(r"^Draft matches")).get_by_role("article").first
    removed = re.sub(r"^\d+\. .+ mentors ", "", draft.get_by_role("heading").inner_text()).strip()
    draft.get_by_role("button", name="Remove").press("Enter")
    expect(flash(frame)).to_have_text("Draft removed.")
    expect(run.get_by_role("heading", name="Not matched (2)")).to_be_visible()
    expect(listed.filter(has_text=removed)).to_contain_text("Their draft was removed or their match ended")
    expect(listed.filter(has_text=left_out)).to_have_count(1)

    frame.get_by_role("button", name="Publish all 1 draft", exact=True).press("Enter")
    expect(flash(frame)).to_have_text("Published 1 match.")
    expect(run.get_by_role("heading", name="Not matched (2)")).to_be_visible()
    expect(listed).to_have_count(2)


def test_drafts_show_points_what_sets_them_apart_the_next_best_mentor_and_times_in_the_instructors_zone(
    page: Page, sandbox: Sandbox, tool_url: str, app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    cohort = build_cohort(app, new_browser)
    levels = {"python": 2, "sql": 5, "data-viz": 2, "communication": 3, "feedback": 3}
    cohort.profile("learner-02", mentor_profile(capacity=3, skill_levels=levels))  # a place to spare
    cohort.profile("learner-03", mentee_profile(goals=["python"]))
    cohort.profile("instructor", mentor_profile(timezone="Europe/Berlin", availability=["tue-06"]))
    _program(cohort)
    frame = _matching(page, sandbox)
    expect(frame.get_by_text("here times are in your time zone, Europe/Berlin.", exact=False)).to_be_visible()
    drafts = frame.get_by_role("region", name=re.compile(r"^Draft matches")).get_by_role("article")
    expect(drafts).to_have_count(3)
    for index in range(3):
        expect(drafts.nth(index).get_by_text(re.compile(r"^Score: \d+ of 100 points$"))).to_be_visible()
        expect(drafts.nth(index).locator(".comparison")).to_contain_text("Against the other drafts on this page")
    expect(drafts.get_by_text(re.compile(r"\d+ ?%"))).to_have_count(0)  # scores, parts and comparisons: points
    expect(frame.locator(".stats").get_by_text(re.compile(r"\d+ ?%"))).to_have_count(0)

    amara = frame.get_by_role("article", name=re.compile(f"{PRIYA} mentors {AMARA}"))
    expect(amara.locator("ul.reasons")).to_contain_text("Monday 18:00 Europe/Berlin time")
    expect(amara.locator("ul.reasons")).not_to_contain_text("UTC")
    expect(amara.locator(".comparison")).to_contain_text(re.compile(rf"Next best for {AMARA}: {LUKAS}, \d+ of 100"))
    expect(amara.locator(".comparison")).to_contain_text(re.compile(r"Help with your goals: \d+ points? fewer"))
    expect(amara.locator(".comparison")).to_contain_text("They have a place left.")
    document = tool_document(page, tool_url)
    no_horizontal_scroll(document)
    assert_no_serious_axe_violations(document)

    amara.get_by_role("button", name=f"Reassign to {LUKAS}").press("Enter")
    expect(flash(frame)).to_have_text(re.compile(r"^Reassigned: score \d+ of 100 points\.$"))
    expect(frame.get_by_role("article", name=re.compile(f"{LUKAS} mentors {AMARA}"))).to_be_visible()

    # The page with its comparisons fits a 320 px phone, opened on its own.
    review_url = tool_document(page, tool_url).url
    page.set_viewport_size({"width": 320, "height": 700})
    page.goto(review_url)
    expect(page.get_by_role("heading", level=1)).to_have_text("Matching")
    expect(page.locator(".comparison").first).to_be_visible()
    widths = page.evaluate("() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1] == 320, widths
