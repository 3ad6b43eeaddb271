"""What a new instructor hit (issue 14), over real launches: a change of model, the "Not matched" list after hand
edits and publishing, and scores that say what tells drafts apart, in points, with times in the reader's zone."""

from __future__ import annotations

import html
import re
from collections import Counter
from datetime import timedelta

from flask import Flask
from sqlalchemy import select

from lti_tool.extensions import db
from lti_tool.matching import workflow
from lti_tool.programs.models import Match, MatchingRun, Participant, Program
from tests.matching_workflow.conftest import Cohort, mentee_profile, mentor_profile

PRIYA, LUKAS, AMARA, CHEN, SOFIA = "Priya Natarajan", "Lukas Becker", "Amara Diallo", "Chen Wei", "Sofia Rossi"
BOTH = {"wants_to_mentor": True, "wants_to_be_mentored": True, "capacity": 1}


def _set(app: Flask, program_id: int, **settings: object) -> None:
    with app.app_context():
        program = db.session.get(Program, program_id)
        assert program is not None
        for name, value in settings.items():
            setattr(program, name, value)
        db.session.commit()


def _review(cohort: Cohort) -> str:
    return html.unescape(cohort.browsers["instructor"].get(f"/courses/{cohort.course_id}/program/matching").text)


def _text(page: str) -> str:
    """The page's text without tags or runs of white space, as a reader gets it."""
    return " ".join(re.sub(r"<[^>]+>", " ", html.unescape(page)).split())


def _not_matched(page: str) -> list[str]:
    """The names in the review page's "Not matched" list."""
    found = re.search(r'aria-labelledby="not-matched-title">(.*?)</ul>', page, re.S)
    return re.findall(r"<strong>([^<]+)</strong>", found.group(1)) if found else []


def _draft_ids(app: Flask, cohort: Cohort) -> list[int]:
    with app.app_context():
        return list(
            db.session.execute(
                select(Match.id)
                .where(Match.program_id == cohort.program_id, Match.status == "draft")
                .order_by(Match.id)
            ).scalars()
        )


# --- Changing the model -------------------------------------------------------------------------------------------


def _peer_cohort_with_drafts(cohort: Cohort, app: Flask) -> None:
    """A peer program in which Priya (learner-01) and Amara (learner-03) took both roles, with its drafts."""
    _set(app, cohort.program_id, model="peer", mentor_eligibility="learners")
    cohort.profile("learner-01", mentor_profile(goals=["feedback"], **BOTH))
    cohort.profile("learner-03", mentee_profile(**BOTH))
    assert "Matching proposed" in cohort.post("instructor", "/run").text
    assert _draft_ids(app, cohort)


def test_after_peer_to_group_the_people_in_both_roles_are_named_and_old_drafts_are_never_published(
    cohort: Cohort, app: Flask
) -> None:
    _peer_cohort_with_drafts(cohort, app)
    peer_drafts = _draft_ids(app, cohort)
    _set(app, cohort.program_id, model="group", default_capacity=2)

    page = _review(cohort)
    named = f"{AMARA} and {PRIYA} chose both to mentor and to be mentored, and in group mentoring each person takes"
    assert named in _text(page)
    assert "untick one of the two roles on their profile" in page
    assert f"{len(peer_drafts)} drafts were made under another model than group mentoring" in _text(page)
    assert page.count("made under peer mentoring") == len(peer_drafts)  # each old draft is tagged

    ran = _text(cohort.post("instructor", "/run").text)
    assert named in ran and "give them two ids" not in ran and not re.search(r"'p\d+'", ran)
    published = _text(cohort.post("instructor", "/publish").text)
    assert (
        f"Nothing was published: {len(peer_drafts)} drafts were made under peer mentoring, and the program is now "
        "group mentoring. Run matching again (it replaces them), or remove them, then publish."
    ) in published
    assert all(status == "draft" for *_, status, _ in cohort.matches())
    locked = cohort.post("instructor", f"/{peer_drafts[0]}/lock").text
    assert "This draft was made under peer mentoring" in _text(locked)
    _set(app, cohort.program_id, self_match=True)  # Amara's own page works too: no suggestions, no error
    choose = cohort.browsers["learner-03"].get(f"/courses/{cohort.course_id}/program/matching/choose")
    assert choose.status_code == 200 and "No mentor with a free place fits your profile" in choose.text
    _set(app, cohort.program_id, self_match=False)

    # They choose one role each: the run replaces every peer draft and the group drafts can be published.
    cohort.profile("learner-01", mentor_profile(capacity=2))
    cohort.profile("learner-03", mentee_profile())
    assert "do not fit" not in _review(cohort)
    assert "Matching proposed" in cohort.post("instructor", "/run").text
    assert "made under" not in _review(cohort)  # no draft of the peer model is left
    assert "Published" in cohort.post("instructor", "/publish").text
    with app.app_context():
        models = db.session.execute(select(Match.model).where(Match.program_id == cohort.program_id)).scalars()
        assert set(models) == {"group"}


