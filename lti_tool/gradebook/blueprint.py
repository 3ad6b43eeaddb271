"""URL rules of the gradebook: a graded round's resync."""

from flask import Blueprint

from lti_tool.gradebook import views

bp = Blueprint("gradebook", __name__, url_prefix="/courses/<int:course_id>/assessments/manage/<int:round_id>/gradebook")
bp.add_url_rule("/resync", view_func=views.resync, methods=["POST"])
