"""The instructor's matching workflow and the learner's side of it, over real HTTP launches."""

from __future__ import annotations

import json

from flask import Flask
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.programs.models import Match, MatchingRun, Program, RematchRequest
from lti_tool.statements.models import StatementOutbox
from tests.lti_browser import LtiBrowser, heading
from tests.matching_workflow.conftest import Cohort, mentee_profile, mentor_profile
from xapi.profile import check_statement_against_profile, load_profile


def _outbox(app: Flask, event: str) -> list[dict[str, object]]:
    with app.app_context():
        bodies = db.session.execute(select(StatementOutbox.body).where(StatementOutbox.event == event)).scalars()
        return [json.loads(body) for body in bodies]


def test_matching_proposes_drafts_with_explanations_and_says_who_stays_unmatched(cohort: Cohort) -> None:
    page = cohort.post("instructor", "/run")
    assert page.status_code == 200
    assert heading(page) == "Matching"
    assert "Matching proposed 2 matches; 1 mentee stays unmatched" in page.text
    assert "Draft matches (2)" in page.text
    assert "Breaks the program" not in page.text  # the engine never breaks a hard rule
    assert 'class="reasons"' in page.text and "Score:" in page.text
    assert "Not matched" in page.text
    # People read languages and shared hours in words, never as codes.
    assert "You can talk in English." in page.text
    assert "free hours a week, such as Monday 17:00 UTC" in page.text  # 18:00 in Paris, in January
    assert "mon-17" not in page.text and "talk in en." not in page.text
    assert [status for *_, status, _ in cohort.matches()] == ["draft", "draft"]
    # Drafts are the instructor's: learners still see nothing.
    learner = cohort.browsers["learner-03"].get(f"/courses/{cohort.course_id}/me")
    assert "Matching has not been published yet" in learner.text


def test_publishing_shows_each_pair_their_match_and_records_it(cohort: Cohort, app: Flask) -> None:
    cohort.post("instructor", "/run")
    published = cohort.post("instructor", "/publish")
    assert "Published 2 matches." in published.text
    pairs = cohort.matches()
    assert all(status == "published" for *_, status, _ in pairs)
    _, mentee, *_ = pairs[0]
    page = cohort.browsers[mentee].get(f"/courses/{cohort.course_id}/me")
    assert "Your mentor:" in page.text
    assert "Why you were matched" in page.text
    statements = _outbox(app, "match-published")
    assert len(statements) == 2
    profile = load_profile()
    for statement in statements:
        assert check_statement_against_profile(statement, profile) == []
        assert statement["verb"]["id"].endswith("/matched")  # type: ignore[index]


def test_a_locked_draft_survives_another_run_and_others_are_redrawn(cohort: Cohort, app: Flask) -> None:
    cohort.post("instructor", "/run")
    with app.app_context():
        first = db.session.execute(select(Match.id).order_by(Match.id)).scalars().first()
    cohort.post("instructor", f"/{first}/lock")
    cohort.post("instructor", "/run")
    with app.app_context():
        locked = db.session.get(Match, first)
        assert locked is not None and locked.locked and locked.status == "draft"
        assert db.session.execute(select(Match.id).where(Match.status == "draft")).scalars().all().count(first) == 1


def test_a_manual_match_shows_its_score_and_the_rules_it_breaks(cohort: Cohort) -> None:
    cohort.profile("learner-05", mentee_profile(languages=["fr"]))
    page = cohort.post(
        "instructor",
        "/manual",
        {"mentor": cohort.participant("learner-01"), "mentee": cohort.participant("learner-05")},
    )
    assert "Added a manual draft: score" in page.text
    assert "It breaks:" in page.text and "language" in page.text.lower()
    assert ("learner-01", "learner-05", "draft", False) in cohort.matches()


def test_reassign_and_swap_rescore_the_drafts(cohort: Cohort, app: Flask) -> None:
    cohort.profile("learner-02", mentor_profile(capacity=3))
    cohort.post("instructor", "/run")
    with app.app_context():
        drafts = db.session.execute(select(Match).where(Match.status == "draft").order_by(Match.id)).scalars().all()
        first, second = drafts[0].id, drafts[1].id
        mentees_before = (drafts[0].mentee_id, drafts[1].mentee_id)
    swapped = cohort.post("instructor", "/swap", {"first": first, "second": second})
    assert "Swapped the two mentees" in swapped.text
    with app.app_context():
        a, b = db.session.get(Match, first), db.session.get(Match, second)
        assert a is not None and b is not None
        assert (a.mentee_id, b.mentee_id) == mentees_before[::-1]
    reassigned = cohort.post("instructor", f"/{first}/reassign", {"mentor": cohort.participant("learner-02")})
    assert "Reassigned: score" in reassigned.text
    with app.app_context():
        moved = db.session.get(Match, first)
        assert moved is not None and moved.mentor_id == cohort.participant("learner-02")