def test_published_peer_matches_that_do_not_fit_group_mentoring_are_kept_and_matching_still_runs(
    cohort: Cohort, app: Flask
) -> None:
    # Priya and Amara mentor each other (reciprocity), published; then the program becomes group mentoring and
    # each keeps one role: Amara's published mentor stays hers, Priya's (Amara) no longer fits and is left alone.
    _set(app, cohort.program_id, model="peer", mentor_eligibility="learners", require_reciprocity=True)
    cohort.profile("learner-01", mentor_profile(goals=["feedback"], **BOTH))
    levels = {"python": 1, "sql": 1, "data-viz": 1, "communication": 2, "feedback": 5}
    cohort.profile("learner-03", mentee_profile(skill_levels=levels, **BOTH))
    cohort.post("instructor", "/run")
    cohort.post("instructor", "/publish")
    assert {("learner-01", "learner-03"), ("learner-03", "learner-01")} <= {
        (mentor, mentee) for mentor, mentee, status, _ in cohort.matches() if status == "published"
    }
    _set(app, cohort.program_id, model="group", default_capacity=2, require_reciprocity=False)
    cohort.profile("learner-01", mentor_profile(capacity=2))
    cohort.profile("learner-03", mentee_profile(skill_levels=levels))
    ran = _text(cohort.post("instructor", "/run").text)
    assert "Matching proposed" in ran and "no mentor has id" not in ran and not re.search(r"'p\d+'", ran)
    drafts = [(mentor, mentee) for mentor, mentee, status, _ in cohort.matches() if status == "draft"]
    assert drafts and all(mentee != "learner-03" for _, mentee in drafts)  # her published mentor stays hers


def test_after_peer_to_reverse_the_instructor_is_told_that_staff_profiles_are_missing_and_whose(
    cohort: Cohort, app: Flask
) -> None:
    _peer_cohort_with_drafts(cohort, app)
    _set(app, cohort.program_id, model="reverse")
    page = _text(_review(cohort))
    assert "0 possible mentors and 5 possible mentees" in page
    assert (
        "In reverse mentoring staff (instructors and teaching assistants) and learners mentor each other, and no "
        "staff member has a complete profile. Everyone who has one is a learner: ask Ada Okafor to fill in theirs"
    ) in page
    ran = _text(cohort.post("instructor", "/run").text)
    assert "ask Ada Okafor to fill in theirs" in ran and "ask participants to fill in their profile" not in ran

    cohort.profile("instructor", mentor_profile(goals=["data-viz"], skill_levels={"python": 5, "sql": 5,
                                                "data-viz": 0, "communication": 5, "feedback": 5}, **BOTH))  # fmt: skip
    assert "do not fit" not in _review(cohort)
    assert "Matching proposed" in cohort.post("instructor", "/run").text
    assert "Published" in cohort.post("instructor", "/publish").text


# --- The "Not matched" list -----------------------------------------------------------------------------------------


