"""Matching pages: staff review and publish drafts; participants ask for a rematch or choose a mentor."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from flask import flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from lti_tool.courses.access import course_member, current_membership
from lti_tool.errors import NotAuthorised
from lti_tool.extensions import db
from lti_tool.hosts import public_base_url
from lti_tool.matching import forms, jobs, workflow
from lti_tool.matching.engine import Proof
from lti_tool.matching.models import JobKind, JobState
from lti_tool.profiles.services import read_explanation, score_percent
from lti_tool.programs.models import MatchStatus, Participant, Program
from lti_tool.programs.services import participant_for
from lti_tool.programs.views import with_program
from lti_tool.runtime import runtime

Page = str | tuple[str, int] | Response
UNMATCHED_SHOWN = 50  # the latest run's unmatched mentees named on the review page; the rest are counted


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


def _card(match: Any) -> dict[str, Any]:
    reasons, bars = read_explanation(match.explanation)
    broken = match.explanation.get("broken_rules", []) if isinstance(match.explanation, dict) else []
    return {"match": match, "percent": score_percent(match.score), "reasons": reasons, "bars": bars, "broken": broken}


def _page_number(name: str) -> int:
    return request.args.get(name, 1, type=int) or 1


def _proof_words(proof: Proof | None) -> str | None:
    """How close a run is to the best possible, as the review page says it (the percentage rounded up, so
    "within" stays true)."""
    if proof is None:
        return None
    if proof.optimal:
        return "This is optimal: no other matching of these profiles scores more."
    return f"This is within {math.ceil(proof.gap * 10_000) / 100:.2f} % of the best possible."


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
    unmatched = list(run.unmatched if run else [])
    shown = unmatched[:UNMATCHED_SHOWN]
    names = workflow.participant_names(program, [int(u["participant_id"]) for u in shown])
    return render_template(
        "matching/review.html",
        membership=membership,
        course=membership.course,
        program=program,
        totals=workflow.totals(program),
        search=search,
        drafts=drafts,
        draft_cards=[_card(m) for m in drafts.matches],
        published=published,
        published_cards=[_card(m) for m in published.matches],
        run=run,
        proof_text=_proof_words(run.proof if run else None),
        unmatched=[{**u, "name": names.get(int(u["participant_id"]), "A participant")} for u in shown],
        unmatched_total=len(unmatched),
        requests=workflow.open_requests(program),
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
    text = f"{what}: score {score_percent(match.score)}%."
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
            chosen = workflow.choose_mentor(
                program,
                participant,
                workflow.find_participant(program, form.mentor.data),
                settings=settings,
                tool_base=public_base_url(),
            )
            return f"{chosen.mentor.membership.user.display_name} is now your mentor."

        return _act(course_id, action, back=_home)
    membership = current_membership()
    return render_template(
        "matching/choose.html",
        membership=membership,
        course=membership.course,
        program=program,
        suggestions=[(mentor, _card(proposal)) for mentor, proposal in workflow.suggestions(program, participant)],
        action_form=forms.ActionForm(),
    )
