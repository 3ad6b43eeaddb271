"""The mentorship workflow end to end in a real browser, through the sandbox LMS: a learner fills in her profile,
the instructor runs, reviews and publishes matching, a mentee sees her mentor and asks for another one, and the
instructor ends the match. Everything a person does is typed or clicked inside the LMS page's tool iframe; only the
setup (the program, the other people's profiles) goes through the services, as in tests/matching_workflow."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from playwright.sync_api import Frame, FrameLocator, Locator, Page, expect

from lti_tool.extensions import db
from lti_tool.matching import workflow
from lti_tool.programs import services as programs
from lti_tool.programs.models import MatchStatus, Program
from lti_tool.runtime import runtime
from tests.browser.conftest import ARTIFACTS, assert_no_serious_axe_violations
from tests.conftest import Sandbox
from tests.lti_browser import LtiBrowser
from tests.matching_workflow.conftest import Cohort, mentee_profile, mentor_profile
from tests.profiles.helpers import SKILLS, course_id, create_program

INSTRUCTOR = "Ada Okafor"
AMARA = "Amara Diallo"  # learner-03
PRIYA = "Priya Natarajan"  # learner-01
LUKAS = "Lukas Becker"  # learner-02
CHEN = "Chen Wei"  # learner-04
SOFIA = "Sofia Rossi"  # learner-05
REASON = "Our weekly slots never line up in practice, and I mostly need help with SQL."


# --- Helpers: what a person does in the LMS page and the tool's iframe ------------------------------------------


def launch(page: Page, sandbox: Sandbox, name: str, heading: str) -> FrameLocator:
    """Open the course in the LMS and launch the tool as `name` with the keyboard; returns the tool frame once it
    shows `heading`."""
    page.goto(f"{sandbox.url}/courses/ment-101")
    page.get_by_role("link", name=f"Launch as {name}", exact=True).press("Enter")
    frame = page.frame_locator("#tool-frame")
    expect(frame.get_by_role("heading", level=1)).to_have_text(heading)
    expect(frame.locator(".tool-header .who")).to_contain_text(name)
    return frame


def tool_document(page: Page, tool_url: str) -> Frame:
    """The iframe's document as a Frame (for evaluate and reload); it must be the tool's."""
    handle = page.locator("#tool-frame").element_handle()
    assert handle is not None
    frame = handle.content_frame()
    assert frame is not None and frame.url.startswith(f"{tool_url}/"), frame and frame.url
    return frame


def tick(box: Locator) -> None:
    """Tick a checkbox with the space bar (leaving one that is already ticked alone)."""
    if not box.is_checked():
        box.press("Space")
    expect(box).to_be_checked()


def choose_level(frame: FrameLocator, skill: str, level: int) -> None:
    """Rate a skill as the form's hint says: focus its first level, then move with the arrow keys."""
    group = frame.get_by_role("group", name=skill, exact=True)
    radios = group.get_by_role("radio")
    expect(radios).to_have_count(6)
    radios.first.press("Space")  # level 0 "No experience"
    for _ in range(level):
        group.locator(":focus").press("ArrowRight")
    expect(radios.nth(level)).to_be_checked()
    expect(radios.nth(level)).to_be_focused()


def flash(frame: FrameLocator) -> Locator:
    """The page's flash message (the review page has other live regions: each draft's mentor search)."""
    return frame.locator("p.flash")


def no_horizontal_scroll(document: Frame) -> None:
    widths = document.evaluate(
        "() => ({inner: window.innerWidth, scroll: document.documentElement.scrollWidth,"
        " client: document.documentElement.clientWidth})"
    )
    assert widths["inner"] == 800, widths  # the LMS's iframe is 800 px wide in a 1024 px window
    assert widths["client"] > 0 and widths["scroll"] <= widths["client"], widths


