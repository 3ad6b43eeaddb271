"""The instructor's view of the program: its health at a glance, one pair in full, and the CSV exports."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from flask import Response, current_app, render_template, request, stream_with_context

from lti_tool.assessments.services import viewer_timezone
from lti_tool.courses.access import course_member, current_membership
from lti_tool.errors import NotFound
from lti_tool.health import services
from lti_tool.health.exports import EXPORTS
from lti_tool.programs.models import Program
from lti_tool.programs.views import with_program


def _page(template: str, program: Program, **context: Any) -> str:
    """A page of the program's staff, with times in the viewer's own profile time zone when they have one in the
    program, else in UTC."""
    membership = current_membership()
    zone_name = viewer_timezone(program, membership)
    return render_template(
        template,
        membership=membership,
        course=membership.course,
        program=program,
        zone=ZoneInfo(zone_name),
        zone_name=zone_name,
        **context,
    )


@course_member(staff=True)
@with_program
def health(course_id: int, program: Program) -> str:
    page = request.args.get("page", "1")
    if not page.isdecimal() or len(page) > 9:
        raise services.HealthError("Pages are numbered 1, 2, 3...", hint="Open the pair list from its first page.")
    report = services.program_health(program, int(page), request.args.get("q", ""))
    return _page(
        "health/health.html",
        program,
        report=report,
        pairs=report.pairs,
        goal_labels=services.GOAL_STATUS_LABELS,
        weekly=services.weekly_figure(report.weeks),
        pair_hours=services.pairs_figure(report.totals),
        goals=services.goals_figure(report.goals),
        completion=services.completion_figure(report.rounds),
        growth=services.growth_figure(report.growth),
        question_figure=services.question_figure,
        exports=EXPORTS.values(),
    )


@course_member(staff=True)
@with_program
def pair(course_id: int, program: Program, relationship_id: int) -> str:
    detail = services.pair_detail(program, relationship_id)
    return _page("health/pair.html", program, detail=detail, skill_names={s.key: s.name for s in program.skills})


@course_member(staff=True)
@with_program
def export(course_id: int, program: Program, name: str) -> Response:
    chosen = EXPORTS.get(name)
    if chosen is None:
        raise NotFound("There is no such export.", hint="The program health page lists the exports.")
    # Streamed: the header row leaves at once, then rows as the database hands them over (see exports.py).
    response = current_app.response_class(stream_with_context(chosen.stream(program.id)), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{name}-course-{course_id}.csv"'
    return response
