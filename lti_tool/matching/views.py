"""Matching pages: staff review and publish drafts; participants ask for a rematch or choose a mentor."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from lti_tool.courses.access import course_member, current_membership
from lti_tool.errors import NotAuthorised
from lti_tool.extensions import db
from lti_tool.hosts import public_base_url
from lti_tool.matching import engine, forms, jobs, mentor_requests, workflow
from lti_tool.matching.models import JobKind, JobState
from lti_tool.profiles.services import criterion_label, in_zone, read_explanation, score_points
from lti_tool.programs.models import MatchStatus, Participant, Program
from lti_tool.programs.services import participant_for
from lti_tool.programs.views import with_program
from lti_tool.runtime import runtime

Page = str | tuple[str, int] | Response
UNMATCHED_SHOWN = 50  # mentees without a match named on the review page; the rest are counted
# Why mentees have no match now, counted for the instructor above the names.
UNMATCHED_LABELS = {
    engine.UnmatchedReason.NO_MENTORS.value: "No mentor with a free place",
    engine.UnmatchedReason.NO_PLACES_OFFERED.value: "Offered no places themselves",
    engine.UnmatchedReason.NO_SHARED_LANGUAGE.value: "No shared language",
    engine.UnmatchedReason.TIME_ZONE_TOO_FAR.value: "Time zones too far apart",
    engine.UnmatchedReason.NO_SHARED_SLOT.value: "No shared free time",
    engine.UnmatchedReason.SAME_DEPARTMENT.value: "Only mentors of their own department",
    engine.UnmatchedReason.DECLINED.value: "Only mentors declined before",
    engine.UnmatchedReason.BELOW_MIN_SCORE.value: "Below the minimum match score",
    engine.UnmatchedReason.NO_RECIPROCAL_PARTNER.value: "Nobody reciprocal",
    engine.UnmatchedReason.NO_GROUP_SLOT.value: "No group meets when they are free",
    engine.UnmatchedReason.CAPACITY_EXHAUSTED.value: "Every mentor who fits is full",
    engine.UnmatchedReason.NOT_SELECTED.value: "Not selected",
    workflow.NOT_RUN: "Matching not run yet",
    workflow.PROFILE_AFTER_RUN: "Profile completed after the last run",
    workflow.REMOVED_SINCE_RUN: "Draft removed or match ended since the last run",
}


def unmatched_counts(by_reason: Counter[str]) -> list[tuple[str, int]]:
    """(label, how many) per reason of the mentees without a match, most frequent first."""
    return [
        (UNMATCHED_LABELS.get(reason, reason.replace("_", " ").capitalize()), count)
        for reason, count in by_reason.most_common()
    ]


def _back(course_id: int) -> Response:
    return redirect(url_for("matching.review", course_id=course_id), code=303)


def _home(course_id: int) -> Response:
    return redirect(url_for("profiles.home", course_id=course_id), code=303)


def _act(course_id: int, action: Callable[[], str], *, back: Callable[[int], Response] = _back) -> Response:
    """Run one workflow action in one transaction; its outcome (or the reason it was refused) is flashed.

    The CSRF token was already checked by the app-wide CSRFProtect, before any view runs."""
    try:
        message = action()
    except workflow.MatchingError as error:
        db.session.rollback()
        flash(f"{error.message} {error.hint}".strip(), "error")
    else:
        db.session.commit()
        flash(message, "success")
    return back(course_id)


def _card(
    match: Any,
    zone: str | None,
    *,
    differences: list[tuple[str, int]] | None = None,
    alternative: workflow.Alternative | None = None,
) -> dict[str, Any]:
    """A match as a page shows it: points of 100, reasons with times in the reader's `zone`, the rules it breaks,
    and (drafts) how it differs from the page's other drafts and from its mentee's next-best mentor."""
    reasons, bars = read_explanation(match.explanation)
    broken = match.explanation.get("broken_rules", []) if isinstance(match.explanation, dict) else []
    card = {
        "match": match,
        "points": score_points(match.score),
        "reasons": [in_zone(reason, zone) for reason in reasons],
        "bars": bars,
        "broken": broken,
        "differences": None if differences is None else _worded(differences),  # None: no other draft to compare
        "alternative": None,
    }
    if alternative is not None:
        explained = match.explanation if isinstance(match.explanation, dict) else {}
        mine = workflow.criterion_points(explained.get("contributions"))
        card["alternative"] = {
            "of": alternative,
            "points": score_points(alternative.score),
            "fewer": (score_points(match.score) or 0) - (score_points(alternative.score) or 0),
            # From the alternative's side: what the next-best mentor would give more or fewer points for.
            "differences": _worded(workflow.points_apart(workflow.criterion_points(alternative.contributions), mine)),
        }
    return card


def _worded(differences: list[tuple[str, int]]) -> list[str]:
    """("availability", -5) as "Shared availability: 5 points fewer"."""
    return [
        f"{criterion_label(key)}: {abs(delta)} point{'s' if abs(delta) != 1 else ''} {'more' if delta > 0 else 'fewer'}"
        for key, delta in differences
    ]


def _viewer_zone(program: Program) -> str | None:
    """The time zone of the viewer's own profile in the program (None without one: times stay in UTC)."""
    participant = participant_for(program, current_membership())
    return participant.timezone if participant is not None else None