def save_screenshot(page: Page, document: Frame, target: Locator | None, name: str) -> None:
    """For people reviewing the layout (test-artifacts/ is git-ignored): the iframe is grown to its content's height
    (its width stays), then the whole tool page or one element of it is saved."""
    ARTIFACTS.mkdir(exist_ok=True)
    height = document.evaluate("() => document.documentElement.scrollHeight")
    page.locator("#tool-frame").evaluate("(frame, height) => { frame.style.height = height + 'px'; }", height + 4)
    (target or page.locator("#tool-frame")).screenshot(path=str(ARTIFACTS / name))


# --- Fixtures: people who have launched, a program and profiles made through the services -------------------------


@pytest.fixture
def other_page(people: Callable[[], Page]) -> Page:
    """A second person's browser: a fresh context, its own cookies."""
    return people()


def launched(new_browser: Callable[[], LtiBrowser], *people: str) -> dict[str, LtiBrowser]:
    """These people have opened the tool once (over HTTP), so the course and their memberships exist."""
    browsers = {}
    for person in people:
        browsers[person] = new_browser()
        browsers[person].launch(person=person)
    return browsers


@pytest.fixture
def cohort(app: Flask, new_browser: Callable[[], LtiBrowser]) -> Cohort:
    """Priya (learner-01) and Lukas (-02) mentor one mentee each; Amara (-03) wants help with Python, Chen (-04)
    with SQL, and Sofia (-05) meets only in French, which no mentor speaks: she is left unmatched."""
    browsers = launched(new_browser, "instructor", "learner-01", "learner-02", "learner-03", "learner-04", "learner-05")
    found = Cohort(app, course_id(app, "ment-101"), create_program(app), browsers)
    found.profile("learner-01", mentor_profile())
    found.profile("learner-02", mentor_profile(skill_levels={"python": 4, "sql": 5, "data-viz": 2,
                                                             "communication": 3, "feedback": 3}))  # fmt: skip
    found.profile("learner-03", mentee_profile(goals=["python"]))
    found.profile("learner-04", mentee_profile(goals=["sql"]))
    found.profile("learner-05", mentee_profile(languages=["fr"]))
    return found


# --- 1. A learner fills in her profile --------------------------------------------------------------------------


def test_a_learner_fills_in_her_profile_in_the_form_and_sees_it_complete(
    page: Page, sandbox: Sandbox, app: Flask, new_browser: Callable[[], LtiBrowser]
) -> None:
    launched(new_browser, "instructor")
    program_id = create_program(app)
    with app.app_context():  # a short form: two skills, one of each kind
        program = db.session.get(Program, program_id)
        assert program is not None
        programs.replace_framework(program, [SKILLS[0], SKILLS[3]])
        db.session.commit()

    frame = launch(page, sandbox, AMARA, "My mentorship")
    expect(frame.locator(".status")).to_have_text("Not started")
    expect(frame.get_by_text("Matching has not been published yet.")).to_be_visible()
    frame.get_by_role("link", name="Fill in your profile").press("Enter")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Fill in your profile")

    tick(frame.get_by_role("checkbox", name="I want to be mentored"))
    expect(frame.get_by_role("checkbox", name="I want to mentor")).not_to_be_checked()
    choose_level(frame, "Python", 1)
    choose_level(frame, "Communication", 3)
    goals = frame.get_by_role("group", name="Skills you want to work on")
    tick(goals.get_by_role("checkbox", name="Python"))
    tick(goals.get_by_role("checkbox", name="Communication"))
    tick(
        frame.get_by_role("group", name="Skills you can help others with").get_by_role("checkbox", name="Communication")
    )
    frame.get_by_label("Your time zone").select_option("Africa/Dakar")
    for slot in ("Monday 18:00 to 21:00", "Wednesday 18:00 to 21:00", "Saturday 09:00 to 12:00"):
        tick(frame.get_by_role("checkbox", name=slot, exact=True))
    languages = frame.get_by_role("group", name="Languages you can meet in")
    tick(languages.get_by_role("checkbox", name="English", exact=True))
    tick(languages.get_by_role("checkbox", name="French"))
    frame.get_by_label("Department or group (optional)").press_sequentially("Biology")
    frame.get_by_label("Short bio (optional)").press_sequentially("Biology student learning Python for my lab data.")
    frame.get_by_role("button", name="Save profile").press("Enter")

    expect(frame.get_by_role("heading", level=1)).to_have_text("My mentorship")
    expect(flash(frame)).to_have_text(
        "Your profile is complete. You will see your match here once your instructor publishes matches."
    )
    expect(frame.locator(".status")).to_have_text("Complete")
    expect(frame.get_by_text("You take part as a mentee.")).to_be_visible()
    expect(frame.get_by_text("Your profile is ready: your match will appear here")).to_be_visible()

    # Everything typed was saved: the form shows it again.
    frame.get_by_role("link", name="Edit your profile").press("Enter")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Edit your profile")
    expect(frame.get_by_role("group", name="Python", exact=True).get_by_role("radio").nth(1)).to_be_checked()
    expect(frame.get_by_role("group", name="Communication", exact=True).get_by_role("radio").nth(3)).to_be_checked()
    expect(frame.get_by_label("Your time zone")).to_have_value("Africa/Dakar")
    expect(frame.get_by_role("checkbox", name="Saturday 09:00 to 12:00", exact=True)).to_be_checked()
    expect(frame.get_by_role("checkbox", name="Sunday 09:00 to 12:00", exact=True)).not_to_be_checked()
    expect(frame.get_by_label("Short bio (optional)")).to_have_value("Biology student learning Python for my lab data.")


