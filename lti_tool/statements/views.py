"""The xAPI Profile at a stable URL, and each course's statement delivery as its staff see it."""

from __future__ import annotations

from flask import Response, current_app, json, render_template

from lti_tool.courses.access import course_member, current_membership
from lti_tool.runtime import runtime
from lti_tool.statements import outbox
from xapi.profile import load_profile
from xapi.vocabulary import Vocabulary


def profile() -> Response:
    """The xAPI Profile (JSON-LD) documenting every verb, activity type, extension and statement template."""
    document = load_profile(vocabulary=Vocabulary(runtime().settings.xapi_base_iri))
    response = current_app.response_class(json.dumps(document, indent=2), mimetype="application/ld+json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


@course_member(staff=True)
def course_records(course_id: int) -> str:
    """The course's statements and the state of the one LRS its platform's statements go to: never another
    platform's LRS, whose address and errors are that institution's business."""
    membership = current_membership()
    course = membership.course
    target = outbox.target_for(outbox.lrs_targets(runtime().settings), course.deployment.platform_id)
    return render_template(
        "statements/records.html",
        membership=membership,
        course=course,
        counts=outbox.state_counts(course_id),
        dead_letters=outbox.dead_letters(course_id),
        lrs_configured=target is not None,
        statuses=[
            s
            for s in outbox.lrs_statuses()
            if target is not None and s.endpoint == target.endpoint and (s.paused_reason or s.last_error)
        ],
    )
