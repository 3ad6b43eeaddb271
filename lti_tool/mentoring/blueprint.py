"""URL rules of the pair pages: the agreement here; sessions, goals and check-ins in their own sections."""

from flask import Blueprint

from lti_tool.mentoring import views

bp = Blueprint("mentoring", __name__, url_prefix="/courses/<int:course_id>/pairs/<int:relationship_id>")
bp.add_url_rule("", view_func=views.pair, endpoint="pair")
bp.add_url_rule("/agreement", view_func=views.accept_agreement, methods=["POST"])
bp.add_url_rule("/expectations", view_func=views.update_expectations, methods=["POST"])

# --- Sessions (lti_tool/mentoring/session_views.py)

# --- Goals (lti_tool/mentoring/goal_views.py)

# --- Check-ins (lti_tool/mentoring/checkin_views.py)