def _page_number(name: str) -> int:
    return request.args.get(name, 1, type=int) or 1


@course_member(staff=True)
@with_program
def review(*, program: Program, course_id: int) -> str:
    """Totals, then pages of drafts and of published matches (a name search narrows both), never every match."""
    membership = current_membership()
    search = workflow.clean_search(request.args.get("q"))
    drafts = workflow.match_page(program, MatchStatus.DRAFT, search=search, page=_page_number("page"))
    published = workflow.match_page(program, MatchStatus.PUBLISHED, search=search, page=_page_number("published_page"))
    run = workflow.latest_run(program)
    job = jobs.latest_job(program)
    totals = workflow.totals(program)
    zone = _viewer_zone(program)
    unmatched = workflow.not_matched(program, run, limit=UNMATCHED_SHOWN)
    differences = workflow.draft_differences(drafts.matches)
    alternatives = workflow.alternatives(program, drafts.matches)
    return render_template(
        "matching/review.html",
        membership=membership,
        course=membership.course,
        program=program,
        model_name=workflow.model_name,
        totals=totals,
        problems=workflow.pool_problems(program, (totals.mentors, totals.mentees)),
        zone=zone,
        search=search,
        drafts=drafts,
        draft_cards=[
            _card(m, zone, differences=differences.get(m.id), alternative=alternatives.get(m.id))
            for m in drafts.matches
        ],
        published=published,
        published_cards=[_card(m, zone) for m in published.matches],
        run=run,
        unmatched=[{"name": u.name, "message": in_zone(u.message, zone)} for u in unmatched.shown],
        unmatched_total=unmatched.total,
        unmatched_counts=unmatched_counts(unmatched.by_reason),
        min_points=round(program.min_score * 100),
        requests=workflow.open_requests(program),
        waiting_total=mentor_requests.waiting_total(program) if program.mentor_accepts else 0,
        job=job,
        job_text=jobs.status(job).get("text"),
        action_form=forms.ActionForm(),
        resolve_form=forms.ResolveForm(),
    )


@course_member(staff=True)
@with_program
def find_mentor(*, program: Program, course_id: int, match_id: int) -> Page | Response:
    """Mentors with a place left whose name contains the search, for reassigning a draft: a page of choices
    (the picker without JavaScript) or, asked for JSON, the list the picker script shows as you type."""
    match = workflow.find_match(program, match_id)
    search = workflow.clean_search(request.args.get("q"))
    found = workflow.candidates(program, workflow.Side.MENTOR, search)
    if request.accept_mimetypes.best_match(["text/html", "application/json"]) == "application/json":
        return jsonify(
            mentors=[
                {"id": c.participant_id, "name": c.name, "places": f"{c.load} of {c.capacity} places taken"}
                for c in found
            ]
        )
    membership = current_membership()
    return render_template(
        "matching/find_mentor.html",
        membership=membership,
        course=membership.course,
        program=program,
        match=match,
        search=search,
        found=found,
        action_form=forms.ActionForm(),
    )


@course_member(staff=True)
@with_program
def pick_pair(*, program: Program, course_id: int) -> str:
    """The manual match's searches: mentors with a place left and mentees without a match, by name."""
    membership = current_membership()
    mentor_search = workflow.clean_search(request.args.get("mentor_q"))
    mentee_search = workflow.clean_search(request.args.get("mentee_q"))
    return render_template(
        "matching/pick_pair.html",
        membership=membership,
        course=membership.course,
        program=program,
        mentor_search=mentor_search,
        mentee_search=mentee_search,
        mentors=workflow.candidates(program, workflow.Side.MENTOR, mentor_search),
        mentees=workflow.candidates(program, workflow.Side.MENTEE, mentee_search),
        pair_form=forms.PairForm(),
    )


def _start_job(program: Program, course_id: int, kind: JobKind) -> Response:
    """Queue a run or a publish; a small program's runs in this request, a large one's in the jobs worker while
    the review page shows its progress (a request never waits near the proxy's timeout)."""
    settings = runtime().settings
    try:
        job, in_background = jobs.start(program, kind, tool_base=public_base_url(), settings=settings)
    except workflow.MatchingError as error:
        db.session.rollback()
        flash(f"{error.message} {error.hint}".strip(), "error")
        return _back(course_id)
    db.session.commit()
    if in_background:
        flash("Started: the progress is shown below, and you may leave this page meanwhile.", "success")
        return _back(course_id)
    job = jobs.run_now(job, settings)
    if job.state == JobState.DONE.value:
        flash(jobs.describe(job), "success")
    elif job.state == JobState.FAILED.value:
        flash(jobs.describe(job), "error")
    return _back(course_id)