def test_rematch_request_ends_the_match_and_the_pair_is_never_proposed_again(cohort: Cohort, app: Flask) -> None:
    cohort.post("instructor", "/run")
    cohort.post("instructor", "/publish")
    mentor, mentee, *_ = cohort.matches()[0]
    with app.app_context():
        match_id = db.session.execute(select(Match.id).order_by(Match.id)).scalars().first()
    sent = cohort.post(mentee, f"/{match_id}/rematch-request", {"reason": "Our schedules never line up in practice."})
    assert "Your request was sent to your instructor" in sent.text
    assert len(_outbox(app, "rematch-requested")) == 1
    assert "schedules" not in json.dumps(_outbox(app, "rematch-requested"))  # free text stays in the tool
    review = cohort.browsers["instructor"].get(f"/courses/{cohort.course_id}/program/matching")
    assert "Our schedules never line up in practice." in review.text
    with app.app_context():
        request_id = db.session.execute(select(RematchRequest.id)).scalar_one()
    cohort.post("instructor", f"/requests/{request_id}", {"action": "rematch"})
    assert (mentor, mentee, "ended", False) in cohort.matches()
    cohort.post("instructor", "/run")
    assert (mentor, mentee, "draft", False) not in cohort.matches()


def test_late_joiners_fill_the_places_left_without_disturbing_published_matches(
    cohort: Cohort, app: Flask, new_browser: object
) -> None:
    cohort.profile("learner-01", mentor_profile(capacity=2))
    cohort.profile("learner-02", mentor_profile(capacity=2))
    cohort.post("instructor", "/run")
    cohort.post("instructor", "/publish")
    published = [m for m in cohort.matches() if m[2] == "published"]
    assert len(published) == 3
    late = new_browser()  # type: ignore[operator]
    late.launch(person="learner-06")
    cohort.browsers["learner-06"] = late
    cohort.profile("learner-06", mentee_profile())
    cohort.post("instructor", "/run")
    after = cohort.matches()
    assert [m for m in after if m[2] == "published"] == published
    assert [m[1] for m in after if m[2] == "draft"] == ["learner-06"]


def test_self_match_lets_a_mentee_choose_among_suggestions(cohort: Cohort, app: Flask) -> None:
    with app.app_context():
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        program.self_match = True
        db.session.commit()
    home = cohort.browsers["learner-03"].get(f"/courses/{cohort.course_id}/me")
    assert "Choose your mentor" in home.text
    page = cohort.browsers["learner-03"].get(f"/courses/{cohort.course_id}/program/matching/choose")
    assert heading(page) == "Choose your mentor"
    assert "Choose Priya Natarajan" in page.text  # learner-01, the strongest fit
    chosen = cohort.post("learner-03", "/choose", {"mentor": cohort.participant("learner-01")})
    assert "Priya Natarajan is now your mentor." in chosen.text
    assert ("learner-01", "learner-03", "published", False) in cohort.matches()
    again = cohort.post("learner-03", "/choose", {"mentor": cohort.participant("learner-02")})
    assert "You already have a mentor" in again.text
    assert len(_outbox(app, "match-published")) == 1


def test_learners_and_other_courses_cannot_use_the_workflow(cohort: Cohort, new_browser: object, app: Flask) -> None:
    learner = cohort.browsers["learner-03"]
    base = f"{learner.tool_url}/courses/{cohort.course_id}/program/matching"
    assert learner.get(base).status_code == 403
    refused = cohort.post("learner-03", "/run")
    assert refused.status_code == 403
    outsider: LtiBrowser = new_browser()  # type: ignore[operator]
    outsider.launch("lead-202", "instructor-2")
    assert outsider.get(base).status_code == 403
    assert outsider.http.post(f"{base}/run", data={}).status_code in (400, 403)
    assert cohort.matches() == []


def test_a_post_without_csrf_token_changes_nothing(cohort: Cohort) -> None:
    instructor = cohort.browsers["instructor"]
    response = instructor.http.post(f"{instructor.tool_url}/courses/{cohort.course_id}/program/matching/run")
    assert response.status_code == 400
    assert cohort.matches() == []


def test_a_learner_cannot_ask_to_leave_someone_elses_match(cohort: Cohort, app: Flask) -> None:
    cohort.post("instructor", "/run")
    cohort.post("instructor", "/publish")
    matched = {mentee for _, mentee, *_ in cohort.matches()}
    outsider = next(p for p in ("learner-03", "learner-04", "learner-05") if p not in matched)
    with app.app_context():
        match_id = db.session.execute(select(Match.id).order_by(Match.id)).scalars().first()
    page = cohort.post(outsider, f"/{match_id}/rematch-request", {"reason": "I would like to take this place."})
    assert page.status_code in (200, 403)
    with app.app_context():
        assert db.session.execute(select(RematchRequest.id)).first() is None


def test_a_stated_preference_counts_and_is_explained(cohort: Cohort, app: Flask) -> None:
    # learner-01 is the stronger mentor in Python; learner-04 asks for learner-02 (Lukas Becker) all the same.
    cohort.profile("learner-04", mentee_profile(preferences=(cohort.participant("learner-02"),)))
    with app.app_context():
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        program.weights = {**program.weights, "preferences": 1.0}
        db.session.commit()
    page = cohort.post("instructor", "/run")
    assert ("learner-02", "learner-04", "draft", False) in cohort.matches()
    assert "You asked to be matched with Lukas Becker." in page.text