def test_a_learner_finds_the_mentor_she_would_like_by_name_with_the_keyboard(
    page: Page, sandbox: Sandbox, tool_url: str, cohort: Cohort
) -> None:
    frame = launch(page, sandbox, AMARA, "My mentorship")
    frame.get_by_role("link", name="Edit your profile").press("Enter")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Edit your profile")
    picker = frame.get_by_role("group", name="People you would like to be matched with (optional, up to 3)")
    search = picker.get_by_label("Find people by name")
    search.press_sequentially("beck")
    found = picker.get_by_role("group", name="People found")
    expect(picker.get_by_role("status")).to_have_text("1 person matches “beck”.")
    expect(found.get_by_role("checkbox")).to_have_count(1)
    tick(picker.get_by_role("checkbox", name=LUKAS))
    # Enter searches at once (it does not save the form); the choice stays, ticked, among her choices.
    search.fill("")
    search.press_sequentially("priya")
    search.press("Enter")
    expect(picker.get_by_role("status")).to_have_text("1 person matches “priya”.")
    expect(found.get_by_role("checkbox", name=PRIYA)).to_be_visible()
    expect(picker.get_by_role("group", name="Your choices").get_by_role("checkbox", name=LUKAS)).to_be_checked()
    expect(frame.get_by_role("heading", level=1)).to_have_text("Edit your profile")
    assert_no_serious_axe_violations(tool_document(page, tool_url))
    frame.get_by_role("button", name="Save profile").press("Enter")
    expect(flash(frame)).to_have_text("Your profile is saved.")
    frame.get_by_role("link", name="Edit your profile").press("Enter")
    expect(picker.get_by_role("group", name="Your choices").get_by_role("checkbox", name=LUKAS)).to_be_checked()
    expect(picker.get_by_role("checkbox", checked=True)).to_have_count(1)


# --- 2. The full cycle: run, review, lock, publish; a mentee asks for another mentor; the instructor decides -----


