"""Where a GET of a POST-only URL leads: the page its form is on.

A form with an error is answered by its POST URL, so reloading that page, or opening it again from history, is a
GET there. Instead of "Method Not Allowed", the tool sends the browser to the page the form belongs to, built from
the URL's own arguments (course, pair, survey, ...). The redirect reads nothing and grants nothing: the form page
checks who may open it as it always does, so a person who may not see it is refused there.
"""

from __future__ import annotations

from flask import Request, current_app, url_for
from werkzeug.exceptions import HTTPException

# Each POST-only endpoint (no GET at the same URL) and the endpoint of the page its form is on.
FORM_PAGES = {
    "assessments.close_round": "assessments.round_page",
    "assessments.open_round": "assessments.round_page",
    "gradebook.resync": "assessments.round_page",
    "lti.admin_add_deployment": "lti.admin",
    "lti.admin_create_invitation": "lti.admin",
    "lti.admin_revoke_invitation": "lti.admin",
    "lti.admin_sign_in": "lti.admin",
    "lti.admin_sign_out": "lti.admin",
    "matching.answer": "matching.mentor_inbox",
    "matching.lock": "matching.review",
    "matching.publish": "matching.review",
    "matching.reassign": "matching.review",
    "matching.remove": "matching.review",
    "matching.request_rematch": "profiles.home",
    "matching.resolve": "matching.review",
    "matching.run_matching": "matching.review",
    "matching.step_in": "matching.waiting_requests",
    "matching.swap": "matching.review",
    "matching.withdraw": "profiles.home",
    "mentoring.accept_agreement": "mentoring.pair",
    "mentoring.add_milestone": "mentoring.pair",
    "mentoring.comment_on_goal": "mentoring.pair",
    "mentoring.confirm_session": "mentoring.show_session",
    "mentoring.dispute_session": "mentoring.show_session",
    "mentoring.log_session": "mentoring.pair",
    "mentoring.mark_action_item": "mentoring.show_session",
    "mentoring.mark_milestone": "mentoring.pair",
    "mentoring.rate_session": "mentoring.show_session",
    "mentoring.request_checkin": "mentoring.pair",
    "mentoring.save_session_note": "mentoring.show_session",
    "mentoring.set_goal": "mentoring.pair",
    "mentoring.update_expectations": "mentoring.pair",
    "mentoring.update_goal": "mentoring.pair",
    "programs.import_skills": "programs.skills",
    "programs.remove_skill": "programs.skills",
    "roster.sync_now": "programs.overview",
    "surveys.close_survey": "surveys.survey",
    "surveys.import": "surveys.survey",
    "surveys.open_survey": "surveys.survey",
}
# POSTed by the LMS, never by a form of the tool: a GET there has no page to go back to, and its 405 page says to
# open the tool again from the course.
NOT_FORMS = frozenset({"lti.launch"})


def form_page_url(req: Request) -> str | None:
    """The URL of the form page of the POST-only URL `req` GETs; None when it is not one."""
    if req.method not in ("GET", "HEAD"):
        return None
    adapter = current_app.create_url_adapter(req)
    if adapter is None:
        return None
    try:
        endpoint, arguments = adapter.match(method="POST")
    except HTTPException:
        return None
    page = FORM_PAGES.get(endpoint)
    if page is None:
        return None
    wanted = set().union(*(rule.arguments for rule in current_app.url_map.iter_rules(page)))
    return url_for(page, **{name: value for name, value in arguments.items() if name in wanted})