@course_member(staff=True)
@with_program
def run_matching(*, program: Program, course_id: int) -> Response:
    return _start_job(program, course_id, JobKind.RUN)


@course_member(staff=True)
@with_program
def publish(*, program: Program, course_id: int) -> Response:
    return _start_job(program, course_id, JobKind.PUBLISH)


@course_member(staff=True)
@with_program
def job_status(*, program: Program, course_id: int) -> Response:
    """The latest run or publish's state and progress, as JSON for the review page's progress script."""
    return jsonify(jobs.status(jobs.latest_job(program)))


@course_member(staff=True)
@with_program
def lock(*, program: Program, course_id: int, match_id: int) -> Response:
    def action() -> str:
        jobs.refuse_while_busy(program)
        match = workflow.find_match(program, match_id)
        workflow.set_locked(program, match, not match.locked)
        return "Locked: matching will keep this pair." if match.locked else "Unlocked."

    return _act(course_id, action)


@course_member(staff=True)
@with_program
def remove(*, program: Program, course_id: int, match_id: int) -> Response:
    def action() -> str:
        jobs.refuse_while_busy(program)
        workflow.remove_draft(program, workflow.find_match(program, match_id))
        return "Draft removed."

    return _act(course_id, action)


@course_member(staff=True)
@with_program
def reassign(*, program: Program, course_id: int, match_id: int) -> Response:
    form = forms.ReassignForm()

    def action() -> str:
        if not form.validate():
            raise workflow.MatchingError("Choose a mentor.")
        jobs.refuse_while_busy(program)
        match = workflow.reassign(
            program, workflow.find_match(program, match_id), workflow.find_participant(program, form.mentor.data)
        )
        return _outcome("Reassigned", match)

    return _act(course_id, action)


@course_member(staff=True)
@with_program
def swap(*, program: Program, course_id: int) -> Response:
    form = forms.SwapForm()

    def action() -> str:
        if not form.validate():
            raise workflow.MatchingError("Choose two drafts to swap.")
        jobs.refuse_while_busy(program)
        workflow.swap(
            program, workflow.find_match(program, form.first.data), workflow.find_match(program, form.second.data)
        )
        return "Swapped the two mentees; both pairs were rescored."

    return _act(course_id, action)


@course_member(staff=True)
@with_program
def manual(*, program: Program, course_id: int) -> Response:
    form = forms.PairForm()

    def action() -> str:
        if not form.validate():
            raise workflow.MatchingError("Choose a mentor and a mentee.")
        jobs.refuse_while_busy(program)
        match = workflow.manual_match(
            program,
            workflow.find_participant(program, form.mentor.data),
            workflow.find_participant(program, form.mentee.data),
        )
        return _outcome("Added a manual draft", match)

    return _act(course_id, action)


def _outcome(what: str, match: Any) -> str:
    broken = match.explanation.get("broken_rules", [])
    text = f"{what}: score {score_points(match.score)} of 100 points."
    return f"{text} It breaks: {'; '.join(broken)}." if broken else text


@course_member(staff=True)
@with_program
def resolve(*, program: Program, course_id: int, request_id: int) -> Response:
    form = forms.ResolveForm()

    def action() -> str:
        if not form.validate():
            raise workflow.MatchingError("Choose a decision.")
        handled = workflow.resolve_request(program, request_id, rematch=form.action.data == "rematch")
        if form.action.data == "rematch":
            return "The match has ended; this pair will not be proposed again. Run matching to find a new mentor."
        return f"Request dismissed; the match with {handled.match.mentor.membership.user.display_name} stays."

    return _act(course_id, action)


def _own_participant(program: Program) -> Participant:
    participant = participant_for(program, current_membership())
    if participant is None:
        raise NotAuthorised("Fill in your profile in this program first.")
    return participant


@course_member()
@with_program
def request_rematch(*, program: Program, course_id: int, match_id: int) -> Response:
    participant = _own_participant(program)
    form = forms.RematchForm()
    settings = runtime().settings

    def action() -> str:
        if not form.validate():
            raise workflow.MatchingError(" ".join(e for errors in form.errors.values() for e in errors))
        workflow.request_rematch(
            program,
            workflow.find_match(program, match_id),
            participant,
            form.reason.data,
            settings=settings,
            tool_base=public_base_url(),
        )
        return "Your request was sent to your instructor. Your match stays visible until they decide."

    return _act(course_id, action, back=_home)