def test_matching_is_run_published_seen_by_the_mentee_and_ended_on_her_request(
    page: Page, other_page: Page, sandbox: Sandbox, tool_url: str, cohort: Cohort
) -> None:
    frame = launch(page, sandbox, INSTRUCTOR, "Program setup")
    matching = frame.get_by_role("region", name="Matching")
    expect(matching).to_contain_text("0 draft and 0 published matches.")
    matching.get_by_role("link", name="Matching").press("Enter")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Matching")
    expect(frame.get_by_text("2 possible mentors and 3 possible mentees have complete profiles.")).to_be_visible()
    expect(frame.get_by_role("heading", name="Draft matches (0)")).to_be_visible()

    frame.get_by_role("button", name="Run matching").press("Enter")
    expect(flash(frame)).to_have_text("Matching proposed 2 matches; 1 mentee stays unmatched. Review below.")
    expect(frame.get_by_role("heading", name="Draft matches (2)")).to_be_visible()
    not_matched = frame.get_by_role("region", name="Run matching").locator("li")
    expect(not_matched).to_have_count(1)
    expect(not_matched).to_contain_text(SOFIA)
    amara_draft = frame.get_by_role("article", name=re.compile(f"{PRIYA} mentors {AMARA}"))
    chen_draft = frame.get_by_role("article", name=re.compile(f"{LUKAS} mentors {CHEN}"))
    for draft in (amara_draft, chen_draft):  # each draft explains itself: a score, reasons, per-criterion bars
        expect(draft.get_by_text(re.compile(r"^Score: \d+ of 100 points$"))).to_be_visible()
        expect(draft.locator("ul.reasons li").first).to_be_visible()
        expect(draft.locator(".score-bar").first).to_be_visible()
        expect(draft.get_by_text("Breaks the program's rules")).to_have_count(0)
    expect(amara_draft.locator("ul.reasons")).to_contain_text("Python")

    chen_draft.get_by_role("button", name="Lock").press("Enter")
    expect(flash(frame)).to_have_text("Locked: matching will keep this pair.")
    chen_draft = frame.get_by_role("article", name=re.compile(f"{LUKAS} mentors {CHEN}"))
    expect(chen_draft.locator(".tag")).to_have_text("locked")
    expect(chen_draft.get_by_role("button", name="Unlock")).to_be_visible()

    frame.get_by_role("button", name="Publish all 2 drafts").press("Enter")
    expect(flash(frame)).to_have_text("Published 2 matches.")
    expect(frame.get_by_role("heading", name="Draft matches (0)")).to_be_visible()
    published = frame.get_by_role("region", name=re.compile(r"^Published matches")).locator("tbody tr")
    expect(published).to_have_count(2)
    expect(published.filter(has_text=AMARA)).to_contain_text(PRIYA)
    assert [status for *_, status, _ in cohort.matches()] == ["published", "published"]

    # Amara, in her own browser, sees her mentor and why, and asks for someone else.
    mentee = launch(other_page, sandbox, AMARA, "My mentorship")
    card = mentee.get_by_role("article", name=f"Your mentor: {PRIYA}")
    expect(card).to_be_visible()
    expect(card.get_by_role("heading", name="Why you were matched")).to_be_visible()
    expect(card.locator("ul.reasons li").first).to_be_visible()
    expect(card.get_by_text(re.compile(r"^Match score: \d+ of 100 points$"))).to_be_visible()
    reason_box = card.get_by_label(re.compile("Why would you like a different match?"))
    expect(reason_box).to_be_hidden()
    card.get_by_text("Ask your instructor for a different match").press("Enter")  # the <summary> opens
    expect(reason_box).to_be_visible()
    reason_box.press_sequentially(REASON)
    card.get_by_role("button", name="Send the request").press("Enter")
    expect(flash(mentee)).to_have_text(
        "Your request was sent to your instructor. Your match stays visible until they decide."
    )
    expect(mentee.get_by_role("article", name=f"Your mentor: {PRIYA}")).to_be_visible()

    # The instructor reloads Matching: the request is there with its reason, and she ends the match.
    tool_document(page, tool_url).evaluate("() => location.reload()")
    expect(frame.get_by_role("heading", name="Rematch requests (1)")).to_be_visible()
    request = frame.get_by_role("region", name="Rematch requests (1)").get_by_role("article")
    expect(request).to_contain_text(f"{AMARA} asks to leave the match {PRIYA} → {AMARA}:")
    expect(request.locator("blockquote")).to_have_text(REASON)
    request.get_by_label("Decision").select_option(label="End this match")
    request.get_by_role("button", name="Decide").press("Enter")
    expect(flash(frame)).to_have_text(
        "The match has ended; this pair will not be proposed again. Run matching to find a new mentor."
    )
    expect(frame.get_by_role("heading", name="Rematch requests (0)")).to_be_visible()
    expect(frame.get_by_role("heading", name="Published matches (1)")).to_be_visible()
    published = frame.get_by_role("region", name=re.compile(r"^Published matches")).locator("tbody tr")
    expect(published).to_have_count(1)
    expect(published).to_contain_text(CHEN)
    expect(published.filter(has_text=AMARA)).to_have_count(0)
    assert ("learner-01", "learner-03", "ended", False) in cohort.matches()

    # Amara's page no longer shows Priya as her mentor.
    tool_document(other_page, tool_url).evaluate("() => location.reload()")
    expect(mentee.get_by_role("heading", name="Your matches")).to_be_visible()
    expect(mentee.get_by_role("article", name=f"Your mentor: {PRIYA}")).to_have_count(0)


