"""The content chooser of a deep linking launch, the answer posted back to the LMS, and where launches land."""

from __future__ import annotations

import logging

from flask import make_response, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from lti_tool.courses.access import course_member, current_membership
from lti_tool.courses.models import Membership
from lti_tool.courses.services import LaunchedMember
from lti_tool.courses.views import landing_url
from lti_tool.deep_linking import services
from lti_tool.deep_linking.forms import SelectionForm
from lti_tool.errors import NotAuthorised
from lti_tool.extensions import db
from lti_tool.hosts import external_url
from lti_tool.lti.adapter import DEEP_LINKING_REQUEST
from lti_tool.lti.claims import LaunchClaims
from lti_tool.lti.frame_origins import origin_of
from lti_tool.lti.roles import CourseRole
from lti_tool.programs.models import Program
from lti_tool.programs.services import program_for_course
from lti_tool.runtime import runtime
from lti_tool.security_headers import content_security_policy

Page = str | tuple[str, int] | BaseResponse
log = logging.getLogger(__name__)


def launch_destination(claims: LaunchClaims, member: LaunchedMember) -> str:
    """Where a recorded launch lands: a content selection's chooser, what a placed link names, or the course home."""
    course_id = member.course_id
    if claims.message_type == DEEP_LINKING_REQUEST:
        return url_for("deep_linking.choose", course_id=course_id, launch_id=claims.launch_id)
    placed = services.placed_target(claims.custom, course_id)
    role = CourseRole(member.course_role)
    if placed is None or placed.round is None:
        # Straight to the role's page, not through the course landing's redirect: one request less per launch.
        return landing_url(course_id, role) or url_for("courses.home", course_id=course_id)
    round_ = placed.round
    if role.is_staff:
        return url_for("assessments.round_page", course_id=course_id, round_id=round_.id)
    if role is CourseRole.LEARNER:
        me = services.assessed_self(round_.program, db.session.get_one(Membership, member.membership_id))
        if me is not None:
            return url_for("assessments.rate", course_id=course_id, round_id=round_.id, participant_id=me.id)
        return url_for("assessments.index", course_id=course_id)
    return url_for("courses.home", course_id=course_id)


def _staff() -> Membership:
    membership = current_membership()
    if not CourseRole(membership.course_role).is_staff:
        tool_name = runtime().settings.tool_name
        raise NotAuthorised(
            f"Only the course's instructors and teaching assistants can add {tool_name} content to the course.",
            hint=f"Open {tool_name} from a link your instructor placed in the course.",
        )
    return membership


def _chooser(
    selection: services.SelectionRequest, program: Program | None, available: list[services.Choice], form: SelectionForm
) -> str:
    membership = current_membership()
    return render_template(
        "deep_linking/choose.html",
        membership=membership,
        course=membership.course,
        program=program,
        selection=selection,
        choices=available,
        rounds=[choice for choice in available if choice.round_id is not None],
        form=form,
        lms=membership.course.lms_product or "the LMS",
    )


@course_member()
def choose(course_id: int, launch_id: str) -> Page:
    membership = _staff()
    rt = runtime()
    selection = services.open_request(rt.state, launch_id, membership)
    program = program_for_course(course_id)
    available = services.choices(program)
    if request.method == "GET":
        return _chooser(selection, program, available, SelectionForm(formdata=None).offer(available))
    form = SelectionForm().offer(available)
    if not form.validate_on_submit():
        return _chooser(selection, program, available, form), 422
    chosen: list[services.Choice] = []  # "Add nothing": an empty answer closes the LMS's dialog
    try:
        if not form.cancel.data:
            chosen = services.pick(available, form.items.data, accept_multiple=selection.accept_multiple)
    except services.SelectionError as error:
        form.items.errors = [error.message]
        return _chooser(selection, program, available, form), error.status
    items = services.content_items(chosen, selection, launch_url=external_url("lti.launch"))
    token = services.answer(rt.state, rt.keys, selection, items, tool_name=rt.settings.tool_name)
    db.session.commit()
    log.info("deep linking answered: course=%s items=%s", course_id, len(items))
    response = make_response(
        render_template(
            "deep_linking/return.html",
            membership=membership,
            course=membership.course,
            selection=selection,
            token=token,
            items=items,
            lms=membership.course.lms_product or "the LMS",
        )
    )
    # The answer goes to the LMS's return URL, which the tool's policy (form-action 'self') would block.
    response.headers["Content-Security-Policy"] = content_security_policy(
        form_action=origin_of(selection.return_url) or ""
    )
    return response