@course_member()
@with_program
def choose(*, program: Program, course_id: int) -> Page:
    participant = _own_participant(program)
    if request.method == "POST":
        form = forms.ChooseForm()
        settings = runtime().settings

        def action() -> str:
            if not form.validate():
                raise workflow.MatchingError("Choose one of your suggested mentors.")
            mentor = workflow.find_participant(program, form.mentor.data)
            name = mentor.membership.user.display_name
            if program.mentor_accepts:
                asked = mentor_requests.request_mentor(
                    program, participant, mentor, settings=settings, tool_base=public_base_url()
                )
                deadline = mentor_requests.utc_time(asked.expires_at)
                return f"Your request was sent to {name}. They have until {deadline} to answer."
            workflow.choose_mentor(program, participant, mentor, settings=settings, tool_base=public_base_url())
            return f"{name} is now your mentor."

        return _act(course_id, action, back=_home)
    membership = current_membership()
    waiting = None
    if program.mentor_accepts:
        _expire_now(program)
        waiting = mentor_requests.waiting_request(participant)
    return render_template(
        "matching/choose.html",
        membership=membership,
        course=membership.course,
        program=program,
        waiting=waiting,
        utc_time=mentor_requests.utc_time,
        suggestions=[]
        if waiting
        else [
            (mentor, _card(proposal, participant.timezone))
            for mentor, proposal in workflow.suggestions(program, participant)
        ],
        action_form=forms.ActionForm(),
    )


def _expire_now(program: Program) -> None:
    """Requests past their deadline are expired when someone reads them, so no scheduler is needed."""
    if mentor_requests.expire_due(program, settings=runtime().settings):
        db.session.commit()


@course_member()
@with_program
def mentor_inbox(*, program: Program, course_id: int) -> str:
    """The requests waiting for this mentor's answer, nearest deadline first, a page at a time."""
    participant = _own_participant(program)
    _expire_now(program)
    membership = current_membership()
    waiting = mentor_requests.waiting_for(participant, page=_page_number("page"))
    return render_template(
        "matching/mentor_inbox.html",
        membership=membership,
        course=membership.course,
        program=program,
        waiting=waiting,
        cards={r.id: _card(r, participant.timezone) for r in waiting.requests},
        answer_form=forms.AnswerForm(),
        utc_time=mentor_requests.utc_time,
    )


def _inbox(course_id: int) -> Response:
    return redirect(url_for("matching.mentor_inbox", course_id=course_id), code=303)


@course_member()
@with_program
def answer(*, program: Program, course_id: int, request_id: int) -> Response:
    participant = _own_participant(program)
    form = forms.AnswerForm()
    settings = runtime().settings

    def action() -> str:
        if not form.validate():
            raise workflow.MatchingError("Choose to accept or decline.")
        accept = form.decision.data == "accept"
        answered = mentor_requests.answer(
            program, request_id, participant, accept=accept, settings=settings, tool_base=public_base_url()
        )
        name = answered.mentee.membership.user.display_name
        if accept:
            return f"You are now {name}'s mentor: your pair page is on your home page."
        return f"Declined: {name} is told, and can ask another mentor."

    return _act(course_id, action, back=_inbox)


def _waiting_page(course_id: int) -> Response:
    return redirect(url_for("matching.waiting_requests", course_id=course_id), code=303)


@course_member(staff=True)
@with_program
def waiting_requests(*, program: Program, course_id: int) -> str:
    """Every request waiting for a mentor's answer, nearest deadline first, for staff to step in."""
    _expire_now(program)
    membership = current_membership()
    waiting = mentor_requests.waiting_in(program, page=_page_number("page"))
    return render_template(
        "matching/waiting_requests.html",
        membership=membership,
        course=membership.course,
        program=program,
        waiting=waiting,
        step_in_form=forms.StepInForm(),
        utc_time=mentor_requests.utc_time,
    )


@course_member(staff=True)
@with_program
def step_in(*, program: Program, course_id: int, request_id: int) -> Response:
    form = forms.StepInForm()
    settings = runtime().settings

    def action() -> str:
        if not form.validate():
            raise workflow.MatchingError("Choose to approve or cancel.")
        approve = form.decision.data == "approve"
        handled = mentor_requests.step_in(
            program,
            request_id,
            current_membership(),
            approve=approve,
            settings=settings,
            tool_base=public_base_url(),
        )
        mentee = handled.mentee.membership.user.display_name
        mentor = handled.mentor.membership.user.display_name
        if approve:
            return f"Approved: {mentor} is now {mentee}'s mentor."
        return f"Cancelled: {mentee} is told, and {mentor}'s place is free again."

    return _act(course_id, action, back=_waiting_page)
