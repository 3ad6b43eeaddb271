"""Mentoring in practice, end to end in a real browser through the sandbox LMS (issue 5's "Done when"): a matched pair
accepts its agreement, logs and confirms a session, sets and completes a goal, and rates the mentee's skills in a
baseline and a follow-up round; the mentee sees her growth, and the instructor sees it all on Program health and
downloads the sessions CSV. Everything a person does is typed or clicked inside the LMS page's 800-px tool iframe;
only the setup (the program, the profiles, matching, the baseline round) goes through the services."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from playwright.sync_api import FrameLocator, Locator, Page, expect

from lti_tool.assessments import services as assessments
from lti_tool.assessments.models import GradeRule, RoundKind
from lti_tool.extensions import db
from lti_tool.matching import workflow
from lti_tool.programs.models import Program
from lti_tool.runtime import runtime
from tests.browser.test_mentorship_flow import launch, launched, no_horizontal_scroll, tool_document
from tests.conftest import Sandbox
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import Cohort, mentee_profile, mentor_profile
from tests.profiles.helpers import course_id, create_program

INSTRUCTOR = "Ada Okafor"
AMARA = "Amara Diallo"  # learner-03, the mentee
PRIYA = "Priya Natarajan"  # learner-01, her mentor
ZONE = ZoneInfo("Europe/Paris")  # both profiles' time zone
BASELINE = "Baseline, week 1"
FOLLOW_UP = "End of cohort"
GOAL = "Review a colleague's pull request on my own"
TOPICS = "Reading pandas tracebacks and writing a first SQL join."


# --- Helpers ----------------------------------------------------------------------------------------------------


def flash(frame: FrameLocator) -> Locator:
    """The page's flash message (the pair page has other live regions, so not every role=status)."""
    return frame.locator("p.flash")


def rate(frame: FrameLocator, levels: dict[str, int], comment: str) -> None:
    """Fill in the open rating form: for each skill focus level 1, then move up with the arrow keys."""
    for skill, level in levels.items():
        group = frame.get_by_role("group", name=skill, exact=True)
        radios = group.get_by_role("radio")
        expect(radios).to_have_count(5)
        radios.first.press("Space")  # level 1, "Beginner"
        for _ in range(level - 1):
            group.locator(":focus").press("ArrowRight")
        expect(radios.nth(level - 1)).to_be_checked()
    frame.get_by_role("textbox").last.fill(comment)
    frame.get_by_role("button", name="Submit ratings").press("Enter")


def open_rating(frame: FrameLocator, link: str) -> None:
    """From "My mentorship", follow a rating task's link."""
    frame.get_by_role("region", name="Skill assessments").get_by_role("link", name=link).press("Enter")
    expect(frame.get_by_role("heading", level=1)).to_contain_text(link.split(" in “")[0])


def reload(page: Page, tool_url: str) -> None:
    """Load the iframe's page again (without its #fragment), waiting until the new document is there."""
    document = tool_document(page, tool_url)
    document.goto(document.url.split("#", 1)[0])


def paris_today() -> date:
    return datetime.now(ZONE).date()


# --- Fixtures ---------------------------------------------------------------------------------------------------


def published_pair(
    app: Flask, new_browser: Callable[[], LtiBrowser], round_settings: assessments.RoundSettings
) -> Cohort:
    """Priya mentors Amara (learner-01 and learner-03), published, and an open round with these settings."""
    browsers = launched(new_browser, "instructor", "learner-01", "learner-03")
    found = Cohort(app, course_id(app, "ment-101"), create_program(app), browsers)
    found.profile("learner-01", mentor_profile())
    found.profile("learner-03", mentee_profile(goals=["python", "sql"]))
    with app.app_context():
        program = db.session.get_one(Program, found.program_id)
        workflow.run_matching(program)
        workflow.publish(program, settings=runtime().settings, tool_base="http://tool.test/")
        assessments.open_round(assessments.create_round(program, round_settings))
        db.session.commit()
    assert found.matches() == [("learner-01", "learner-03", "published", False)]
    return found


