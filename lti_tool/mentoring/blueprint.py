"""URL rules of the pair pages: the agreement here; sessions, goals and check-ins in their own sections."""

from flask import Blueprint

from lti_tool.mentoring import checkin_views, goal_views, session_views, views

bp = Blueprint("mentoring", __name__, url_prefix="/courses/<int:course_id>/pairs/<int:relationship_id>")
bp.add_url_rule("", view_func=views.pair, endpoint="pair")
bp.add_url_rule("/agreement", view_func=views.accept_agreement, methods=["POST"])
bp.add_url_rule("/expectations", view_func=views.update_expectations, methods=["POST"])

# --- Sessions (lti_tool/mentoring/session_views.py)
bp.add_url_rule("/sessions", view_func=session_views.log_session, methods=["POST"])
bp.add_url_rule("/sessions/<int:session_id>", view_func=session_views.show_session)
bp.add_url_rule("/sessions/<int:session_id>/edit", view_func=session_views.edit_session, methods=["GET", "POST"])
bp.add_url_rule("/sessions/<int:session_id>/history", view_func=session_views.session_history)
bp.add_url_rule("/sessions/<int:session_id>/confirm", view_func=session_views.confirm_session, methods=["POST"])
bp.add_url_rule("/sessions/<int:session_id>/dispute", view_func=session_views.dispute_session, methods=["POST"])
bp.add_url_rule("/sessions/<int:session_id>/rating", view_func=session_views.rate_session, methods=["POST"])
bp.add_url_rule("/sessions/<int:session_id>/note", view_func=session_views.save_session_note, methods=["POST"])
bp.add_url_rule(
    "/sessions/<int:session_id>/actions/<int:item_id>", view_func=session_views.mark_action_item, methods=["POST"]
)

# --- Goals (lti_tool/mentoring/goal_views.py)
bp.add_url_rule("/goals", view_func=goal_views.set_goal, methods=["POST"])
bp.add_url_rule("/goals/<int:goal_id>/progress", view_func=goal_views.update_goal, methods=["POST"])
bp.add_url_rule("/goals/<int:goal_id>/milestones", view_func=goal_views.add_milestone, methods=["POST"])
bp.add_url_rule(
    "/goals/<int:goal_id>/milestones/<int:milestone_id>", view_func=goal_views.mark_milestone, methods=["POST"]
)
bp.add_url_rule("/goals/<int:goal_id>/comments", view_func=goal_views.comment_on_goal, methods=["POST"])

# --- Check-ins (lti_tool/mentoring/checkin_views.py)
bp.add_url_rule("/checkin-requests", view_func=checkin_views.request_checkin, methods=["POST"])
