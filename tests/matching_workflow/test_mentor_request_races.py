"""Two-sided self-match under concurrent requests to the served tool, on SQLite and PostgreSQL: the last place of a
mentor goes to one mentee, a mentee's double click makes one request, and a request is settled once however many
answers, withdrawals and expiries meet. Every loser is told why on the page it lands on, never a 500.

On PostgreSQL the mentor's row and the request's row are locked (FOR UPDATE) and one waiting request per mentee is a
unique index; on SQLite each of these actions starts with a write (expiring what is due), which takes the database's
one write lock, so they queue. Both are tested the same way: the threads are released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
from flask import Flask

from tests.matching_workflow.conftest import CSRF, Cohort
from tests.matching_workflow.test_mentor_requests import (
    PRIYA,
    ask,
    events,
    past_deadline,
    request_id,
    requests_of,
    text_of,
    two_sided,
)

__all__ = ["two_sided"]  # the fixture, shared with the flow's other tests


def prepared(
    cohort: Cohort, person: str, path: str, data: dict[str, object] | None = None
) -> Callable[[], httpx.Response]:
    """A POST as `person` with their CSRF token already read, so that only the POST itself runs concurrently."""
    browser = cohort.browsers[person]
    form_page = "program/matching" if person == "instructor" else "me/profile"
    token = CSRF.search(browser.get(f"/courses/{cohort.course_id}/{form_page}").text)
    assert token
    url = f"{browser.tool_url}/courses/{cohort.course_id}/program/matching{path}"
    form = {"csrf_token": token.group(1), **(data or {})}
    return lambda: browser.http.post(url, data=form, follow_redirects=True)


def at_once(*posts: Callable[[], httpx.Response]) -> list[str]:
    """Send the POSTs together from as many threads; answers each landing page's words, in the order given."""
    start = threading.Barrier(len(posts))

    def send(post: Callable[[], httpx.Response]) -> str:
        start.wait(timeout=30)
        response = post()
        assert response.status_code == 200, response.text[:2000]
        return text_of(response.text)

    with ThreadPoolExecutor(max_workers=len(posts)) as pool:
        return list(pool.map(send, posts))


def test_three_mentees_asking_for_a_mentors_last_place_at_once_one_gets_it(two_sided: Cohort, app: Flask) -> None:
    cohort = two_sided
    mentor = {"mentor": cohort.participant("learner-01")}
    mentees = ("learner-03", "learner-04", "learner-05")
    pages = dict(zip(mentees, at_once(*(prepared(cohort, m, "/choose", mentor) for m in mentees)), strict=True))
    [(_, winner, state)] = requests_of(cohort)
    assert state == "pending" and f"Your request was sent to {PRIYA}." in pages[winner]
    for loser in set(mentees) - {winner}:
        assert "That mentor is not among your suggestions any more" in pages[loser], pages[loser]
    assert events(app) == ["requested"]


def test_a_mentee_asking_two_mentors_at_once_makes_one_request(two_sided: Cohort, app: Flask) -> None:
    cohort = two_sided
    pages = at_once(
        prepared(cohort, "learner-03", "/choose", {"mentor": cohort.participant("learner-01")}),
        prepared(cohort, "learner-03", "/choose", {"mentor": cohort.participant("learner-02")}),
    )
    assert sum("Your request was sent to" in p for p in pages) == 1, pages
    assert sum("You are already waiting for a mentor's answer." in p for p in pages) == 1, pages
    assert [r[1:] for r in requests_of(cohort)] == [("learner-03", "pending")]
    assert events(app) == ["requested"]


def test_an_accept_and_a_staff_cancel_at_once_settle_the_request_once(two_sided: Cohort, app: Flask) -> None:
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    asked = request_id(cohort, "learner-03")
    accepted, cancelled = at_once(
        prepared(cohort, "learner-01", f"/mentor-requests/{asked}/answer", {"decision": "accept"}),
        prepared(cohort, "instructor", f"/mentor-requests/{asked}/step-in", {"decision": "cancel"}),
    )
    [(_, _, state)] = requests_of(cohort)
    if state == "accepted":
        assert "You are now" in accepted and "That request was already accepted." in cancelled
        assert cohort.matches() == [("learner-01", "learner-03", "published", False)]
        assert events(app) == ["requested", "accepted"]
    else:
        assert state == "cancelled" and "Cancelled:" in cancelled
        assert "That request was already cancelled." in accepted
        assert cohort.matches() == [] and events(app) == ["requested", "cancelled"]


def test_an_accept_and_a_withdrawal_at_once_settle_the_request_once(two_sided: Cohort, app: Flask) -> None:
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    asked = request_id(cohort, "learner-03")
    accepted, withdrawn = at_once(
        prepared(cohort, "learner-01", f"/mentor-requests/{asked}/answer", {"decision": "accept"}),
        prepared(cohort, "learner-03", f"/mentor-requests/{asked}/withdraw"),
    )
    [(_, _, state)] = requests_of(cohort)
    if state == "accepted":
        assert "That request was already accepted." in withdrawn
        assert cohort.matches() == [("learner-01", "learner-03", "published", False)]
        assert events(app) == ["requested", "accepted"]
    else:
        assert state == "cancelled" and "You withdrew your request" in withdrawn
        assert "That request was already cancelled." in accepted
        assert cohort.matches() == [] and events(app) == ["requested", "retracted"]


def test_an_accept_racing_expiry_finds_the_request_expired_and_it_expires_once(two_sided: Cohort, app: Flask) -> None:
    """The deadline has passed: the mentor's late accept, staff's approval, and two pages that expire what is due
    (the mentee's home page, the staff list) arrive together; the request is expired once, with one statement."""
    cohort = two_sided
    ask(cohort, "learner-03", "learner-01")
    asked = request_id(cohort, "learner-03")
    past_deadline(app)
    mentee, staff = cohort.browsers["learner-03"], cohort.browsers["instructor"]
    home = f"{mentee.tool_url}/courses/{cohort.course_id}/me"
    waiting = f"{staff.tool_url}/courses/{cohort.course_id}/program/matching/mentor-requests/waiting"
    accepted, approved, _, _ = at_once(
        prepared(cohort, "learner-01", f"/mentor-requests/{asked}/answer", {"decision": "accept"}),
        prepared(cohort, "instructor", f"/mentor-requests/{asked}/step-in", {"decision": "approve"}),
        lambda: mentee.http.get(home),
        lambda: staff.http.get(waiting),
    )
    assert "That request was already expired." in accepted and "That request was already expired." in approved
    assert requests_of(cohort) == [("learner-01", "learner-03", "expired")]
    assert cohort.matches() == [] and events(app) == ["requested", "expired"]