@pytest.fixture
def pair(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Cohort:
    """Priya mentors Amara, published; an ungraded baseline round is open."""
    settings = assessments.RoundSettings(BASELINE, RoundKind.BASELINE, 1, False, GradeRule.AVERAGE_LEVEL)
    return published_pair(app, new_browser, settings)


# --- The test ---------------------------------------------------------------------------------------------------


def test_a_pair_meets_sets_goals_and_grows_and_the_instructor_sees_it_on_program_health(
    page: Page, people: Callable[[], Page], sandbox: Sandbox, tool_url: str, pair: Cohort
) -> None:
    mentor_page, instructor_page = people(), people()

    # 1. Amara opens her pair page from "My mentorship" and accepts the agreement.
    mentee = launch(page, sandbox, AMARA, "My mentorship")
    mentee.get_by_role("link", name="Open your pair page").press("Enter")
    expect(mentee.get_by_role("heading", level=1)).to_have_text(f"With {PRIYA}")
    agreement = mentee.get_by_role("region", name="Mentoring agreement")
    waiting = agreement.locator("p.waiting")
    expect(waiting).to_have_text(f"Waiting for you and {PRIYA} to accept the agreement.")
    agreement.get_by_label("Your own expectations for this pair (optional)").press_sequentially(
        "Every other Tuesday by video; code review first."
    )
    agreement.get_by_role("button", name="I accept the agreement").press("Enter")
    expect(flash(mentee)).to_have_text(f"You accepted the agreement. Waiting for {PRIYA} to accept it.")
    expect(waiting).to_have_text(f"Waiting for {PRIYA} to accept the agreement.")
    no_horizontal_scroll(tool_document(page, tool_url))

    # 2. Priya accepts too.
    mentor = launch(mentor_page, sandbox, PRIYA, "My mentorship")
    mentor.get_by_role("link", name="Open your pair page").press("Enter")
    expect(mentor.get_by_role("heading", level=1)).to_have_text(f"With {AMARA}")
    mentor.get_by_role("button", name="I accept the agreement").press("Enter")
    expect(flash(mentor)).to_have_text(
        "You accepted the agreement. Everyone has accepted: log your first session when you have met."
    )
    expect(mentor.get_by_text("Everyone has accepted the agreement.")).to_be_visible()

    # 3. Amara logs the session they had three hours ago in the form at #log-session: after the pair's start less
    # its day's margin (sessions.BEFORE_PAIR_MARGIN; "yesterday at 18:00" was before it from 18:00 Paris time on).
    reload(page, tool_url)
    log = mentee.locator("#log-session")
    expect(log.get_by_role("heading", name="Log a session")).to_be_visible()
    met = datetime.now(ZONE) - timedelta(hours=3)
    log.get_by_label("Date", exact=True).fill(met.date().isoformat())
    log.get_by_label("Start time").fill(f"{met.hour:02d}:{met.minute // 15 * 15:02d}")
    duration = log.get_by_label("Duration in minutes")
    duration.fill("")
    duration.press_sequentially("90")
    log.get_by_role("radio", name="Video call").press("Space")
    log.get_by_label("Topics").press_sequentially(TOPICS)
    log.locator("summary", has_text="Skills practised (optional)").press("Enter")  # the list opens
    log.get_by_role("group", name="Skills practised (optional)").get_by_role("checkbox", name="Python").press("Space")
    log.get_by_role("button", name="Log this session").press("Enter")
    expect(flash(mentee)).to_have_text(f"Your session is logged. Waiting for {PRIYA} to confirm it.")
    session = mentee.locator("article.session")
    expect(session).to_have_count(1)
    expect(session).to_contain_text("Awaiting confirmation")
    expect(session).to_contain_text("Video call · 90 min")

    # 4. Priya confirms it.
    reload(mentor_page, tool_url)
    expect(mentor.get_by_text("Waiting for you:")).to_be_visible()
    mentor.locator("article.session").get_by_role("button", name="Confirm").press("Enter")
    expect(flash(mentor)).to_have_text(
        "You confirmed this session. Rate it, if you like, and note what you will do next."
    )

    # 5. Amara sets a goal, then marks it completed.
    reload(page, tool_url)
    expect(mentee.locator("article.session")).to_contain_text("Confirmed")
    goals = mentee.get_by_role("region", name="Goals")
    goals.get_by_label("Your goal").press_sequentially(GOAL)
    goals.get_by_label("Framework skill it develops").select_option(label="Python")
    goals.get_by_label("How we'll know it is reached").press_sequentially("Three reviews merged without rework.")
    goals.get_by_label("Target date").fill((paris_today() + timedelta(days=30)).isoformat())
    goals.get_by_role("button", name="Set the goal").press("Enter")
    expect(flash(mentee)).to_contain_text(f"Your goal “{GOAL}” is set.")
    goal = mentee.get_by_role("article", name=GOAL)
    expect(goal.locator(".goal-meta .status")).to_have_text("Not started")
    goal.get_by_text("Update status and progress").press("Enter")  # the <summary> opens
    goal.get_by_label("Status").select_option(label="Completed")
    progress = goal.get_by_label("Progress (%)")
    progress.fill("")
    progress.press_sequentially("100")
    goal.get_by_role("button", name="Save progress").press("Enter")
    expect(flash(mentee)).to_have_text(f"“{GOAL}” is completed. Well done!")
    expect(mentee.get_by_role("article", name=GOAL).locator(".goal-meta .status")).to_have_text("Completed")
    no_horizontal_scroll(tool_document(page, tool_url))

    # 6. Baseline: Amara rates herself, Priya rates her.
    mentee.get_by_role("link", name="My mentorship").first.press("Enter")
    expect(mentee.get_by_role("heading", level=1)).to_have_text("My mentorship")
    # They have met and set a goal: the next step is their next session, not a first meeting.
    expect(mentee.locator("p.match-next-step")).to_contain_text(f"meet {PRIYA} again by")
    open_rating(mentee, f"Rate yourself in “{BASELINE}”")
    # A learner reads of her own skills, not the rule as staff read it ("the mentee's focus skills").
    expect(mentee.locator("form.profile-form")).to_contain_text("These are your focus skills")
    expect(mentee.locator("main")).not_to_contain_text("the mentee")
    rate(mentee, {"Python": 1, "SQL": 2}, "I can read Python but not yet write it alone.")
    expect(flash(mentee)).to_contain_text(f"Your self-assessment for “{BASELINE}” is saved.")

    mentor.get_by_role("link", name="My mentorship").first.press("Enter")
    open_rating(mentor, f"Rate {AMARA} in “{BASELINE}”")
    expect(mentor.locator("form.profile-form")).to_contain_text(f"These are {AMARA}'s focus skills")
    rate(mentor, {"Python": 2, "SQL": 1}, "Solid start in Python; SQL joins are new.")
    expect(flash(mentor)).to_contain_text(f"Your rating of {AMARA} for “{BASELINE}” is saved")

    # 7. The instructor closes the baseline and creates and opens a follow-up, in Skill assessments.
    staff = launch(instructor_page, sandbox, INSTRUCTOR, "Program setup")
    staff.get_by_role("link", name="Skill assessments", exact=True).press("Enter")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Skill assessments")
    staff.get_by_role("link", name=BASELINE).press("Enter")
    expect(staff.get_by_role("heading", level=1)).to_have_text(BASELINE)
    staff.get_by_role("button", name="Close the round").press("Enter")
    expect(flash(staff)).to_have_text(f"“{BASELINE}” is closed: its ratings are final unless you reopen it.")
    staff.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Skill assessments").press("Enter")
    create = staff.get_by_role("region", name="Create a round")
    create.get_by_label("Title", exact=True).press_sequentially(FOLLOW_UP)
    create.get_by_role("radio", name="Follow-up").check()
    expect(create.get_by_label("Order")).to_have_value("2")
    create.get_by_role("button", name="Create round").press("Enter")
    expect(flash(staff)).to_have_text(f"Created “{FOLLOW_UP}”. Open it when mentees and mentors should rate.")
    staff.get_by_role("button", name="Open the round").press("Enter")
    expect(flash(staff)).to_contain_text(f"“{FOLLOW_UP}” is open")

    # 8. Both rate again, higher.
    reload(page, tool_url)
    mentee.get_by_role("link", name="My mentorship").first.press("Enter")
    open_rating(mentee, f"Rate yourself in “{FOLLOW_UP}”")
    rate(mentee, {"Python": 3, "SQL": 3}, "I now write small scripts on my own.")
    expect(flash(mentee)).to_contain_text(f"Your self-assessment for “{FOLLOW_UP}” is saved.")
    mentor.get_by_role("link", name="My mentorship").first.press("Enter")
    open_rating(mentor, f"Rate {AMARA} in “{FOLLOW_UP}”")
    rate(mentor, {"Python": 4, "SQL": 3}, "Reviews code confidently now.")
    expect(flash(mentor)).to_contain_text(f"Your rating of {AMARA} for “{FOLLOW_UP}” is saved")

    # 9. Amara's growth page shows the growth.
    mentee.get_by_role("link", name="Your skill growth").press("Enter")
    expect(mentee.get_by_role("heading", level=1)).to_have_text("Your skill growth")
    expect(mentee.get_by_role("heading", name=f"Growth from “{BASELINE}” to “{FOLLOW_UP}”")).to_be_visible()
    rows = mentee.locator("table.growth-table tbody tr")
    expect(rows.filter(has_text="Python")).to_contain_text("+2")  # the mentor's rating: 2 → 4
    expect(rows.filter(has_text="SQL")).to_contain_text("+2")  # 1 → 3
    expect(mentee.locator("figure.chart")).to_be_visible()
    no_horizontal_scroll(tool_document(page, tool_url))

    # 10. The instructor opens Program health, sees the session and the goal, and downloads the sessions CSV.
    staff.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Program setup").press("Enter")
    staff.get_by_role("link", name="Program health").press("Enter")
    expect(staff.get_by_role("heading", level=1)).to_have_text("Program health")
    glance = staff.get_by_role("region", name="At a glance")
    expect(glance.locator("div", has=staff.get_by_text("Sessions logged")).locator("dd")).to_have_text("1 1.5 hours")
    expect(glance.locator("div", has=staff.get_by_text("Goals completed")).locator("dd")).to_have_text("1 of 1")
    expect(glance.locator("div", has=staff.get_by_text("Agreements accepted by everyone")).locator("dd")).to_have_text(
        "1 of 1"
    )
    pair_row = staff.get_by_role("region", name="Pairs").locator("table.pair-table tbody tr")
    expect(pair_row).to_have_count(1)
    expect(pair_row).to_contain_text("Accepted")
    expect(pair_row.locator("td").nth(1)).to_have_text("1")
    expect(pair_row.locator("td").nth(4)).to_have_text("1 of 1")
    no_horizontal_scroll(tool_document(instructor_page, tool_url))

    with instructor_page.expect_download() as download_info:
        staff.get_by_role("link", name="Sessions (CSV)").click()
    download = download_info.value
    assert download.suggested_filename == f"sessions-course-{pair.course_id}.csv"
    path = download.path()
    assert path is not None
    rows_csv = list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    assert len(rows_csv) == 1, rows_csv
    assert any(TOPICS in value for value in rows_csv[0].values()), rows_csv[0]