def test_not_matched_follows_hand_edits_and_publishing(cohort: Cohort, app: Flask) -> None:
    cohort.post("instructor", "/run")  # two mentors of one place each, three mentees: one is left out
    left_out = _not_matched(_review(cohort))
    assert len(left_out) == 1
    assert f"Not matched ({len(left_out)})" in _review(cohort)
    first, _ = _draft_ids(app, cohort)
    with app.app_context():
        removed = db.session.get(Match, first)
        assert removed is not None
        freed_mentor, dropped = removed.mentor_id, removed.mentee.membership.user.display_name
    cohort.post("instructor", f"/{first}/remove")
    page = _review(cohort)
    assert sorted(_not_matched(page)) == sorted([*left_out, dropped])
    assert f"<strong>{dropped}</strong>: Their draft was removed or their match ended after the last run" in page

    # The instructor matches the one the run left out by hand, then publishes.
    waiting = next(p for p in ("learner-03", "learner-04", "learner-05") if _name(cohort, p) == left_out[0])
    cohort.post("instructor", "/manual", {"mentor": freed_mentor, "mentee": cohort.participant(waiting)})
    assert _not_matched(_review(cohort)) == [dropped]
    assert "Published 2 matches." in cohort.post("instructor", "/publish").text
    page = _review(cohort)
    assert _not_matched(page) == [dropped] and "Not matched (1)" in page


def _not_matched_now(app: Flask, cohort: Cohort, *, limit: int) -> workflow.NotMatchedNow:
    with app.app_context():
        program = db.session.get(Program, cohort.program_id)
        assert program is not None
        # The run as the review page reads it: without its stored list, which the counts never load.
        return workflow.not_matched(program, workflow.latest_run(program), limit=limit)


def test_not_matched_counts_every_reason_in_sql_and_names_the_first_by_name(cohort: Cohort, app: Flask) -> None:
    """Counted by reason over everyone, while only the first `limit` are named: the run's own reason, a draft
    removed since the run, a profile completed after it, never run; a mentee matched since is not counted."""
    mentees = ("learner-03", "learner-04", "learner-05")
    before = _not_matched_now(app, cohort, limit=2)
    by_name = sorted(mentees, key=lambda person: _name(cohort, person).split()[::-1])
    assert (before.total, before.by_reason) == (3, Counter({workflow.NOT_RUN: 3}))
    assert [n.name for n in before.shown] == [_name(cohort, person) for person in by_name[:2]]

    cohort.post("instructor", "/run")  # two mentors of one place each: one mentee is left out, with the run's reason
    removed, completed_late = _draft_ids(app, cohort)
    with app.app_context():
        run = db.session.execute(select(MatchingRun).where(MatchingRun.program_id == cohort.program_id)).scalar_one()
        (left_out,) = run.unmatched
        late = db.session.get(Match, completed_late)
        assert late is not None
        late.mentee.completed_at = run.created_at + timedelta(hours=1)
        db.session.commit()
    for draft in (removed, completed_late):
        cohort.post("instructor", f"/{draft}/remove")
    now = _not_matched_now(app, cohort, limit=2)
    expected = {left_out["reason"]: 1, workflow.REMOVED_SINCE_RUN: 1, workflow.PROFILE_AFTER_RUN: 1}
    assert (now.total, now.by_reason) == (3, Counter(expected))
    assert len(now.shown) == 2
    for shown in now.shown:
        if shown.participant_id == int(left_out["participant_id"]):
            assert (shown.reason, shown.message) == (left_out["reason"], left_out["message"])
        else:
            assert shown.reason in (workflow.REMOVED_SINCE_RUN, workflow.PROFILE_AFTER_RUN)

    # The one the run left out is matched by hand (both drafts were removed: every mentor is free), and is no
    # longer counted.
    cohort.post(
        "instructor", "/manual", {"mentor": cohort.participant("learner-01"), "mentee": left_out["participant_id"]}
    )
    after = _not_matched_now(app, cohort, limit=50)
    assert after.by_reason == Counter({workflow.REMOVED_SINCE_RUN: 1, workflow.PROFILE_AFTER_RUN: 1})
    assert int(left_out["participant_id"]) not in {n.participant_id for n in after.shown}