# --- 3. Accessibility and fit of the two busiest pages ----------------------------------------------------------


@pytest.fixture
def matched_cohort(app: Flask, cohort: Cohort, new_browser: Callable[[], LtiBrowser]) -> Cohort:
    """Amara and Chen have published matches; then Priya takes a second mentee and Kwame (learner-06) joins, so the
    next run leaves a draft beside them; and Chen has asked for another mentor."""
    with app.app_context():
        settings = {"settings": runtime().settings, "tool_base": "http://tool.test/"}
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        workflow.run_matching(program)
        workflow.publish(program, **settings)
        db.session.commit()
    cohort.browsers.update(launched(new_browser, "learner-06"))
    cohort.profile("learner-01", mentor_profile(capacity=2))
    cohort.profile("learner-06", mentee_profile())
    with app.app_context():
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        workflow.run_matching(program)
        chen = next(
            m
            for m in workflow.matches(program, MatchStatus.PUBLISHED)
            if m.mentee.membership.user.email.startswith("learner-04@")
        )
        workflow.request_rematch(program, chen, chen.mentee, REASON, **settings)
        db.session.commit()
    assert [status for *_, status, _ in cohort.matches()] == ["published", "published", "draft"]
    return cohort


def test_the_review_page_with_drafts_is_accessible_and_fits_the_iframe(
    page: Page, sandbox: Sandbox, tool_url: str, matched_cohort: Cohort
) -> None:
    frame = launch(page, sandbox, INSTRUCTOR, "Program setup")
    frame.get_by_role("region", name="Matching").get_by_role("link", name="Matching").press("Enter")
    expect(frame.get_by_role("heading", level=1)).to_have_text("Matching")
    expect(frame.get_by_role("heading", name="Draft matches (1)")).to_be_visible()
    expect(frame.get_by_role("button", name="Publish all 1 draft", exact=True)).to_be_visible()
    expect(frame.get_by_role("article", name=re.compile("mentors Kwame Mensah"))).to_be_visible()
    expect(frame.get_by_role("heading", name="Rematch requests (1)")).to_be_visible()
    expect(frame.get_by_role("heading", name="Published matches (2)")).to_be_visible()
    document = tool_document(page, tool_url)
    no_horizontal_scroll(document)
    assert_no_serious_axe_violations(document)
    save_screenshot(page, document, None, "mentorship-review-page.png")


def test_the_learner_home_with_a_match_is_accessible_and_fits_the_iframe(
    page: Page, sandbox: Sandbox, tool_url: str, matched_cohort: Cohort
) -> None:
    frame = launch(page, sandbox, AMARA, "My mentorship")
    card = frame.get_by_role("article", name=f"Your mentor: {PRIYA}")
    expect(card.get_by_role("heading", name="Why you were matched")).to_be_visible()
    card.get_by_text("Ask your instructor for a different match").press("Enter")  # checked open, too
    expect(card.get_by_role("button", name="Send the request")).to_be_visible()
    document = tool_document(page, tool_url)
    no_horizontal_scroll(document)
    assert_no_serious_axe_violations(document)
    save_screenshot(page, document, card, "mentorship-match-card.png")
