"""Every survey route refuses the wrong role, the wrong course and guessed ids, with nothing changed."""

from __future__ import annotations

from collections.abc import Callable

from tests.conftest import row_counts
from tests.lti_browser import LtiBrowser
from tests.mentoring.conftest import Pair
from tests.profiles.helpers import course_id, create_program
from tests.surveys.conftest import END_ANSWERS, answer_path, create_survey, open_survey, staff_path, token_of


def _staff_routes(pair: Pair, survey_id: int) -> list[tuple[str, str, dict[str, object]]]:
    return [
        ("GET", staff_path(pair), {}),
        ("POST", staff_path(pair), {"kind": "mid"}),
        ("GET", staff_path(pair, f"/{survey_id}"), {}),
        ("POST", staff_path(pair, f"/{survey_id}"), {"title": "Mine now", "q-0-type": "text", "q-0-text": "Mine?"}),
        ("POST", staff_path(pair, f"/{survey_id}"), {"action": "add"}),
        ("POST", staff_path(pair, f"/{survey_id}/import"), {"questions": "[]"}),
        ("GET", staff_path(pair, f"/{survey_id}/questions.json"), {}),
        ("POST", staff_path(pair, f"/{survey_id}/open"), {}),
        ("POST", staff_path(pair, f"/{survey_id}/close"), {}),
    ]


def _status(browser: LtiBrowser, method: str, path: str, data: dict[str, object], token: str) -> int:
    if method == "GET":
        return browser.http.get(f"{browser.tool_url}{path}").status_code
    return browser.http.post(f"{browser.tool_url}{path}", data={"csrf_token": token, **data}).status_code


def test_learners_are_refused_every_staff_survey_route(pair: Pair) -> None:
    survey_id = create_survey(pair)
    learner = pair.browser(pair.mentee)
    token = token_of(learner.get(f"/courses/{pair.course_id}/me/profile"))
    rows = row_counts(pair.app)
    for method, path, data in _staff_routes(pair, survey_id):
        assert _status(learner, method, path, data, token) == 403, (method, path)
    assert row_counts(pair.app) == rows


def test_another_courses_instructor_is_refused_and_cannot_reach_surveys_by_guessing_ids(
    pair: Pair, new_browser: Callable[[], LtiBrowser]
) -> None:
    survey_id = create_survey(pair)
    open_survey(pair, survey_id)
    other = new_browser()
    other.launch("lead-202", "instructor-2")
    create_program(pair.app, "lead-202")
    own_course = course_id(pair.app, "lead-202")
    token = token_of(other.get(f"/courses/{own_course}/program/surveys"))
    rows = row_counts(pair.app)
    for method, path, data in _staff_routes(pair, survey_id):
        assert _status(other, method, path, data, token) == 403, (method, path)
    # From their own course, the other program's survey id is not found.
    for method, path, data in _staff_routes(pair, survey_id)[2:]:
        guessed = path.replace(f"/courses/{pair.course_id}/", f"/courses/{own_course}/")
        assert _status(other, method, guessed, data, token) == 404, (method, guessed)
    assert row_counts(pair.app) == rows


def test_only_the_programs_participants_answer_and_guessed_ids_are_not_found(
    pair: Pair, new_browser: Callable[[], LtiBrowser]
) -> None:
    survey_id = create_survey(pair)
    open_survey(pair, survey_id)
    draft_id = create_survey(pair, "mid")
    newcomer = new_browser()  # in the course, but without a profile in the program
    newcomer.launch("ment-101", "learner-06")
    outsider = new_browser()  # of another course with its own program
    outsider.launch("lead-202", "learner-13")
    create_program(pair.app, "lead-202")
    own_course = course_id(pair.app, "lead-202")
    rows = row_counts(pair.app)

    token = token_of(newcomer.get(f"/courses/{pair.course_id}/me/profile"))
    assert newcomer.http.get(f"{newcomer.tool_url}{answer_path(pair, survey_id)}").status_code == 403
    posted = newcomer.http.post(
        f"{newcomer.tool_url}{answer_path(pair, survey_id)}", data={"csrf_token": token, **END_ANSWERS}
    )
    assert posted.status_code == 403

    # A participant: a draft, an unknown id and another course's path are not found.
    mentee = pair.browser(pair.mentee)
    token = token_of(mentee.get(f"/courses/{pair.course_id}/me/profile"))
    for guessed in (draft_id, survey_id + 100):
        path = f"{mentee.tool_url}{answer_path(pair, guessed)}"
        assert mentee.http.get(path).status_code == 404
        assert mentee.http.post(path, data={"csrf_token": token, **END_ANSWERS}).status_code == 404

    # Someone of another course: not a participant of their own course's program, and no session for this course.
    assert outsider.http.get(f"{outsider.tool_url}/courses/{own_course}/surveys/{survey_id}").status_code == 403
    assert outsider.http.get(f"{outsider.tool_url}{answer_path(pair, survey_id)}").status_code == 403
    assert row_counts(pair.app) == rows