def test_the_profile_form_offers_and_validates_preferences(cohort: Cohort) -> None:
    learner = cohort.browsers["learner-03"]
    form = learner.get(f"/courses/{cohort.course_id}/me/profile")
    assert "People you would like to be matched with" in form.text
    assert "Lukas Becker" in form.text


def _set_model(app: Flask, program_id: int, model: str, **extra: object) -> None:
    with app.app_context():
        program = db.session.get(Program, program_id)
        assert program is not None
        program.model = model
        for name, value in extra.items():
            setattr(program, name, value)
        db.session.commit()


def test_peer_programs_pair_learners_with_each_other_never_with_themselves(cohort: Cohort, app: Flask) -> None:
    _set_model(app, cohort.program_id, "peer", mentor_eligibility="learners", require_reciprocity=True)
    both = {"wants_to_mentor": True, "wants_to_be_mentored": True, "capacity": 1}
    cohort.profile("learner-01", mentor_profile(goals=["feedback"], **both))
    cohort.profile("learner-03", mentee_profile(skill_levels={"python": 1, "sql": 1, "data-viz": 1,
                                                              "communication": 2, "feedback": 5}, **both))  # fmt: skip
    page = cohort.post("instructor", "/run")
    assert "Matching proposed" in page.text
    pairs = [(mentor, mentee) for mentor, mentee, status, _ in cohort.matches() if status == "draft"]
    assert pairs and all(mentor != mentee for mentor, mentee in pairs)
    # With reciprocity, pairs run both ways: learner-01 teaches Python, learner-03 teaches feedback.
    assert ("learner-01", "learner-03") in pairs and ("learner-03", "learner-01") in pairs
    assert all((mentee, mentor) in pairs for mentor, mentee in pairs)


def test_reverse_programs_let_a_learner_mentor_the_instructor_in_their_stronger_skill(
    cohort: Cohort, app: Flask
) -> None:
    _set_model(app, cohort.program_id, "reverse")
    cohort.profile(
        "instructor",
        mentee_profile(
            skill_levels={"python": 5, "sql": 5, "data-viz": 0, "communication": 5, "feedback": 5},
            goals=["data-viz"],
            wants_to_mentor=True,
            capacity=1,
        ),
    )
    cohort.profile("learner-01", mentor_profile(skill_levels={"python": 1, "sql": 1, "data-viz": 5,
                                                              "communication": 1, "feedback": 1},
                                                goals=["python"], wants_to_be_mentored=True))  # fmt: skip
    cohort.post("instructor", "/run")
    with app.app_context():
        drafts = db.session.execute(select(Match).where(Match.status == "draft")).scalars().all()
        pair = next(m for m in drafts if {m.mentor.membership.user.email, m.mentee.membership.user.email}
                    == {"instructor@sandbox.example", "learner-01@sandbox.example"})  # fmt: skip
        teaches = pair.explanation["teaches"]
        learner_id = f"p{cohort.participant('learner-01')}"
    assert teaches["data-viz"] == learner_id  # the learner teaches the instructor data visualisation


OPTIMAL = "This is optimal: no other matching of these profiles scores more."


def _review(cohort: Cohort) -> str:
    return cohort.browsers["instructor"].get(f"/courses/{cohort.course_id}/program/matching").text


def test_every_run_says_whether_it_is_optimal_and_a_reload_still_says_so(cohort: Cohort, app: Flask) -> None:
    assert OPTIMAL in cohort.post("instructor", "/run").text
    assert OPTIMAL in _review(cohort)  # kept with the run, not only in the answer to the POST
    # A run whose bound is above its score (as a large cohort's may be) says how far it may be, rounded up.
    with app.app_context():
        run = db.session.execute(select(MatchingRun).where(MatchingRun.program_id == cohort.program_id)).scalar_one()
        assert run.upper_bound == run.objective > 0
        run.upper_bound = run.objective * 1.01
        db.session.commit()
    page = _review(cohort)
    assert "This is within 1.00 % of the best possible." in page
    assert OPTIMAL not in page


def test_group_and_peer_runs_prove_their_optimum_too(cohort: Cohort, app: Flask) -> None:
    _set_model(app, cohort.program_id, "group")
    cohort.profile("learner-01", mentor_profile(capacity=2))
    page = cohort.post("instructor", "/run").text
    assert "Matching proposed 3 matches; 0 mentees stay unmatched" in page
    assert OPTIMAL in page
    _set_model(app, cohort.program_id, "peer", mentor_eligibility="learners", require_reciprocity=True)
    both = {"wants_to_mentor": True, "wants_to_be_mentored": True, "capacity": 1}
    cohort.profile("learner-01", mentor_profile(goals=["feedback"], **both))
    cohort.profile("learner-03", mentee_profile(skill_levels={"python": 1, "sql": 1, "data-viz": 1,
                                                              "communication": 2, "feedback": 5}, **both))  # fmt: skip
    page = cohort.post("instructor", "/run").text
    assert "Matching proposed 2 matches" in page
    assert OPTIMAL in page
