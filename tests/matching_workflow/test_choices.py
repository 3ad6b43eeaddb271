"""The program's matching choices in the instructor's workflow: a minimum score, and time zones."""

from __future__ import annotations

from datetime import date

from flask import Flask

from lti_tool.extensions import db
from lti_tool.matching import engine
from lti_tool.matching.views import UNMATCHED_LABELS
from lti_tool.programs.models import Program
from tests.matching_workflow.conftest import Cohort, mentee_profile, mentor_profile
from tests.programs.helpers import text_of


def _program(app: Flask, cohort: Cohort, **columns: object) -> None:
    with app.app_context():
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        for name, value in columns.items():
            setattr(program, name, value)
        db.session.commit()


def test_a_minimum_score_leaves_mentees_unmatched_and_the_review_says_why(cohort: Cohort, app: Flask) -> None:
    cohort.profile("learner-02", mentor_profile(capacity=3))
    page = cohort.post("instructor", "/run")
    assert "Matching proposed 3 matches" in page.text
    assert "As many mentees as possible are matched" in text_of(page)
    _program(app, cohort, min_score=0.95)  # no pair of this cohort scores that well
    page = cohort.post("instructor", "/run")
    text = text_of(page)
    assert "Matching proposed 0 matches; 3 mentees stay unmatched" in text
    assert "Only matches scoring at least 95 of 100 points are proposed" in text
    assert "Not matched (3)" in text
    assert "Below the minimum match score: 3" in text
    assert "No mentor who fits you reaches the program's minimum score (95 of 100 points)." in text
    assert cohort.matches() == []


def test_time_zones_too_far_apart_are_never_paired_and_summer_time_is_that_of_the_cohort(
    cohort: Cohort, app: Flask
) -> None:
    # Kolkata 21:00-24:00 is 15:30-18:30 UTC: it shares an hour with Paris evenings. Paris is 4.5 hours behind
    # Kolkata in January and 3.5 in July (India has no summer time).
    cohort.profile("learner-02", mentor_profile(capacity=3))
    cohort.profile("learner-03", mentee_profile(timezone="Asia/Kolkata", availability=["mon-21"]))
    _program(app, cohort, max_hours_apart=4)
    text = text_of(cohort.post("instructor", "/run"))
    assert "Matching proposed 2 matches; 1 mentee stays unmatched" in text
    assert "People are paired only when their time zones are at most 4 hours apart." in text
    assert "Time zones too far apart: 1" in text
    assert (
        "Every mentor who could fit you lives more than 4 hours from your time zone (UTC+05:30), and this program "
        "pairs people at most 4 hours apart." in text
    )
    assert "learner-03" not in {mentee for _, mentee, *_ in cohort.matches()}
    # A cohort starting in July compares July's offsets: 3.5 hours, within the limit.
    _program(app, cohort, starts_on=date(2026, 7, 6))
    text = text_of(cohort.post("instructor", "/run"))
    assert "Matching proposed 3 matches" in text
    assert "learner-03" in {mentee for _, mentee, *_ in cohort.matches()}


def test_waking_hours_in_common_count_when_weighted_and_are_explained(cohort: Cohort, app: Flask) -> None:
    # Monday 12:00-15:00 in New York is 18:00-21:00 in Paris: everyone shares a slot, but only the two New Yorkers
    # share all their waking hours.
    new_york = {"timezone": "America/New_York", "availability": ["mon-12"]}
    cohort.profile("learner-01", mentor_profile(**new_york))
    cohort.profile("learner-05", mentee_profile(**new_york))
    page = text_of(cohort.post("instructor", "/run"))
    assert "so you are awake at the same hours" not in page  # the weight is 0 by default
    assert "Waking hours in common" not in page  # nor a bar that can never fill
    _program(app, cohort, weights={"goal_gain": 0.1, "waking_hours": 1.0})
    page = text_of(cohort.post("instructor", "/run"))
    pairs = {mentee: mentor for mentor, mentee, *_ in cohort.matches()}
    assert pairs["learner-05"] == "learner-01"
    assert pairs.get("learner-03", pairs.get("learner-04")) == "learner-02"
    assert "is in your time zone, so you are awake at the same hours." in page
    assert "Waking hours in common" in page


def test_self_match_never_offers_a_mentor_beyond_the_time_zone_limit(cohort: Cohort, app: Flask) -> None:
    # Priya (learner-01), the strongest fit, moves to Los Angeles: Monday 09:00 there is 18:00 in Paris.
    cohort.profile("learner-01", mentor_profile(timezone="America/Los_Angeles", availability=["mon-09"]))
    _program(app, cohort, self_match=True)
    choose = f"/courses/{cohort.course_id}/program/matching/choose"
    assert "Choose Priya Natarajan" in cohort.browsers["learner-03"].get(choose).text
    _program(app, cohort, max_hours_apart=8)  # Paris and Los Angeles are 9 hours apart
    page = cohort.browsers["learner-03"].get(choose)
    assert "Choose Priya Natarajan" not in page.text
    refused = cohort.post("learner-03", "/choose", {"mentor": cohort.participant("learner-01")})
    assert refused.status_code == 200
    assert "That mentor is not among your suggestions any more" in refused.text
    assert cohort.matches() == []


def test_a_manual_match_across_the_time_zone_limit_says_it_breaks_it(cohort: Cohort, app: Flask) -> None:
    cohort.profile("learner-05", mentee_profile(timezone="America/Los_Angeles", availability=["mon-09"]))
    _program(app, cohort, max_hours_apart=6)
    page = cohort.post(
        "instructor",
        "/manual",
        {"mentor": cohort.participant("learner-01"), "mentee": cohort.participant("learner-05")},
    )
    assert "It breaks:" in page.text
    assert "their time zones are 9 hours apart; the program pairs people at most 6 hours apart" in page.text


def test_every_reason_the_engine_gives_has_a_label_on_the_review_page() -> None:
    assert set(UNMATCHED_LABELS) == set(engine.UnmatchedReason)
