"""URL rules of the skill assessment pages: a member's own, the rating form, growth, and the staff's rounds."""

from flask import Blueprint

from lti_tool.assessments import views

bp = Blueprint("assessments", __name__, url_prefix="/courses/<int:course_id>/assessments")
bp.add_url_rule("", view_func=views.index)
bp.add_url_rule("/rounds/<int:round_id>/people/<int:participant_id>", view_func=views.rate, methods=["GET", "POST"])
bp.add_url_rule("/people/<int:participant_id>", view_func=views.growth)
bp.add_url_rule("/manage", view_func=views.manage, methods=["GET", "POST"])
bp.add_url_rule("/manage/<int:round_id>", endpoint="round_page", view_func=views.round_page, methods=["GET", "POST"])
bp.add_url_rule("/manage/<int:round_id>/open", view_func=views.open_round, methods=["POST"])
bp.add_url_rule("/manage/<int:round_id>/close", view_func=views.close_round, methods=["POST"])