def _name(cohort: Cohort, person: str) -> str:
    with cohort.app.app_context():
        participant = db.session.get(Participant, cohort.participant(person))
        assert participant is not None
        return participant.membership.user.display_name


# --- Scores that help the instructor choose -------------------------------------------------------------------------


def test_scores_are_points_of_100_drafts_say_what_sets_them_apart_and_times_are_in_the_readers_zone(
    cohort: Cohort, app: Flask
) -> None:
    # Two mentors with a place each and a spare place: Priya is the stronger in Python, Lukas in SQL.
    levels = {"python": 2, "sql": 5, "data-viz": 2, "communication": 3, "feedback": 3}
    cohort.profile("learner-02", mentor_profile(capacity=2, skill_levels=levels))
    cohort.profile("learner-03", mentee_profile(goals=["python"]))
    cohort.profile("learner-04", mentee_profile(goals=["sql"]))
    cohort.profile("learner-05", mentee_profile(goals=["sql"], timezone="UTC"))
    # The instructor's own profile says Berlin: times on the review page are Berlin times.
    cohort.profile("instructor", mentor_profile(timezone="Europe/Berlin", availability=["tue-06"]))
    ran = cohort.post("instructor", "/run").text
    page = _text(ran)

    # One scale: points of 100 for a pair, its criteria and the run; never a percentage beside a raw total.
    # (A proof's "within N % of the best possible" is about the run, not a score: only the scores are checked.)
    glance = re.search(r'<dl class="stats">.*?</dl>', ran, re.S)
    drafts = re.search(r'id="drafts-title".*?id="manual-title"', ran, re.S)
    assert glance and drafts and not re.search(r"\d+ ?%", glance.group(0) + drafts.group(0))
    assert "total score" not in page
    scores = [int(n) for n in re.findall(r"Score: (\d+) of 100 points", page)]
    assert len(scores) == 3
    assert re.search(r"\d+ points in all \(a mean of \d+ of 100 points a pair\)", page)
    parts = re.findall(r"Help with your goals (\d+) points", page)
    assert len(parts) == 3

    # Each draft says how it differs from the others, and what its mentee's next-best mentor would give.
    assert page.count("Against the other drafts on this page (their median):") == 3
    amara = re.search(rf"mentors {AMARA}(.*?)(?:\d\. \w+ \w+ mentors|Swap the mentees)", page)
    assert amara, page[:4000]
    assert f"Next best for {AMARA}: {LUKAS}" in amara.group(1)
    assert re.search(r"Help with your goals: \d+ points? fewer", amara.group(1))

    # Times: in Berlin for the instructor (Monday 18:00 in Berlin is 17:00 UTC in January).
    assert "Monday 18:00 Europe/Berlin time" in page and "17:00 UTC" not in page
    assert "Times are" not in page and "in your time zone, Europe/Berlin" in page
    cohort.post("instructor", "/publish")
    paris = _text(cohort.browsers["learner-03"].get(f"/courses/{cohort.course_id}/me").text)
    assert "Monday 18:00 Europe/Paris time" in paris and "UTC" not in paris
    assert re.search(r"Match score: \d+ of 100 points", paris)
    utc = _text(cohort.browsers["learner-05"].get(f"/courses/{cohort.course_id}/me").text)
    assert "Monday 18:00 UTC" in utc  # her own evening, in UTC: no zone to convert to


def test_identical_drafts_say_that_nothing_in_the_scores_sets_them_apart(cohort: Cohort) -> None:
    cohort.profile("learner-02", mentor_profile())  # the same profile as Priya's
    page = _text(cohort.post("instructor", "/run").text)
    assert page.count("Scores the same as the other drafts on this page on every criterion.") == 2
    assert re.search(r"Next best for [\w ]+: [\w ]+, (\d+) of 100 points \(the same\), with the same parts", page)
