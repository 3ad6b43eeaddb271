"""The instructor's resync of a graded round with the LMS gradebook (the status is on the round's page)."""

from __future__ import annotations

from flask import abort, flash, redirect, url_for
from werkzeug.wrappers import Response as BaseResponse

from lti_tool.assessments import services as assessments
from lti_tool.courses.access import course_member
from lti_tool.extensions import db, utcnow
from lti_tool.gradebook.placement import follow_placed_line_item
from lti_tool.programs.forms import ConfirmForm
from lti_tool.programs.models import Program
from lti_tool.programs.views import with_program


@course_member(staff=True)
@with_program
def resync(course_id: int, program: Program, round_id: int) -> BaseResponse:
    """Send every assessed mentee's current score again with a later timestamp: after the cause of a refusal is
    fixed, or when the LMS lost a grade."""
    round_ = assessments.round_of(program, round_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if round_.graded:
        # If the round was placed by deep linking but its scores still go to a column the tool made (as earlier
        # versions left them), they go to the placed link's column from now on; every score is sent again below.
        follow_placed_line_item(course_id, round_.id, now=utcnow(), resend=False)
        assessments.queue_round_scores(round_, again=True)
        db.session.commit()
        flash(
            f"Every score of “{round_.title}” is queued for the gradebook again. "
            "The Gradebook column below shows when the LMS has each.",
            "success",
        )
    else:
        flash(f"“{round_.title}” is not graded: it sends no scores. Make it graded in its settings first.", "error")
    return redirect(url_for("assessments.round_page", course_id=course_id, round_id=round_.id), code=303)
